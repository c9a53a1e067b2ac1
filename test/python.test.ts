/**
 * Spantree from Python. The README's standard-library GraphQL example runs as written. A Python agent,
 * as the OpenTelemetry Python SDK exports it: its BatchSpanProcessor sends each step as it ends and
 * the root last, and with docs/otlp.md's pending-span recipe each span goes out once more as it
 * starts. The SDK is not on this machine's package indexes, so test/python/sdk_export.py posts the
 * SDK's own protobuf encoding with the standard library; the SDK examples and the recipe are checked
 * to compile. Between exports the trace is read: it is RUNNING until its root arrives complete.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { connect, type SubscriptionClient } from './helpers/clients.js';
import { TEST_API_KEY, useTestServer } from './helpers/server.js';
import { tracesUrl } from './helpers/otlp.js';
import { established } from './helpers/established.js';

const server = useTestServer();
const clients: SubscriptionClient[] = [];
afterAll(async () => {
  for (const client of clients) await client.dispose();
});

const script = fileURLToPath(new URL('./python/sdk_export.py', import.meta.url));
const STATE = `query($id: ID!) { trace(id: $id) { status durationMs spanCount rootSpan { id endTime } inputPreview outputPreview } }`;

/** Runs the Python exporter; after each export it reports, `onExport` reads the trace, then the script goes on. */
async function runPython(mode: 'batch' | 'pending', traceId: string, rootId: string, onExport: (sent: string) => Promise<void>) {
  const child = spawn('python3', [script, tracesUrl(server()), TEST_API_KEY, traceId, rootId, mode], { stdio: ['pipe', 'pipe', 'pipe'] });
  let errors = '';
  child.stderr.on('data', (chunk) => (errors += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let buffered = '';
  for await (const chunk of child.stdout) {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const report = JSON.parse(buffered.slice(0, newline)) as { sent: string; status: number; retention: string };
      buffered = buffered.slice(newline + 1);
      expect(report.status, report.sent).toBe(200);
      expect(report.retention).toBe('FULL');
      await onExport(report.sent);
      child.stdin.write('\n');
    }
  }
  expect(await exited, errors).toBe(0);
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const otlpPage = readFileSync(new URL('../docs/otlp.md', import.meta.url), 'utf8');
const pythonBlocks = (text: string) => [...text.matchAll(/```python\n([\s\S]*?)```/g)].map((match) => match[1]!);
const blockNamed = (text: string, file: string) => {
  const found = pythonBlocks(text).find((block) => block.startsWith(`# ${file}`));
  if (!found) throw new Error(`no python block ${file}`);
  return found;
};

describe('the Python examples of the README and docs/otlp.md', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spantree-python-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("first_trace.py (standard library only) runs as written and prints what the README says", async () => {
    const file = join(dir, 'first_trace.py');
    writeFileSync(file, blockNamed(readme, 'first_trace.py').replaceAll('http://localhost:4000/graphql', server().url));
    const { stdout } = await promisify(execFile)('python3', [file], { env: { ...process.env, SPANTREE_API_KEY: TEST_API_KEY } });
    const promised = /It prints `(\{[\s\S]*?\})`/.exec(readme)?.[1]?.replace(/\s*\n\s*/g, ' ');
    expect(promised).toBeDefined();
    expect(JSON.parse(stdout)).toEqual(JSON.parse(promised!));
  });

  it('every Python block compiles, and the OpenTelemetry example is the same in both places', async () => {
    const blocks = [...pythonBlocks(readme), ...pythonBlocks(otlpPage)];
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    for (const [index, block] of blocks.entries()) {
      const file = join(dir, `block_${index}.py`);
      writeFileSync(file, block);
      await promisify(execFile)('python3', ['-m', 'py_compile', file]);
    }
    expect(blockNamed(readme, 'otel_demo.py')).toBe(blockNamed(otlpPage, 'otel_demo.py'));
    expect(blockNamed(otlpPage, 'pending_span_processor.py')).toMatch(/def on_start\(self, span, parent_context=None\):/);
  });
});

describe('a Python agent exported by the SDK (steps as they end, the root last)', () => {
  it('is RUNNING, without a duration, until its root arrives; then OK, with its agent previews', async () => {
    const [traceId, rootId] = [hex(16), hex(8)];
    const seen: Record<string, any> = {};
    await runPython('batch', traceId, rootId, async (sent) => {
      seen[sent] = (await server().gql(STATE, { id: traceId })).trace;
    });
    expect(seen['ended steps']).toMatchObject({ status: 'RUNNING', durationMs: null, spanCount: 2, rootSpan: null });
    expect(seen['ended root']).toMatchObject({
      status: 'OK',
      durationMs: 2000,
      spanCount: 3,
      rootSpan: { id: rootId },
      inputPreview: 'A weekend in Lisbon?',
      outputPreview: 'Go to Alfama.',
    });
  });
});

describe("the same agent with docs/otlp.md's pending-span recipe", () => {
  it('shows each step live as it starts and as it ends, and stays RUNNING until the root ends', async () => {
    const [traceId, rootId] = [hex(16), hex(8)];
    const client = connect('ws', server().url);
    clients.push(client);
    // Opened, and started on the server, before anything is sent: the trace is waited for.
    const live = await established(
      server(),
      () => client.subscribe(`subscription($id: ID!) { traceSpans(traceId: $id) { op span { id endTime } } }`, { id: traceId }),
      traceId,
      /spanSeq/,
    );
    let expected = 0;
    const statuses: string[] = [];
    await runPython('pending', traceId, rootId, async (sent) => {
      expected += sent === 'ended steps' ? 2 : 1;
      await live.waitFor(expected, 60_000);
      statuses.push((await server().gql(STATE, { id: traceId })).trace.status);
    });
    const changes = live.results.map((result) => [result.data.traceSpans.op, result.data.traceSpans.span.id, result.data.traceSpans.span.endTime === null]);
    const [chat, tool] = [traceId.slice(0, 16), traceId.slice(16)];
    expect(changes).toEqual([
      ['CREATED', rootId, true],
      ['CREATED', chat, true],
      ['CREATED', tool, true],
      ['UPDATED', chat, false],
      ['UPDATED', tool, false],
      ['UPDATED', rootId, false],
    ]);
    expect(statuses).toEqual(['RUNNING', 'RUNNING', 'RUNNING', 'RUNNING', 'OK']);
  });
});
