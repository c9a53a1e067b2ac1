/**
 * The trace explorer: every filter and sort, checked against what the seeded data says they should
 * return, and cursor pagination through a few hundred traces.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestServer } from './helpers/server.js';
import { at, CREATE_SPANS } from './helpers/operations.js';

const server = useTestServer();

interface Seed {
  id: string;
  name: string;
  start: number;
  duration: number | null;
  cost: number;
  tokens: number;
  status: 'OK' | 'ERROR' | 'RUNNING';
  tags: string[];
  meta: Record<string, unknown>;
  model: string;
  failedTool: boolean;
  guardrail: boolean;
  slowGeneration: boolean;
  spanCount: number;
}

const TRACE_COUNT = 240;
const seeds: Seed[] = [];
const NAMES = ['Checkout-Agent', 'support_bot', 'research-agent', 'Summarize 100%_done'];
const MODELS = ['gpt-5', 'claude-sonnet', 'llama-4'];

beforeAll(async () => {
  const { gql } = server();
  const batch: Record<string, unknown>[] = [];
  for (let i = 0; i < TRACE_COUNT; i++) {
    const id = `explorer-${String(i).padStart(4, '0')}`;
    const start = i * 1000;
    const running = i % 17 === 0;
    const failedTool = i % 5 === 0;
    // A running trace's root and generation are still open; half of them have a finished tool
    // step, yet none has a duration: a trace has one only once it is no longer RUNNING.
    const toolOpen = i % 34 === 0;
    const genDuration = (i * 53) % 400;
    const rootDuration = 100 + ((i * 37) % 900);
    // The trace ends with its latest span, which may be the generation rather than the root.
    const duration = running ? null : Math.max(rootDuration, 1 + genDuration);
    const seed: Seed = {
      id,
      name: `${NAMES[i % NAMES.length]} #${i}`,
      start,
      duration,
      cost: Math.round(((i * 7) % 50) * 100) / 10000,
      tokens: 10 * ((i * 13) % 97),
      status: running ? 'RUNNING' : failedTool ? 'ERROR' : 'OK',
      tags: [i % 2 === 0 ? 'even' : 'odd', ...(i % 3 === 0 ? ['triple'] : [])],
      meta: { tenant: `t${i % 4}`, plan: i % 2 ? 'pro' : 'free', nested: { region: i % 3 ? 'eu' : 'us' }, langs: i % 6 ? ['en'] : ['en', 'sv'], beta: i % 8 === 0 },
      model: MODELS[i % MODELS.length]!,
      failedTool,
      guardrail: i % 7 === 0,
      slowGeneration: !running && genDuration > 300,
      spanCount: 3,
    };
    seeds.push(seed);
    const end = running ? null : at(start + rootDuration);
    batch.push(
      { id: `${id}-root`, traceId: id, name: seed.name, startTime: at(start), endTime: end, tags: [seed.tags[0]], meta: seed.meta, input: `question ${i}` },
      {
        id: `${id}-llm`, traceId: id, parentId: `${id}-root`, name: 'generate', model: seed.model, startTime: at(start + 1),
        endTime: running ? null : at(start + 1 + genDuration), inputTokens: seed.tokens, outputTokens: 0, cost: seed.cost, tags: seed.tags.slice(1),
      },
      {
        id: `${id}-tool`, traceId: id, parentId: `${id}-llm`, name: 'web_search', type: 'TOOL', startTime: at(start + 2),
        endTime: toolOpen ? null : at(start + 3), error: failedTool ? 'timeout' : null,
      },
    );
  }
  for (let i = 0; i < batch.length; i += 300) await gql(CREATE_SPANS, { input: batch.slice(i, i + 300) });
  const guarded = seeds.filter((seed) => seed.guardrail);
  for (const seed of guarded) {
    await gql(`mutation($id: ID!) { createSpanEvent(spanId: $id, input: { kind: GUARDRAIL, source: "pii", data: { blocked: true } }) { id } }`, {
      id: `${seed.id}-llm`,
    });
  }
});

const PAGE = `query($first: Int, $after: String, $filter: TraceFilter, $orderBy: TraceOrderBy) {
  traces(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id name status durationMs cost totalTokens spanCount } }
  }
}`;

/** Every trace id the filter returns, following cursors. */
async function all(filter?: object, orderBy?: object, first = 500): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const { traces }: any = await server().gql(PAGE, { first, after, filter, orderBy });
    ids.push(...traces.edges.map((edge: { node: { id: string } }) => edge.node.id));
    if (!traces.pageInfo.hasNextPage) return ids;
    after = traces.pageInfo.endCursor;
  }
}

