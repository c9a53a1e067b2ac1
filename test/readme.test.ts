/** The README's GraphQL examples run as written, in order, against a freshly started server. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { useTestServer } from './helpers/server.js';

const server = useTestServer();
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const examples = [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((match) => match[1]!);
const named = (name: string) => {
  const found = examples.find((example) => new RegExp(`^(query|mutation) ${name}\\b`, 'm').test(example));
  if (!found) throw new Error(`README example ${name} is missing`);
  return found;
};

describe('README examples', () => {
  it('has the main flows', () => {
    for (const name of ['CreateRoot', 'CreateChild', 'CloseChild', 'Batch', 'CloseRoot', 'ReadTree', 'FindFailedTools', 'Judge', 'SpanDetail']) {
      expect(named(name)).toBeTruthy();
    }
  });

  it('every query and mutation runs without an error, and they say what the README says', async () => {
    const results: Record<string, any> = {};
    for (const example of examples.filter((text) => /^(query|mutation) /m.test(text))) {
      const name = /^(?:query|mutation) (\w+)/m.exec(example)![1]!;
      results[name] = await server().gql(example);
    }
    expect(results.CreateRoot.createSpan).toEqual({ id: 'span-root-1', traceId: 'trace-demo-1' });
    expect(results.CreateChild.createSpan).toEqual({ id: 'span-llm-1', traceId: 'trace-demo-1', startOffsetMs: 120 });
    expect(results.CloseChild.updateSpan).toEqual({ durationMs: 1250, totalTokens: 876 });
    const trace = results.ReadTree.trace;
    expect(trace).toMatchObject({ name: 'my-pipeline', status: 'ERROR', durationMs: 1500, spanCount: 4, totalTokens: 876, cost: 0.00093 });
    expect(readme).toContain(`\`summary\` reads like a trace explorer row: \`${trace.summary}\``);
    expect(trace.rootSpan.children[0].children.map((span: { name: string }) => span.name)).toEqual(['web_search', 'web_fetch']);
    expect(results.FindFailedTools.traces.edges.map((edge: any) => edge.node.id)).toEqual(['trace-demo-1']);
    expect(results.Judge.submitFeedback).toMatchObject({ kind: 'FEEDBACK', data: { thumbs: 'UP', comment: 'clear answer' } });
    expect(results.SpanDetail.span.events).toHaveLength(1);
    expect(results.SpanDetail.span.metrics).toEqual([{ dimension: 'relevance', value: 0.92, comment: 'judge v2' }]);
    expect(results.SpanDetail.span.json.id).toBe('span-llm-1');
  });
});
