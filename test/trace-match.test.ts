/**
 * Property test: the live explorer's in-memory filter agrees with the SQL filter of `traces`, on a
 * randomized set of traces and filters, on each database. Seeded; SPANTREE_MATCH_SEED picks another.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryMatcher } from '../src/traces/trace-match.js';
import { traceConditions } from '../src/traces/trace-search.js';
import { sql } from '../src/db/dialect.js';
import { useTestServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';
import { random } from './helpers/random.js';
import { CREATE_SPANS } from './helpers/operations.js';

/** STALE_AFTER_MS of this file's server: the SQL of `traces` and the memory matcher must agree on it. */
const STALE_AFTER_MS = 1000;
const server = useTestServer({ STALE_AFTER_MS: String(STALE_AFTER_MS) });
const staleClock = { afterMs: STALE_AFTER_MS };
const SEED = Number(process.env.SPANTREE_MATCH_SEED ?? 7);
const next = random(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
const BASE = Date.parse('2026-11-24T09:00:00.000Z');

const NAMES = ['Support chat', 'support-bot', 'SUPPORT', 'billing run', 'Café support', 'naïve search', 'report_50%', 'a\\b', 'Étude'];
const TAGS = ['prod', 'beta', 'eu', 'us'];
const METAS = [
  null,
  { tenant: 't1' },
  { tenant: 't2', plan: 'pro' },
  { tenant: 't1', flags: ['a', 'b'] },
  { tenant: 't1', nested: { level: 2, on: true } },
  { user: { id: 'u1', roles: ['admin'] }, score: 3 },
  { tenant: null },
  { flags: 'a' },
];

beforeAll(async () => {
  const spans = Array.from({ length: 80 }, (_, index) => {
    const start = BASE + Math.floor(next() * 100_000);
    const ended = next() < 0.8;
    return {
      traceId: `match-${SEED}-${index}`,
      name: pick(NAMES),
      startTime: new Date(start).toISOString(),
      endTime: ended ? new Date(start + Math.floor(next() * 5000)).toISOString() : null,
      error: next() < 0.3 ? 'failed' : null,
      cost: Math.round(next() * 100) / 100,
      inputTokens: Math.floor(next() * 1000),
      tags: TAGS.filter(() => next() < 0.4),
      meta: pick(METAS),
    };
  });
  await server().gql(CREATE_SPANS, { input: spans });
});

function randomFilter(): Record<string, unknown> {
  const filter: Record<string, unknown> = {};
  if (next() < 0.3) filter.search = pick(['support', 'SUPPORT', 'port', 'run', '50%', 'a\\b', 'x', 'café', 'É']);
  if (next() < 0.3) filter.status = [pick(['RUNNING', 'OK', 'ERROR']), ...(next() < 0.3 ? [pick(['OK', 'ERROR'])] : [])];
  const range = (max: number, integer = false) => {
    const a = next() * max;
    const b = next() * max;
    const round = (value: number) => (integer ? Math.floor(value) : Math.round(value * 100) / 100);
    const out: Record<string, number> = {};
    if (next() < 0.7) out.gte = round(Math.min(a, b));
    if (next() < 0.7) out.lte = round(Math.max(a, b));
    return out;
  };
  if (next() < 0.3) filter.durationMs = range(5000, true);
  if (next() < 0.3) filter.cost = range(1);
  if (next() < 0.3) filter.totalTokens = range(1000, true);
  if (next() < 0.3) {
    const a = BASE + Math.floor(next() * 100_000);
    // Dates, as the DateTime scalar hands them to the subscription (the query's variables carry their ISO text).
    filter.startTime = { gte: new Date(a), ...(next() < 0.5 ? { lte: new Date(a + 40_000) } : {}) };
  }
  if (next() < 0.3) filter.tags = TAGS.filter(() => next() < 0.3);
  // Some listed ids exist, some do not; an empty list matches nothing.
  if (next() < 0.2) filter.ids = Array.from({ length: Math.floor(next() * 6) }, () => `match-${SEED}-${Math.floor(next() * 90)}`);
  if (next() < 0.2) filter.stale = next() < 0.5;
  if (next() < 0.4)
    filter.meta = pick([
      { tenant: 't1' },
      { tenant: 't2', plan: 'pro' },
      { flags: ['a'] },
      { flags: [] },
      { flags: 'a' },
      { nested: {} },
      { nested: { on: true } },
      { user: { roles: ['admin'] } },
      { tenant: null },
      { score: 3 },
      {},
    ]);
  return filter;
}

describe('the in-memory filter of the live explorer', () => {
  it(`agrees with the SQL filter of traces (seed ${SEED})`, async () => {
    const rows = await server().services.db.read.trace.findMany({ where: { projectId: 'default', id: { startsWith: `match-${SEED}-` } } });
    expect(rows).toHaveLength(80);
    // Past the stale limit for every row, stale never flips between the SQL check and the memory one.
    const newest = Math.max(...rows.map((row) => row.updatedAt.getTime()));
    await eventually(async () => Date.now() > newest + STALE_AFTER_MS + 200, 'the traces to be past the stale limit');
    let decided = 0;
    let bySql = 0;
    for (let round = 0; round < 250; round++) {
      const filter = randomFilter();
      const matcher = memoryMatcher(filter as never, staleClock);
      if (!matcher) {
        bySql++;
        continue;
      }
      const { traces } = await server().gql(
        `query($filter: TraceFilter) { traces(first: 500, filter: $filter) { edges { node { id } } } }`,
        { filter },
      );
      const inSql = traces.edges.map((edge: { node: { id: string } }) => edge.node.id).filter((id: string) => id.startsWith(`match-${SEED}-`)).sort();
      const inMemory = rows.filter(matcher).map((row) => row.id).sort();
      expect(inMemory, JSON.stringify(filter)).toEqual(inSql);
      decided++;
    }
    // Filters on stale compare rows written long before the check: both sides see the running ones as stale.
    expect(rows.some((row) => row.status === 'RUNNING' && row.updatedAt.getTime() < Date.now() - STALE_AFTER_MS)).toBe(true);
    // Most filters are decided in memory; non-ASCII search terms go to SQL.
    expect(decided).toBeGreaterThan(200);
    expect(bySql).toBeGreaterThan(0);
  });

  it('leaves conditions on spans to SQL', () => {
    expect(memoryMatcher({ hasSpan: { type: ['TOOL'] } }, staleClock)).toBeNull();
    expect(memoryMatcher({ model: 'gpt' }, staleClock)).toBeNull();
    expect(memoryMatcher({ status: ['OK'] }, staleClock)).not.toBeNull();
  });

  it('agrees with SQL on stale at every clock, right at the boundary too', async () => {
    const rows = await server().services.db.read.trace.findMany({ where: { projectId: 'default', id: { startsWith: `match-${SEED}-` } } });
    const running = rows.filter((row) => row.status === 'RUNNING');
    expect(running.length).toBeGreaterThan(0);
    // Clocks where each running trace has just turned stale, is exactly at the limit (not stale yet), or is far from it.
    const instants = running.flatMap((row) => [-1, 0, 1].map((by) => row.updatedAt.getTime() + STALE_AFTER_MS + by));
    let staleSeen = 0;
    for (const instant of [...instants, Date.now() - 86_400_000]) {
      const now = new Date(instant);
      for (const stale of [true, false]) {
        const filter = { stale, ids: rows.map((row) => row.id) };
        const inSql = await server().services.db.read.$queryRaw<{ id: string }[]>(
          sql`SELECT "trace"."id" AS "id" FROM "Trace" AS "trace" WHERE ${traceConditions(server().services.db.dialect, { projectId: 'default' }, filter, { afterMs: STALE_AFTER_MS, now })}`,
        );
        const matcher = memoryMatcher(filter, { afterMs: STALE_AFTER_MS, now: () => now })!;
        const inMemory = rows.filter(matcher).map((row) => row.id).sort();
        expect(inMemory, `stale: ${stale} at ${now.toISOString()}`).toEqual(inSql.map((row) => row.id).sort());
        if (stale) staleSeen += inMemory.length;
      }
    }
    expect(staleSeen).toBeGreaterThan(0);
  });

  it('lists at most 500 ids, as SQL does', () => {
    const ids = Array.from({ length: 501 }, (_, index) => `t-${index}`);
    expect(() => memoryMatcher({ ids }, staleClock)).toThrow(/filter.ids: may list at most 500 trace ids; this one lists 501/);
    expect(() => memoryMatcher({ ids: [...ids.slice(0, 500), 't-0'] }, staleClock)).not.toThrow();
  });
});

describe('subscribers of one filter', () => {
  it('share one check per change: none in SQL for a filter memory decides, one for a filter on spans', async () => {
    const { connect, untilLive } = await import('./helpers/clients.js');
    const client = connect('ws', server().url);
    try {
      const byStatus = Array.from({ length: 20 }, () => client.subscribe(`subscription { traceUpdated(filter: { status: [ERROR] }) { id } }`));
      const bySpans = Array.from({ length: 20 }, () =>
        client.subscribe(`subscription { traceUpdated(filter: { hasSpan: { hasError: true } }) { id } }`),
      );
      let probe = 0;
      const failing = () => server().gql(CREATE_SPANS, { input: [{ name: `probe-${probe++}`, endTime: new Date(BASE + 1).toISOString(), startTime: new Date(BASE).toISOString(), error: 'x' }] });
      for (const subscription of [...byStatus, ...bySpans]) await untilLive(subscription, failing);
      const counts = [...byStatus, ...bySpans].map((subscription) => subscription.results.length);
      const checks = await server().statementsOf(async () => {
        await failing();
        for (const [index, subscription] of [...byStatus, ...bySpans].entries()) await subscription.waitFor(counts[index]! + 1);
      });
      expect(checks.filter(({ sql }) => /"trace"\."spanSeq" = /.test(sql))).toHaveLength(1);
    } finally {
      await client.dispose();
    }
  });
});
