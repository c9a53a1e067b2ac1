/**
 * The README's "send spans with the Opper SDK" example (the product page's, against /v3) runs exactly
 * as written, with tsx as the README says, against a running server; what it prints and what it
 * stored are checked.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_API_KEY, useTestServer } from './helpers/server.js';

const server = useTestServer();
const dir = mkdtempSync(join(tmpdir(), 'spantree-readme-rest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
/** The fenced block whose first line names `file`. */
const blockNamed = (text: string, file: string) => {
  const block = [...text.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((match) => match[1]!).find((body) => body.split('\n')[0]!.includes(`${file}:`));
  if (!block) throw new Error(`no block named ${file}`);
  return block;
};

describe('README: send spans with the Opper SDK (/v3)', () => {
  it('opper_spans.mts runs as written and prints the span, the trace list and the tree', async () => {
    const file = join(dir, 'opper_spans.mts');
    writeFileSync(file, blockNamed(readme, 'opper_spans.mts'));
    const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
    const { stdout } = await promisify(execFile)(tsx, [file], {
      env: { ...process.env, OPPER_BASE_URL: new URL(server().url).origin, OPPER_API_KEY: TEST_API_KEY },
      timeout: 60_000,
    });
    const lines = stdout.trim().split('\n');
    const [, spanId, traceId] = lines[0]!.match(/^Span: (\S+), Trace: (\S+)$/)!;
    expect(lines[1]).toBe(`${traceId} - my-pipeline (2 spans)`);
    expect(lines.slice(-2)).toEqual([`  my-pipeline (${spanId!.slice(0, 8)}...)`, expect.stringMatching(/^ {4}retrieve-context \(.{8}\.\.\.\)$/)]);
    const { trace } = await server().gql(`query($id: ID!) { trace(id: $id) { name spanCount status spans { name output meta endTime } } }`, { id: traceId });
    expect(trace).toMatchObject({ name: 'my-pipeline', spanCount: 2, status: 'RUNNING' });
    expect(trace.spans[0]).toMatchObject({ name: 'my-pipeline', meta: { userId: 'u-123' }, endTime: null });
    expect(trace.spans[1]).toMatchObject({ name: 'retrieve-context', output: 'Found 5 documents', endTime: expect.any(String) });
  });
});