const newestFirst = (list: Seed[]) => [...list].sort((a, b) => b.start - a.start).map((seed) => seed.id);

describe('trace explorer filters', () => {
  it('lists recent traces newest first, with rollups', async () => {
    const { traces } = await server().gql(PAGE, { first: 3 });
    expect(traces.totalCount).toBe(TRACE_COUNT);
    expect(traces.edges.map((edge: any) => edge.node.id)).toEqual(newestFirst(seeds).slice(0, 3));
    const newest = seeds.at(-1)!;
    expect(traces.edges[0].node).toMatchObject({ name: newest.name, status: newest.status, spanCount: 3, totalTokens: newest.tokens, cost: newest.cost });
  });

  const cases: [string, object, (seed: Seed) => boolean][] = [
    ['search by name, case-insensitively', { search: 'checkout-AGENT' }, (s) => s.name.startsWith('Checkout-Agent')],
    ['search treats % and _ literally', { search: '100%_' }, (s) => s.name.includes('100%_')],
    ['status', { status: ['ERROR', 'RUNNING'] }, (s) => s.status !== 'OK'],
    ['duration range', { durationMs: { gte: 300, lte: 600 } }, (s) => s.duration !== null && s.duration >= 300 && s.duration <= 600],
    ['cost range', { cost: { gte: 0.002 } }, (s) => s.cost >= 0.002],
    ['tokens range', { totalTokens: { lte: 100 } }, (s) => s.tokens <= 100],
    ['start-time range', { startTime: { gte: at(50_000), lte: at(60_000) } }, (s) => s.start >= 50_000 && s.start <= 60_000],
    ['tags (all of them, on any span)', { tags: ['even', 'triple'] }, (s) => s.tags.includes('even') && s.tags.includes('triple')],
    ['metadata key/value', { meta: { tenant: 't1' } }, (s) => s.meta.tenant === 't1'],
    ['metadata, several keys and a nested object', { meta: { plan: 'pro', nested: { region: 'us' } } }, (s) => s.meta.plan === 'pro' && (s.meta.nested as any).region === 'us'],
    ['metadata array element and boolean', { meta: { langs: ['sv'], beta: true } }, (s) => (s.meta.langs as string[]).includes('sv') && s.meta.beta === true],
    ['model', { model: 'claude-sonnet' }, (s) => s.model === 'claude-sonnet'],
    ['contains a tool that failed', { hasSpan: { type: ['TOOL'], hasError: true } }, (s) => s.failedTool],
    ['contains a guardrail event', { hasSpan: { hasEventKind: ['GUARDRAIL'] } }, (s) => s.guardrail],
    ['contains a slow generation', { hasSpan: { type: ['GENERATION'], durationMs: { gte: 301 } } }, (s) => s.slowGeneration],
    ['everything at once', { status: ['OK'], meta: { plan: 'free' }, hasSpan: { type: ['GENERATION'], model: 'gpt-5' } }, (s) => s.status === 'OK' && s.meta.plan === 'free' && s.model === 'gpt-5'],
  ];

  it.each(cases)('%s', async (_label, filter, predicate) => {
    const expected = newestFirst(seeds.filter(predicate));
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(TRACE_COUNT);
    expect(await all(filter)).toEqual(expected);
    expect((await server().gql(PAGE, { first: 1, filter })).traces.totalCount).toBe(expected.length);
  });

  it('a filter nothing matches returns an empty page', async () => {
    const { traces } = await server().gql(PAGE, { filter: { search: 'no trace is called this' } });
    expect(traces).toMatchObject({ totalCount: 0, edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });
});

describe('trace explorer sorting and paging', () => {
  const sorts: [string, object, (a: Seed, b: Seed) => number][] = [
    ['start time, oldest first', { field: 'START_TIME', direction: 'ASC' }, (a, b) => a.start - b.start],
    ['duration, longest first, running last', { field: 'DURATION', direction: 'DESC' }, byNullsLast((s) => s.duration, -1)],
    ['duration, shortest first, running last', { field: 'DURATION', direction: 'ASC' }, byNullsLast((s) => s.duration, 1)],
    ['cost, highest first', { field: 'COST', direction: 'DESC' }, (a, b) => b.cost - a.cost || cmp(b.id, a.id)],
    ['tokens, lowest first', { field: 'TOKENS', direction: 'ASC' }, (a, b) => a.tokens - b.tokens || cmp(a.id, b.id)],
  ];

  it.each(sorts)('by %s, across pages of 37 with no duplicate and no gap', async (_label, orderBy, compare) => {
    const expected = [...seeds].sort(compare).map((seed) => seed.id);
    const paged = await all(undefined, orderBy, 37);
    expect(paged).toEqual(expected);
  });

  it('pages through a few hundred traces with cursors: no overlap, every trace once, stable totalCount', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const { traces }: any = await server().gql(PAGE, { first: 25, after });
      expect(traces.totalCount).toBe(TRACE_COUNT);
      expect(traces.edges.at(-1)?.cursor ?? null).toBe(traces.pageInfo.endCursor);
      seen.push(...traces.edges.map((edge: any) => edge.node.id));
      pages++;
      if (!traces.pageInfo.hasNextPage) break;
      after = traces.pageInfo.endCursor;
    }
    expect(pages).toBe(Math.ceil(TRACE_COUNT / 25));
    expect(new Set(seen).size).toBe(TRACE_COUNT);
    expect(seen).toEqual(newestFirst(seeds));
  });
});

