/**
 * Property test: the live explorer's in-memory filter agrees with the SQL filter of `traces`, on a
 * randomized set of traces and filters, on each database. Seeded; SPANTREE_MATCH_SEED picks another.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { database } from '../src/db/database.js';
import { memoryMatcher } from '../src/traces/trace-match.js';
import { useTestServer } from './helpers/server.js';
import { random } from './helpers/random.js';
import { CREATE_SPANS } from './helpers/operations.js';

const server = useTestServer();
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
    const rows = await database().read.trace.findMany({ where: { projectId: 'default', id: { startsWith: `match-${SEED}-` } } });
    expect(rows).toHaveLength(80);
    let decided = 0;
    let bySql = 0;
    for (let round = 0; round < 250; round++) {
      const filter = randomFilter();
      const matcher = memoryMatcher(filter as never);
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
    // Most filters are decided in memory; non-ASCII search terms go to SQL.
    expect(decided).toBeGreaterThan(200);
    expect(bySql).toBeGreaterThan(0);
  });

  it('leaves conditions on spans to SQL', () => {
    expect(memoryMatcher({ hasSpan: { type: ['TOOL'] } })).toBeNull();
    expect(memoryMatcher({ model: 'gpt' })).toBeNull();
    expect(memoryMatcher({ status: ['OK'] })).not.toBeNull();
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
