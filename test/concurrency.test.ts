/**
 * Eight writers adding spans to one trace at once leave its rollups exact. On PostgreSQL they write
 * through two server processes sharing the database; on SQLite through one server, concurrently, and
 * no "database is locked" (or any other error) reaches them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseKind, type TestDatabase } from './helpers/databases.js';
import { post, spawnServer, type ServerProcess } from './helpers/process.js';
import { at } from './helpers/operations.js';

const WRITERS = 8;
const SPANS_PER_WRITER = 30;

let db: TestDatabase;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  const count = databaseKind === 'postgresql' ? 2 : 1;
  for (let i = 0; i < count; i++) servers.push(await spawnServer({ DATABASE_URL: db.url }));
}, 300_000);

afterAll(async () => {
  for (const server of servers) await server.kill('SIGTERM');
  await db.drop();
});

async function gql(url: string, query: string, variables?: Record<string, unknown>) {
  const reply = await post(url, query, variables);
  if (reply.errors) throw new Error(JSON.stringify(reply.errors));
  return reply.data;
}

interface Written {
  start: number;
  end: number | null;
  tokens: number;
  cost: number;
  error: boolean;
}

describe(`concurrent writers on ${databaseKind}`, () => {
  it(`${WRITERS} writers, ${SPANS_PER_WRITER} spans each, creates and updates, into one trace: rollups exact`, async () => {
    const traceId = `contended-${Date.now()}`;
    await gql(servers[0]!.url, `mutation { createSpan(input: { id: "${traceId}-root", traceId: "${traceId}", name: "root", startTime: "${at(1000)}" }) { id } }`);
    const written: Written[] = [{ start: 1000, end: null, tokens: 0, cost: 0, error: false }];

    const writer = async (w: number) => {
      const url = servers[w % servers.length]!.url;
      for (let i = 0; i < SPANS_PER_WRITER; i++) {
        const start = 1000 + ((w * 7919 + i * 104729) % 50_000) - 500;
        const tokens = (w + 1) * (i + 1);
        const cost = Math.round(tokens * 37) / 1_000_000;
        const id = `${traceId}-w${w}-${i}`;
        // Some spans are created open and closed by a later update: both paths race.
        const closeLater = i % 3 === 0;
        const end = start + 10 + i;
        await gql(url, `mutation($input: CreateSpanInput!) { createSpan(input: $input) { id } }`, {
          input: {
            id, traceId, parentId: `${traceId}-root`, name: `w${w}`, type: i % 2 ? 'TOOL' : 'GENERATION',
            startTime: at(start), endTime: closeLater ? null : at(end), inputTokens: tokens, cost,
          },
        });
        const failed = i % 10 === 7;
        if (closeLater || failed) {
          await gql(url, `mutation($id: ID!, $input: UpdateSpanInput!) { updateSpan(id: $id, input: $input) { id } }`, {
            id,
            input: { endTime: at(end), ...(failed ? { error: 'boom' } : {}) },
          });
        }
        written.push({ start, end, tokens, cost, error: failed });
      }
    };
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));

    const expected = {
      spanCount: 1 + WRITERS * SPANS_PER_WRITER,
      totalTokens: written.reduce((sum, span) => sum + span.tokens, 0),
      startTime: at(Math.min(...written.map((span) => span.start))),
      endTime: at(Math.max(...written.map((span) => span.end ?? 0))),
      status: 'RUNNING', // the root is still open
    };
    const cost = written.reduce((sum, span) => sum + span.cost, 0);
    for (const server of servers) {
      const { trace } = await gql(server.url, `{ trace(id: "${traceId}") { spanCount totalTokens cost startTime endTime status
        composition { type count } spans { id } } }`);
      expect(trace).toMatchObject(expected);
      expect(trace.cost).toBeCloseTo(cost, 9);
      expect(trace.spans).toHaveLength(expected.spanCount);
      expect(trace.composition).toEqual([
        { type: 'GENERATION', count: (WRITERS * SPANS_PER_WRITER) / 2 },
        { type: 'FUNCTION', count: 1 },
        { type: 'TOOL', count: (WRITERS * SPANS_PER_WRITER) / 2 },
      ]);
    }

    // Closing the root settles the status: ERROR, because some spans failed.
    await gql(servers.at(-1)!.url, `mutation { updateSpan(id: "${traceId}-root", input: { endTime: "${at(100_000)}" }) { id } }`);
    const { trace } = await gql(servers[0]!.url, `{ trace(id: "${traceId}") { status endTime } }`);
    expect(trace).toEqual({ status: 'ERROR', endTime: at(100_000) });
    for (const server of servers) expect(server.output()).not.toMatch(/database is locked|SQLITE_BUSY|deadlock/i);
  }, 300_000);

  it('the same retried create, sent through every server at once, stores one span', async () => {
    const input = { id: `race-${Date.now()}`, traceId: `race-trace-${Date.now()}`, name: 'retry-storm', startTime: at(0) };
    const replies = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        gql(servers[i % servers.length]!.url, `mutation($input: CreateSpanInput!) { createSpan(input: $input) { id traceId } }`, { input }),
      ),
    );
    for (const reply of replies) expect(reply.createSpan).toEqual({ id: input.id, traceId: input.traceId });
    const { trace } = await gql(servers[0]!.url, `{ trace(id: "${input.traceId}") { spanCount } }`);
    expect(trace.spanCount).toBe(1);
  }, 120_000);

  it('a parent and its early child written at the same moment never end up in different traces', async () => {
    for (let round = 0; round < 25; round++) {
      const [parentId, childId, traceId] = [`p-${round}-${Date.now()}`, `c-${round}-${Date.now()}`, `t-${round}-${Date.now()}`];
      const [child, parent] = await Promise.all([
        post(servers[0]!.url, `mutation { createSpan(input: { id: "${childId}", parentId: "${parentId}", traceId: "${traceId}", name: "child" }) { traceId } }`),
        post(servers.at(-1)!.url, `mutation { createSpan(input: { id: "${parentId}", name: "parent" }) { traceId } }`),
      ]);
      // Whichever lands first, the other either joins its trace or is refused: never a split tree.
      expect(parent.errors).toBeUndefined();
      if (child.errors) expect(child.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      else expect(parent.data.createSpan.traceId).toBe(child.data.createSpan.traceId);
    }
  }, 120_000);

  if (databaseKind === 'postgresql') {
    it('a write through one instance is read through the other at once', async () => {
      const [a, b] = servers as [ServerProcess, ServerProcess];
      for (let i = 0; i < 20; i++) {
        const [writer, reader] = i % 2 ? [a, b] : [b, a];
        const id = `cross-${Date.now()}-${i}`;
        const { createSpan } = await gql(writer.url, `mutation { createSpan(input: { id: "${id}", name: "seen-elsewhere", cost: ${i} }) { traceId } }`);
        const { span, trace } = await gql(reader.url, `{ span(id: "${id}") { id name } trace(id: "${createSpan.traceId}") { cost spanCount } }`);
        expect(span).toEqual({ id, name: 'seen-elsewhere' });
        expect(trace).toEqual({ cost: i, spanCount: 1 });
      }
    }, 120_000);
  }
});