describe('spans across the project', () => {
  it('filters spans and pages them newest first', async () => {
    const { gql } = server();
    const query = `query($after: String) { spans(first: 50, after: $after, filter: { type: [TOOL], hasError: true }) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { id error trace { id } } } } }`;
    const failed = seeds.filter((seed) => seed.failedTool);
    const ids: string[] = [];
    let after: string | null = null;
    for (;;) {
      const { spans }: any = await gql(query, { after });
      expect(spans.totalCount).toBe(failed.length);
      for (const edge of spans.edges) expect(edge.node.trace.id).toBe(edge.node.id.replace(/-tool$/, ''));
      ids.push(...spans.edges.map((edge: any) => edge.node.id));
      if (!spans.pageInfo.hasNextPage) break;
      after = spans.pageInfo.endCursor;
    }
    expect(ids).toEqual(newestFirst(failed).map((id) => `${id}-tool`));
  });

  it("filters a trace's own spans, in start order, for every trace of a page at once", async () => {
    const { gql, countStatements } = server();
    const query = `{ traces(first: 20) { edges { node { id spans(filter: { type: [TOOL, GENERATION] }) { id type } } } } }`;
    let data: any;
    const statements = await countStatements(async () => {
      data = await gql(query);
    });
    for (const edge of data.traces.edges) {
      expect(edge.node.spans).toEqual([
        { id: `${edge.node.id}-llm`, type: 'GENERATION' },
        { id: `${edge.node.id}-tool`, type: 'TOOL' },
      ]);
    }
    // The page, matching span ids, span rows: not one query per trace.
    expect(statements).toBeLessThanOrEqual(3);
  });
});


