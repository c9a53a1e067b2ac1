/**
 * The OpenTelemetry examples of docs/otlp.md run as written: its Node exporter example (which the
 * README's quick start repeats) is saved as a file and run with `node` against a fresh server (only the
 * URL and key placeholders replaced), and its PendingSpanProcessor is used as a module, with a live
 * subscription watching.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from './helpers/clients.js';
import { TEST_API_KEY, useTestServer } from './helpers/server.js';

const server = useTestServer();

const URL_PLACEHOLDER = 'http://localhost:4000/v1/traces';
const KEY_PLACEHOLDER = 'st_your_ingest_key';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const page = readFileSync(new URL('../docs/otlp.md', import.meta.url), 'utf8');
/**
 * The section's text, up to the next heading of the same level or higher, whatever its level.
 * Headings are looked for outside code blocks: a `# comment` line of Python or shell is not one.
 */
const section = (() => {
  const heading = /^(#+) Sending OpenTelemetry spans\n/m.exec(page);
  if (!heading) throw new Error('docs/otlp.md section "Sending OpenTelemetry spans" is missing');
  const start = heading.index + heading[0].length;
  const prose = page.slice(start).replace(/```[\s\S]*?```/g, (block) => block.replace(/[^\n]/g, ' '));
  const next = new RegExp(`^#{1,${heading[1]!.length}} `, 'm').exec(prose);
  return page.slice(heading.index, next ? start + next.index : undefined);
})();
const jsBlocks = [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((match) => match[1]!);

// Inside the repository, so that node resolves the OpenTelemetry packages from its node_modules.
const dir = join(fileURLToPath(new URL('.', import.meta.url)), '.tmp', `readme-otlp-${process.pid}`);
beforeAll(() => mkdirSync(dir, { recursive: true }));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  // test/.tmp itself too, unless another run is using it.
  if (readdirSync(join(dir, '..')).length === 0) rmSync(join(dir, '..'), { recursive: true, force: true });
});

/** The page's code with the placeholders pointing at the test server. */
function forTestServer(code: string): string {
  return code.replaceAll(URL_PLACEHOLDER, server().url.replace(/\/graphql$/, '/v1/traces')).replaceAll(KEY_PLACEHOLDER, TEST_API_KEY);
}

