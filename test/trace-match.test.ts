/**
 * Property test: the live explorer's in-memory filter agrees with the SQL filter of `traces`, on a
 * randomized set of traces and filters, on each database. Seeded; SPANTREE_MATCH_SEED picks another.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryMatcher, spanMatcher } from '../src/traces/trace-match.js';
import { traceConditions } from '../src/traces/trace-search.js';
import { spanConditions } from '../src/spans/span-filter.js';
import { allOf } from '../src/db/filters.js';
import { join, sql } from '../src/db/dialect.js';
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

const SPAN_TYPES = ['GENERATION', 'TOOL', 'FUNCTION', 'AGENT'];
const SPAN_NAMES = ['call model', 'Call Model', 'search', 'tool:fetch', 'Café', '50%_off', 'x'];
const MODELS = ['gpt-4o', 'claude', 'GPT-4o'];

function randomSpanFilter(traceIds: string[], spanIds: string[]): Record<string, unknown> {
  const filter: Record<string, unknown> = {};
  if (next() < 0.25) filter.search = pick(['call', 'CALL', 'model', 'tool:', '50%', '_', 'café', 'é', 'x']);
  if (next() < 0.2) filter.name = pick(SPAN_NAMES);
  if (next() < 0.25) filter.type = [pick(SPAN_TYPES), ...(next() < 0.3 ? [pick(SPAN_TYPES)] : [])];
  if (next() < 0.25) filter.model = pick(MODELS);
  if (next() < 0.25) filter.hasError = next() < 0.5;
  const range = (max: number) => {
    const a = Math.round(next() * max * 100) / 100;
    const b = Math.round(next() * max * 100) / 100;
    return { ...(next() < 0.7 ? { gte: Math.min(a, b) } : {}), ...(next() < 0.7 ? { lte: Math.max(a, b) } : {}) };
  };
  if (next() < 0.25) filter.score = range(1);
  if (next() < 0.25) filter.durationMs = range(5000);
  if (next() < 0.2) {
    const a = BASE + Math.floor(next() * 100_000);
    filter.startTime = { gte: new Date(a), ...(next() < 0.5 ? { lte: new Date(a + 40_000) } : {}) };
  }
  if (next() < 0.2) filter.tags = TAGS.filter(() => next() < 0.3);
  if (next() < 0.25) filter.meta = pick([{ tenant: 't1' }, { flags: ['a'] }, { nested: { on: true } }, { tenant: null }, {}]);
  if (next() < 0.15) filter.traceId = pick(traceIds);
  if (next() < 0.15) filter.parentId = pick(spanIds);
  if (next() < 0.2) filter.isRoot = next() < 0.5;
  return filter;
}

describe('the in-memory span filter of the live explorer', () => {
  it(`agrees with the SQL of hasSpan (seed ${SEED})`, async () => {
    const traceIds = [0, 1, 2].map((index) => `span-match-${SEED}-${index}`);
    const roots = traceIds.map((traceId) => ({ id: `${traceId}-root`, traceId, name: pick(SPAN_NAMES), startTime: new Date(BASE).toISOString() }));
    const children = Array.from({ length: 60 }, (_, index) => {
      const start = BASE + Math.floor(next() * 100_000);
      const root = pick(roots);
      return {
        id: `${root.traceId}-${index}`,
        traceId: root.traceId,
        parentId: root.id,
        name: pick(SPAN_NAMES),
        type: pick(SPAN_TYPES),
        ...(next() < 0.6 ? { model: pick(MODELS) } : {}),
        startTime: new Date(start).toISOString(),
        endTime: next() < 0.8 ? new Date(start + Math.floor(next() * 5000)).toISOString() : null,
        error: next() < 0.3 ? 'failed' : null,
        ...(next() < 0.6 ? { score: Math.round(next() * 100) / 100 } : {}),
        tags: TAGS.filter(() => next() < 0.4),
        meta: pick(METAS),
      };
    });
    await server().gql(CREATE_SPANS, { input: [...roots, ...children] });
    const { db } = server().services;
    const rows = await db.read.span.findMany({ where: { projectId: 'default', traceId: { in: traceIds } } });
    expect(rows).toHaveLength(63);
    const spanIds = rows.map((row) => row.id);
    let decided = 0;
    let bySql = 0;
    for (let round = 0; round < 250; round++) {
      const filter = randomSpanFilter(traceIds, spanIds);
      const matcher = spanMatcher(filter as never);
      if (!matcher) {
        bySql++;
        continue;
      }
      const inSql = await db.read.$queryRaw<{ id: string }[]>(
        sql`SELECT "span"."id" AS "id" FROM "Span" AS "span"
            WHERE "span"."projectId" = 'default' AND "span"."traceId" IN (${join(traceIds)})
              AND ${allOf(spanConditions(db.dialect, 'span', filter as never))}`,
      );
      const inMemory = rows.filter(matcher).map((row) => row.id).sort();
      expect(inMemory, JSON.stringify(filter)).toEqual(inSql.map((row) => row.id).sort());
      decided++;
    }
    expect(decided).toBeGreaterThan(200);
    expect(bySql).toBeGreaterThan(0);
  });

  it("leaves a span's events and non-ASCII search terms to SQL", () => {
    expect(spanMatcher({ hasEventKind: ['FEEDBACK'] })).toBeNull();
    expect(spanMatcher({ search: 'café' })).toBeNull();
    expect(spanMatcher({ search: 'cafe', type: ['TOOL'] })).not.toBeNull();
  });
});

describe('subscribers of one filter', () => {
  it('share one check per change: none in SQL when the change itself decides, one statement when memory cannot', async () => {
    const { connect, untilLive } = await import('./helpers/clients.js');
    // Written before anyone subscribes.
    const unseen = (await server().gql(CREATE_SPANS, { input: [{ name: 'unseen', startTime: new Date(BASE).toISOString(), error: 'x' }] })).createSpans[0];
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
      // A new trace: its failing span comes with the change, and decides the filter on spans in memory.
      const checks = await server().statementsOf(async () => {
        await failing();
        for (const [index, subscription] of [...byStatus, ...bySpans].entries()) await subscription.waitFor(counts[index]! + 1);
      });
      expect(checks.filter(({ sql }) => /"trace"\."spanSeq" = /.test(sql))).toHaveLength(0);
      // A span without an error in a trace these subscribers never saw: whether an earlier span failed
      // is SQL's to say, once for all twenty.
      const before = bySpans.map((subscription) => subscription.results.length);
      const asked = await server().statementsOf(async () => {
        await server().gql(CREATE_SPANS, { input: [{ name: 'fine', traceId: unseen.traceId, parentId: unseen.id, startTime: new Date(BASE + 1).toISOString() }] });
        for (const [index, subscription] of bySpans.entries()) {
          await subscription.until((results) => results.length > before[index]! && results.at(-1).data.traceUpdated.id === unseen.traceId);
        }
      });
      expect(asked.filter(({ sql }) => /"trace"\."spanSeq" = /.test(sql))).toHaveLength(1);
    } finally {
      await client.dispose();
    }
  });
});