describe('the explorer reads a page in one statement', () => {
  const ROWS = 'edges { cursor node { id name status durationMs cost totalTokens spanCount summary tags } }';
  const idsOf = (connection: { edges: { node: { id: string } }[] }) => connection.edges.map((edge) => edge.node.id);

  it('one statement for a page, one more for totalCount when asked; a cursor seeks with a row value', async () => {
    const first = await server().gqlWithStatements(`{ traces(first: 25) { pageInfo { endCursor } ${ROWS} } }`);
    expect(idsOf(first.data.traces)).toEqual(newestFirst(seeds).slice(0, 25));
    expect(first.statements).toHaveLength(1);

    const next = await server().gqlWithStatements(`query($after: String) { traces(first: 25, after: $after) { totalCount ${ROWS} } }`, {
      after: first.data.traces.pageInfo.endCursor,
    });
    expect(idsOf(next.data.traces)).toEqual(newestFirst(seeds).slice(25, 50));
    expect(next.data.traces.totalCount).toBe(TRACE_COUNT);
    expect(next.statements).toHaveLength(2);
    const page = next.statements.find((statement) => /ORDER BY/.test(statement))!;
    // ("startTime", "id") < (cursor): what the (projectId, startTime, id) index seeks to, not an OR it filters with.
    expect(page).toMatch(/\("trace"\."startTime", "trace"\."id"\) < \(/);
    expect(page).not.toMatch(/\bOR\b/);
  });

  it('reads the columns the page selects, and relations with one more statement by the page ids', async () => {
    const lean = await server().gqlWithStatements(`{ traces(first: 5) { edges { node { id name } } } }`);
    expect(lean.statements).toHaveLength(1);
    expect(lean.statements[0]).not.toMatch(/"meta"|"tagCounts"|"composition"|"inputPreview"/);
    const wide = await server().gqlWithStatements(`{ traces(first: 5) { edges { node { id meta inputPreview rootSpan { name input } } } } }`);
    expect(wide.statements[0]).toMatch(/"meta"/);
    expect(wide.data.traces.edges.map((edge: any) => edge.node.rootSpan)).toEqual(
      newestFirst(seeds).slice(0, 5).map((id) => ({ name: seeds.find((seed) => seed.id === id)!.name, input: `question ${Number(id.slice(-4))}` })),
    );
    expect(wide.data.traces.edges[0].node.meta).toEqual(seeds.find((seed) => seed.id === newestFirst(seeds)[0])!.meta);
  });

  it('the project-wide spans list pages the same way', async () => {
    const query = `query($after: String) { spans(first: 30, after: $after, filter: { type: [TOOL] }) {
      pageInfo { endCursor } edges { node { id name } } } }`;
    const first = await server().gqlWithStatements(query);
    expect(first.statements).toHaveLength(1);
    const next = await server().gqlWithStatements(query, { after: first.data.spans.pageInfo.endCursor });
    expect(next.statements).toHaveLength(1);
    expect(next.statements[0]).toMatch(/\("span"\."startTime", "span"\."id"\) < \(/);
    expect(next.statements[0]).not.toMatch(/"output"|"input"/);
    expect([...idsOf(first.data.spans), ...idsOf(next.data.spans)]).toEqual(newestFirst(seeds).slice(0, 60).map((id) => `${id}-tool`));
  });
});

function cmp(a: string, b: string) {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders by a nullable number with nulls last; ties by id in the same direction. */
function byNullsLast(value: (seed: Seed) => number | null, direction: 1 | -1) {
  return (a: Seed, b: Seed) => {
    const [x, y] = [value(a), value(b)];
    if (x === null || y === null) return x === y ? direction * cmp(a.id, b.id) : x === null ? 1 : -1;
    return direction * (x - y) || direction * cmp(a.id, b.id);
  };
}
