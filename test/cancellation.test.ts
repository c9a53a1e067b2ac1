/**
 * Work stops when its client leaves: a whole-trace read that its client aborts reads no further (no
 * snapshot statement, tree pass or row read after the server sees the abort), unless another reader
 * still waits for the same snapshot, which then goes on for that reader. Counted in SQL statements,
 * never in time. (Mutations cut short by an abort are in limits.test.ts.)
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { bearer, useTestServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';
import { uid } from './helpers/operations.js';

const server = useTestServer();

/** Rows per statement of a snapshot's read (span-snapshot.ts). */
const SNAPSHOT_CHUNK = 5_000;
/** A snapshot of `spans` spans read whole takes this many statements (the last one finds the end). */
const snapshotStatements = (spans: number) => Math.floor(spans / SNAPSHOT_CHUNK) + 1;

const WHOLE_READ = `query($id: ID!) { trace(id: $id) { spans { id name input output } } }`;

/** A trace of `spans` small spans (a multiple of 1,000), written in batches: a tree, each span under an earlier one. */
async function writeTrace(traceId: string, spans: number) {
  const base = Date.parse('2026-11-24T09:00:00.000Z');
  for (let start = 0; start < spans; start += 1000) {
    const input = Array.from({ length: 1000 }, (_, offset) => {
      const index = start + offset;
      return {
        id: `${traceId}-${index}`,
        traceId,
        parentId: index === 0 ? null : `${traceId}-${Math.floor((index - 1) / 4)}`,
        name: `step ${index}`,
        startTime: new Date(base + index).toISOString(),
        input: { index },
      };
    });
    await server().gql(`mutation($input: [CreateSpanInput!]!) { createSpans(input: $input) { id } }`, { input });
  }
}

const isSnapshotRead = (sql: string) => /"createdSeq"/.test(sql) && /"Span"/.test(sql);
const isTraceRead = (sql: string) => /FROM [`"](main|public)[`"]\.[`"]Trace[`"]/.test(sql);
const isRowRead = (sql: string) => /FROM [`"](main|public)[`"]\.[`"]Span[`"]/.test(sql) && !isSnapshotRead(sql);

/** A whole-trace read over HTTP that the test can abort; settles with how it ended. */
function wholeRead(traceId: string) {
  const controller = new AbortController();
  const ended = fetch(server().url, {
    method: 'POST',
    signal: controller.signal,
    headers: { 'content-type': 'application/json', ...bearer() },
    body: JSON.stringify({ query: WHOLE_READ, variables: { id: traceId } }),
  }).then(
    async (response) => ({ answer: (await response.json()) as { data?: { trace: { spans: { id: string }[] } }; errors?: unknown[] } }),
    (error: Error) => ({ error: error.name }),
  );
  return { abort: () => controller.abort(), ended };
}

describe('a whole-trace read whose client leaves', () => {
  // Many snapshot statements for the aborted reads (the server sees an abort a statement or two
  // later); a few for the shared one.
  const left = { id: uid('left'), spans: 30_000 };
  const shared = { id: uid('shared'), spans: 15_000 };
  beforeAll(async () => {
    await writeTrace(left.id, left.spans);
    await writeTrace(shared.id, shared.spans);
  }, 300_000);

  it('four aborted whole-trace reads stop: the snapshot they wait for is not read to its end, and no span row is read', async () => {
    const statements: string[] = [];
    let abortAll = () => {};
    const stop = server().onQuery((sql) => {
      statements.push(sql);
      // The snapshot's read has begun: all four leave.
      if (isSnapshotRead(sql)) abortAll();
    });
    try {
      const reads = Array.from({ length: 4 }, () => wholeRead(left.id));
      abortAll = () => reads.forEach((read) => read.abort());
      expect(await Promise.all(reads.map((read) => read.ended))).toEqual(Array.from({ length: 4 }, () => ({ error: 'AbortError' })));
      // The server sees the aborts, and the snapshot's read stops (or ends, when it was not stopped).
      await eventually(async () => server().services.spanSnapshots.buildsInProgress === 0, 'the snapshot read to stop');
    } finally {
      stop();
    }
    // Read whole, the snapshot takes 7 statements; stopped, its read ends early.
    expect(statements.filter(isSnapshotRead).length).toBeLessThan(snapshotStatements(left.spans));
    expect(statements.filter(isRowRead)).toEqual([]);

    // Asked again, the trace is read whole: a stopped snapshot read is not kept half-done.
    const again = await server().gql(WHOLE_READ, { id: left.id });
    expect(again.trace.spans).toHaveLength(left.spans);
  });

  it("one reader leaving does not stop the snapshot another reader waits for: that one gets every span, from the same read", async () => {
    const statements: string[] = [];
    let leave = () => {};
    let traceReads = 0;
    const stop = server().onQuery((sql) => {
      statements.push(sql);
      if (isTraceRead(sql)) traceReads++;
      if (traceReads >= 2 && statements.some(isSnapshotRead)) leave();
    });
    try {
      const leaving = wholeRead(shared.id);
      const staying = wholeRead(shared.id);
      leave = leaving.abort;
      expect(await leaving.ended).toEqual({ error: 'AbortError' });
      const stayed = await staying.ended;
      expect('answer' in stayed && stayed.answer.errors).toBeUndefined();
      const ids = 'answer' in stayed ? stayed.answer.data!.trace.spans.map((span) => span.id) : [];
      expect(ids).toHaveLength(shared.spans);
      expect(new Set(ids).size).toBe(shared.spans);
    } finally {
      stop();
    }
    // One read of the snapshot, to its end, shared by both readers: not stopped and begun again.
    expect(statements.filter(isSnapshotRead)).toHaveLength(snapshotStatements(shared.spans));
  });
});

describe('a read whose client leaves while its rows and content are read', () => {
  it('leaves no rejection unhandled (they would end the process), stops measuring content, and the server goes on', async () => {
    const traceId = uid('content-left');
    await writeTrace(traceId, 3000);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const contentReads: string[] = [];
    let aborted = false;
    const read = wholeRead(traceId);
    const stop = server().onQuery((sql) => {
      // Content is measured (octet_length), then read: leave at the first measure, with rows under way.
      if (/octet_length/i.test(sql)) {
        if (aborted) contentReads.push(sql);
        else {
          aborted = true;
          read.abort();
        }
        return;
      }
      if (aborted && /[`"]input[`"]/.test(sql) && /[`"]Span[`"]/.test(sql)) contentReads.push(sql);
    });
    try {
      expect(await read.ended).toEqual({ error: 'AbortError' });
      // Another request, answered after the server has handled the abort in full.
      const after = await server().gql(`query($id: ID!) { trace(id: $id) { spanCount } }`, { id: traceId });
      expect(after.trace.spanCount).toBe(3000);
    } finally {
      stop();
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
    // A whole read measures and reads its content once per 250 rows handed on (24 statements for
    // 3,000 spans): it stopped well before its end (the server sees the abort a turn or two late).
    expect(contentReads.length).toBeLessThan(((3000 / 250) * 2) / 2);
  });
});