describe('docs/otlp.md: sending OpenTelemetry spans', () => {
  it("the README's quick start shows the same variables and Node example", () => {
    const blocks = (text: string) => [...text.matchAll(/```(?:sh|js)\n((?:export OTEL_|\/\/ otel-demo\.mjs)[\s\S]*?)```/g)].map((match) => match[1]!);
    expect(blocks(section)).toHaveLength(2);
    expect(blocks(readme)).toEqual(blocks(section));
  });

  it('the Node example runs as written and its GenAI chat span is stored as it says', async () => {
    const example = jsBlocks[0];
    expect(example).toBeDefined();
    expect(example).toContain(URL_PLACEHOLDER);
    expect(example).toContain(KEY_PLACEHOLDER);
    const file = join(dir, 'otel-demo.mjs');
    writeFileSync(file, forTestServer(example!));
    // Asynchronously: the server the script exports to runs in this process.
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [file], { cwd: dir, timeout: 60_000 });
    expect(stderr).toBe('');
    expect(stdout).toBe('');

    const { traces } = await server().gql(`{
      traces(filter: { search: "chat gpt-4o-mini" }) {
        totalCount
        edges { node { id name status spanCount totalTokens cost
          spans { id parentId name type model inputTokens outputTokens totalTokens cost costSource input output meta } } }
      }
    }`);
    expect(traces.totalCount).toBe(1);
    const trace = traces.edges[0].node;
    expect(trace).toMatchObject({ name: 'chat gpt-4o-mini', status: 'OK', spanCount: 1, totalTokens: 49 });
    expect(trace.id).toMatch(/^[0-9a-f]{32}$/);
    const [span] = trace.spans;
    expect(span).toMatchObject({
      parentId: null,
      name: 'chat gpt-4o-mini',
      type: 'GENERATION',
      model: 'gpt-4o-mini',
      inputTokens: 42,
      outputTokens: 7,
      totalTokens: 49,
      costSource: 'COMPUTED',
      input: [{ role: 'user', parts: [{ type: 'text', content: 'Hi!' }] }],
      output: [{ role: 'assistant', parts: [{ type: 'text', content: 'Hello!' }] }],
    });
    expect(span.id).toMatch(/^[0-9a-f]{16}$/);
    // gpt-4o-mini at $0.15 / $0.60 per million tokens.
    expect(span.cost).toBe(0.0000105);
    expect(trace.cost).toBe(span.cost);
    expect(span.meta).toMatchObject({ 'gen_ai.operation.name': 'chat', otel: { kind: 'INTERNAL', scope: { name: 'otel-demo' } } });
    expect(span.meta['gen_ai.input.messages']).toBeUndefined();
  });

  it('the example sends the same with url and headers left out and the OTEL_EXPORTER_OTLP_* variables set as shown', async () => {
    const variables = /```sh\n(export OTEL_EXPORTER_OTLP_TRACES_ENDPOINT[\s\S]*?)```/.exec(section)?.[1];
    expect(variables).toBeDefined();
    const env = Object.fromEntries(
      [...forTestServer(variables!).matchAll(/^export (\w+)="?([^"\n]*)"?$/gm)].map((match) => [match[1]!, match[2]!]),
    );
    expect(Object.keys(env)).toEqual(['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_HEADERS']);
    const withoutOptions = jsBlocks[0]!.replace(/^\s*url: .*\n/m, '').replace(/^\s*headers: .*\n/m, '');
    expect(withoutOptions).not.toContain(URL_PLACEHOLDER);
    const file = join(dir, 'otel-demo-env.mjs');
    writeFileSync(file, withoutOptions);
    const count = async () => (await server().gql(`{ traces(filter: { search: "chat gpt-4o-mini" }) { totalCount } }`)).traces.totalCount;
    const before = await count();
    await promisify(execFile)(process.execPath, [file], { cwd: dir, timeout: 60_000, env: { ...process.env, ...env } });
    expect(await count()).toBe(before + 1);
  });

  it('the PendingSpanProcessor shows spans while they run: CREATED when they start, UPDATED when they end', async () => {
    const processor = jsBlocks[1];
    expect(processor).toMatch(/export class PendingSpanProcessor/);
    writeFileSync(join(dir, 'pending-span-processor.mjs'), processor!);
    // Set up as docs/otlp.md says, beside the batch processor on the same exporter; steps when told.
    writeFileSync(
      join(dir, 'pending-demo.mjs'),
      forTestServer(`
        import { createInterface } from 'node:readline';
        import { context, trace } from '@opentelemetry/api';
        import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
        import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
        import { PendingSpanProcessor } from './pending-span-processor.mjs';

        const exporter = new OTLPTraceExporter({ url: '${URL_PLACEHOLDER}', headers: { Authorization: 'Bearer ${KEY_PLACEHOLDER}' } });
        const provider = new BasicTracerProvider({ spanProcessors: [new PendingSpanProcessor(exporter), new BatchSpanProcessor(exporter)] });
        const tracer = provider.getTracer('pending-demo');
        const commands = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
        const root = tracer.startSpan('invoke_agent planner', { attributes: { 'gen_ai.operation.name': 'invoke_agent' } });
        await provider.forceFlush();
        console.log('started', root.spanContext().traceId, root.spanContext().spanId);
        await commands.next();
        const step = tracer.startSpan('chat gpt-4o', { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o' } }, trace.setSpan(context.active(), root));
        await provider.forceFlush();
        console.log('step', step.spanContext().spanId);
        await commands.next();
        step.end();
        root.end();
        await provider.shutdown();
        process.exit(0);
      `),
    );
    const child = spawn(process.execPath, [join(dir, 'pending-demo.mjs')], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const printed = async (pattern: RegExp) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const match = pattern.exec(output);
        if (match) return match;
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`pending-demo.mjs printed:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const client = connect('ws', server().url);
    try {
      const [, traceId, rootId] = await printed(/^started ([0-9a-f]{32}) ([0-9a-f]{16})\n/m);
      const running = await server().gql(`query($id: ID!) { trace(id: $id) { status rootSpan { id endTime type } } }`, { id: traceId });
      expect(running.trace).toEqual({ status: 'RUNNING', rootSpan: { id: rootId, endTime: null, type: 'AGENT' } });

      const subscription = client.subscribe(`subscription($id: ID!) { traceSpans(traceId: $id, replay: true) { op replayed span { id endTime type } } }`, { id: traceId });
      await subscription.waitFor(1); // the replayed root: live from here on
      child.stdin.write('step\n');
      const [, stepId] = await printed(/^step ([0-9a-f]{16})\n/m);
      await subscription.waitFor(2);
      child.stdin.write('end\n');
      expect(await exited).toBe(0);
      const changes = (await subscription.waitFor(4)).map((result) => result.data.traceSpans);
      expect(changes.map((change: any) => [change.op, change.replayed, change.span.id, change.span.endTime === null])).toEqual([
        ['CREATED', true, rootId, true],
        ['CREATED', false, stepId, true],
        ['UPDATED', false, stepId, false],
        ['UPDATED', false, rootId, false],
      ]);
      expect(changes[1].span.type).toBe('GENERATION');
      await subscription.stop();
      const ended = await server().gql(`query($id: ID!) { trace(id: $id) { status spanCount } }`, { id: traceId });
      expect(ended.trace).toEqual({ status: 'OK', spanCount: 2 });
    } finally {
      child.kill();
      await client.dispose();
    }
  });
});
