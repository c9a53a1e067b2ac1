/**
 * The GraphQL examples of the README and of the docs pages run as written, in order, against a freshly
 * started server: the README's first span, then the main flows (docs/api.md), which the pages after it
 * continue.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TEST_API_KEY, useTestServer } from './helpers/server.js';

// As a new user finds it: metadata only until the main flows' own KeepContent example.
const server = useTestServer({}, { retention: 'METADATA_ONLY' });
const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const readme = read('README.md');
const api = read('docs/api.md');
const liveViews = read('docs/live-views.md');
const costs = read('docs/costs-and-sessions.md');
/** The pages whose examples make one run, in the order they run. */
const pages = ['README.md', 'docs/api.md', 'docs/live-views.md', 'docs/costs-and-sessions.md', 'docs/conversation.md', 'docs/keys-and-projects.md', 'docs/retention.md'];
const examples = pages.flatMap((page) => [...read(page).matchAll(/```graphql\n([\s\S]*?)```/g)].map((match) => match[1]!));
const named = (name: string) => {
  const found = examples.find((example) => new RegExp(`^(query|mutation) ${name}\\b`, 'm').test(example));
  if (!found) throw new Error(`Example ${name} is missing from ${pages.join(', ')}`);
  return found;
};

describe('README and docs examples', () => {
  it('has the main flows, in the order they run', () => {
    const operations = examples.map((example) => /^(?:query|mutation|subscription) (\w+)/m.exec(example)?.[1]);
    expect(operations).toEqual([
      'FirstSpan', 'KeepContent', 'CreateRoot', 'CreateChild', 'CloseChild', 'Batch', 'CloseRoot', 'ReadTree', 'ReadWholeTree', 'ReadPages', 'FindFailedTools',
      'Judge', 'SpanDetail', 'DeleteStep', 'TailTrace', 'PricedCall', 'SetPrice', 'Prices', 'ChatTurns', 'Sessions', 'Conversation', 'CreateIngestKey', 'Keys',
      'NewProject', 'Retention',
    ]);
    for (const name of ['FirstSpan', 'KeepContent', 'CreateRoot', 'CreateChild', 'CloseChild', 'Batch', 'CloseRoot', 'ReadTree', 'ReadPages', 'FindFailedTools', 'Judge', 'SpanDetail', 'DeleteStep', 'CreateIngestKey', 'Keys', 'NewProject', 'Retention', 'PricedCall', 'SetPrice', 'Prices', 'ChatTurns', 'Sessions', 'Conversation']) {
      expect(named(name)).toBeTruthy();
    }
  });

  it('every query and mutation runs without an error, and they say what the pages say', async () => {
    const results: Record<string, any> = {};
    for (const example of examples.filter((text) => /^(query|mutation) /m.test(text))) {
      const name = /^(?:query|mutation) (\w+)/m.exec(example)![1]!;
      results[name] = await server().gql(example);
    }
    // The README's first span: a generation priced from the table.
    expect(results.FirstSpan.createSpan).toEqual({ traceId: 'my-first-trace', type: 'GENERATION', durationMs: 850, cost: 0.0000036, costSource: 'COMPUTED' });
    expect(readme).toContain(`so it is a \`GENERATION\` of \`${results.FirstSpan.createSpan.durationMs}\` ms costing \`${results.FirstSpan.createSpan.cost}\` USD, \`COMPUTED\``);
    expect(await server().gql(named('FirstSpan'))).toEqual(results.FirstSpan);
    expect(results.KeepContent.setRetentionRule).toEqual({ mode: 'FULL', source: 'project' });
    expect(results.CreateRoot.createSpan).toEqual({ id: 'span-root-1', traceId: 'trace-demo-1' });
    expect(results.CreateChild.createSpan).toEqual({ id: 'span-llm-1', traceId: 'trace-demo-1', startOffsetMs: 120 });
    expect(results.CloseChild.updateSpan).toEqual({ durationMs: 1250, totalTokens: 876 });
    const trace = results.ReadTree.trace;
    expect(trace).toMatchObject({ name: 'my-pipeline', status: 'ERROR', durationMs: 1500, spanCount: 4, totalTokens: 876, cost: 0.00093 });
    expect(api).toContain(`\`summary\` reads like a trace explorer row: \`${trace.summary}\``);
    expect(trace.rootSpan.children[0].children.map((span: { name: string }) => span.name)).toEqual(['web_search', 'web_fetch']);
    expect(results.ReadWholeTree.trace.spans.map((span: { name: string; depth: number }) => [span.name, span.depth])).toEqual([
      ['my-pipeline', 0],
      [trace.rootSpan.children[0].name, 1],
      ['web_search', 2],
      ['web_fetch', 2],
    ]);
    expect(results.ReadWholeTree.trace.spans[0].subtree).toMatchObject({ spanCount: 4, totalTokens: 876, cost: 0.00093 });
    // The first page of the same tree: its first two spans, in the same order, with the rest to come.
    const firstPage = results.ReadPages.trace.spanConnection;
    expect(firstPage.edges.map((edge: any) => [edge.node.name, edge.node.depth])).toEqual(
      results.ReadWholeTree.trace.spans.slice(0, 2).map((span: { name: string; depth: number }) => [span.name, span.depth]),
    );
    expect(firstPage).toMatchObject({ totalCount: 4, pageInfo: { hasNextPage: true } });
    expect(firstPage.edges[0].node.descendantCount).toBe(3);
    expect(results.FindFailedTools.traces.edges.map((edge: any) => edge.node.id)).toEqual(['trace-demo-1']);
    expect(results.Judge.submitFeedback).toMatchObject({ kind: 'FEEDBACK', data: { thumbs: 'UP', comment: 'clear answer' } });
    expect(results.SpanDetail.span.events).toHaveLength(1);
    expect(results.SpanDetail.span.metrics).toEqual([{ dimension: 'relevance', value: 0.92, comment: 'judge v2' }]);
    expect(results.SpanDetail.span.json.id).toBe('span-llm-1');
    expect(results.SpanDetail.span.input).toEqual([{ role: 'user', content: 'Why is the sky blue?' }]);
    expect(results.DeleteStep).toEqual({ createSpan: { id: 'span-retry-1' }, deleteSpan: true });
    expect((await server().gql(`{ span(id: "span-retry-1") { id } }`)).span).toBeNull();
    const created = results.CreateIngestKey.createApiKey;
    expect(created.key).toMatch(/^st_[A-Za-z0-9_-]{32}$/);
    expect(created.apiKey).toMatchObject({ scopes: ['INGEST'], project: { name: 'default' } });
    expect(created.key.startsWith(created.apiKey.prefix)).toBe(true);
    expect(results.Keys.viewer).toEqual({ project: { name: 'default' }, scopes: ['INGEST', 'READ', 'ADMIN', 'PLAYGROUND'] });
    expect(results.Keys.apiKeys.map((key: { name: string }) => key.name)).toEqual(['checkout-service', 'SPANTREE_INIT_API_KEY']);
    expect(results.NewProject.createProject).toMatchObject({ name: 'staging', effectiveRetention: { mode: 'METADATA_ONLY', source: 'default' } });
    expect(results.Retention.viewer.project).toEqual({
      retention: { mode: 'FULL', contentTtlDays: null, traceTtlDays: null },
      effectiveRetention: { mode: 'FULL', source: 'project' },
      organization: { retention: null },
    });
    expect(results.Retention.span).toEqual({ retained: true, input: [{ role: 'user', content: 'Why is the sky blue?' }] });
    // Costs: the table's price (cached input at its own price), then the project's own.
    expect(results.PricedCall.createSpan).toEqual({ type: 'GENERATION', cost: 0.0001272, costSource: 'COMPUTED' });
    expect(costs).toContain(`It is a \`GENERATION\` costing \`${results.PricedCall.createSpan.cost}\` USD, \`COMPUTED\``);
    expect(results.SetPrice.setModelPrice).toEqual({ model: 'acme-support-8b', inputPerMillion: 0.2, outputPerMillion: 0.8, cachedInputPerMillion: null, source: 'PROJECT' });
    expect(results.Prices.bedrock).toEqual({ model: 'claude-sonnet-4-5', inputPerMillion: 3, outputPerMillion: 15, cachedInputPerMillion: 0.3, source: 'TABLE' });
    expect(results.Prices.modelPrices).toEqual([{ model: 'acme-support-8b', inputPerMillion: 0.2, outputPerMillion: 0.8, source: 'PROJECT' }]);
    // Sessions: two traces, their rollups summed exactly.
    expect(results.ChatTurns.createSpans.map((span: any) => [span.cost, span.costSource])).toEqual([[0.000276, 'COMPUTED'], [0.000344, 'COMPUTED']]);
    expect(results.Sessions.sessions.totalCount).toBe(1);
    const session = results.Sessions.sessions.edges[0].node;
    expect(session).toMatchObject({
      id: 'chat-42', traceCount: 2, firstTime: '2026-11-24T10:00:00.000Z', lastTime: '2026-11-24T10:03:11.800Z', totalTokens: 2500, cost: 0.00062, errorCount: 0,
    });
    expect(session.traces.edges.map((edge: any) => edge.node.id)).toEqual(['trace-chat-2', 'trace-chat-1']);
    // Conversation replay: the history span-llm-2 repeats appears once.
    const conversation = results.Conversation.trace.conversation;
    expect(conversation).toMatchObject({ retained: true, reason: null });
    expect(conversation.messages.map((message: any) => [message.role, message.content, message.spanId])).toEqual([
      ['USER', 'Why is the sky blue?', 'span-llm-1'],
      ['ASSISTANT', 'Rayleigh scattering.', 'span-llm-1'],
      ['USER', 'In one sentence, please.', 'span-llm-2'],
      ['ASSISTANT', 'Air scatters blue sunlight far more than red, so blue reaches us from every direction.', 'span-llm-2'],
    ]);
    expect(conversation.messages[0].model).toBe('gpt-5-mini');
    expect(results.Conversation.span.conversation.messages).toEqual([
      { role: 'USER', content: 'Why is the sky blue?' },
      { role: 'ASSISTANT', content: 'Rayleigh scattering.' },
    ]);
  });

  it('the curl example answers with the key, and without it is refused', async () => {
    const command = /```sh\n(export SPANTREE_API_KEY[\s\S]*?)```/.exec(readme)?.[1];
    expect(command).toBeDefined();
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'spantree-readme-'));
    try {
      mkdirSync(join(dir, 'data'));
      writeFileSync(join(dir, 'data', 'admin-key'), `${TEST_API_KEY}\n`);
      // Asynchronously: the server answering curl runs in this process.
      const run = async (script: string) =>
        (await promisify(execFile)('bash', ['-c', script.replaceAll('http://localhost:4000/graphql', server().url)], { cwd: dir })).stdout;
      // FULL: the examples above have run KeepContent.
      expect(JSON.parse(await run(command!))).toEqual({
        data: { viewer: { project: { name: 'default', effectiveRetention: { mode: 'FULL' } }, scopes: ['INGEST', 'READ', 'ADMIN', 'PLAYGROUND'] } },
      });
      const anonymous = JSON.parse(await run(command!.replace(/ *-H "Authorization: Bearer \$SPANTREE_API_KEY" \\\n/, '')));
      expect(anonymous.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('live view examples (docs/live-views.md)', () => {
  it('the GraphiQL subscription is valid and streams the demo trace', async () => {
    const subscription = examples.find((example) => /^subscription TailTrace/m.test(example));
    expect(subscription).toBeDefined();
    const { connect } = await import('./helpers/clients.js');
    const client = connect('ws', server().url);
    try {
      const tail = client.subscribe(subscription!);
      await tail.waitFor(1);
      expect(tail.results[0].errors).toBeUndefined();
      expect(tail.results[0].data.traceSpans).toMatchObject({ op: 'CREATED', replayed: true });
      await tail.stop();
    } finally {
      await client.dispose();
    }
  });

  it('tail.mjs runs as written and prints the changes of a trace as they happen', async () => {
    const code = /```js\n(\/\/ tail\.mjs[\s\S]*?)```/.exec(liveViews)?.[1];
    expect(code).toBeDefined();
    const { writeFileSync, rmSync } = await import('node:fs');
    const { spawn } = await import('node:child_process');
    const file = new URL(`../tail-${process.pid}.mjs`, import.meta.url);
    writeFileSync(file, code!);
    const child = spawn(process.execPath, [file.pathname, 'trace-demo-1'], {
      env: { ...process.env, SPANTREE_WS_URL: server().url.replace(/^http/, 'ws'), SPANTREE_API_KEY: TEST_API_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    try {
      const waitFor = async (pattern: RegExp) => {
        const deadline = Date.now() + 15_000;
        while (!pattern.test(output)) {
          if (Date.now() > deadline || child.exitCode !== null) throw new Error(`tail.mjs printed:\n${output}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      await waitFor(/CREATED my-pipeline 1500/);
      await server().gql(`mutation { createSpan(input: { parentId: "span-root-1", name: "late-step", type: TOOL }) { id } }`);
      await waitFor(/#\d+ CREATED late-step running/);
    } finally {
      child.kill();
      rmSync(file, { force: true });
    }
  });
});
