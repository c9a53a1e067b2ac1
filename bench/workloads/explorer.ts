/**
 * Workload 5, the trace explorer on 100,000 traces: the newest page with its total, filtered by
 * status and time range, by a name search, by meta, and paging (page 1, page 100 by cursor). The
 * baseline is the floor: the same query as hand-written SQL (the same rows, the same indexes: it
 * reads Spantree's own tables through its own raw connection), answered as JSON over node:http.
 */
import type { BenchDatabase } from '../databases.js';
import { chatInput, chatOutput } from '../data.js';
import { openRaw, startFloor, type RawDatabase } from '../floor.js';
import { postJson } from '../http.js';
import { alternate, percentile, runLoad } from '../measure.js';
import { CREATE_SPANS } from '../operations.js';
import { record } from '../report.js';
import type { Sizes } from '../sizes.js';
import { withSpantree, type Spantree } from '../spantree.js';
import type { BigDatabaseCase } from './growth.js';

const PAGE = 50;
const DEEP_PAGE = 100;
const AGENTS = ['checkout', 'support', 'research', 'billing', 'onboarding', 'search', 'summarize', 'translate', 'triage', 'sales', 'coding', 'review'];
const NEWEST = Date.parse('2026-11-24T09:00:00.000Z');
const DAY = 86_400_000;
/** Traces start over the 30 days before NEWEST. */
const SPREAD = 30 * DAY;

/** The explorer's filters, as GraphQL takes them; the floor reads the same object. */
interface Filter {
  status?: string[];
  startTime?: { gte: string; lte: string };
  search?: string;
  meta?: Record<string, string>;
}

/** The root span of trace i: one span per trace, as most of an explorer's rows are when listed (also the browser workload's traces). */
export function rootSpan(i: number) {
  const start = NEWEST - Math.floor(((i * 7919) % 100_000) * (SPREAD / 100_000)) - (i % 1000);
  const running = i % 50 === 0;
  return {
    id: `x${i}`,
    traceId: `trace-${i}`,
    name: `${AGENTS[i % AGENTS.length]}-agent`,
    type: 'AGENT',
    startTime: new Date(start).toISOString(),
    ...(running ? {} : { endTime: new Date(start + 200 + (i % 5000)).toISOString() }),
    input: chatInput(i),
    ...(running ? {} : { output: chatOutput(i) }),
    ...(i % 25 === 0 ? { error: 'tool failed: HTTP 503' } : {}),
    meta: { tenant: `t${i % 200}`, userId: `u-${i % 5000}` },
    tags: i % 3 === 0 ? ['production', 'beta'] : ['production'],
    model: 'gpt-5-mini',
    inputTokens: 500 + (i % 700),
    outputTokens: 40 + (i % 90),
    cost: (i % 100) / 10_000,
  };
}

const NODE = 'id name status startTime durationMs cost totalTokens spanCount tags inputPreview';
const EXPLORER = `query Explorer($first: Int!, $after: String, $filter: TraceFilter, $total: Boolean!) {
  traces(first: $first, after: $after, filter: $filter) {
    totalCount @include(if: $total)
    edges { node { ${NODE} } }
    pageInfo { endCursor hasNextPage }
  }
}`;

interface Case {
  label: string;
  filter?: Filter;
  total: boolean;
  deep?: boolean;
}

/** `thenOnThisDatabase`: the growth workload's big-database case, run once the queries are measured. */
export async function explorer(databases: BenchDatabase, sizes: Sizes['explorer'], thenOnThisDatabase?: BigDatabaseCase) {
  const db = await databases.fresh('explorer');
  try {
    await withSpantree(db, async (spantree) => {
      for (let i = 0; i < sizes.traces; i += 1000) {
        await spantree.gql(CREATE_SPANS, { input: Array.from({ length: Math.min(1000, sizes.traces - i) }, (_, j) => rootSpan(i + j)) });
      }
      const raw = openRaw(spantree.databaseUrl);
      const floor = await startFloor({ explorer: floorExplorer(raw) });
      try {
        // A client reaches page 100 by following cursors; so does the setup, once, on each side.
        const spantreeCursor = await walkCursor(spantree);
        const floorCursor = await floorDeepCursor(raw, spantree.projectId);
        const lastWeek = { gte: new Date(NEWEST - 7 * DAY).toISOString(), lte: new Date(NEWEST).toISOString() };
        const cases: Case[] = [
          { label: `default page (newest ${PAGE}) with total`, total: true },
          { label: 'status ERROR + last 7 days, with total', filter: { status: ['ERROR'], startTime: lastWeek }, total: true },
          { label: 'name search "support", with total', filter: { search: 'support' }, total: true },
          { label: 'meta filter { tenant: "t7" }, with total', filter: { meta: { tenant: 't7' } }, total: true },
          { label: 'page 1', total: false },
          { label: `page ${DEEP_PAGE} (cursor)`, total: false, deep: true },
        ];
        const p50: Record<string, number> = {};
        for (const c of cases) {
          const spantreeRead = () => spantree.gql(EXPLORER, { first: PAGE, after: c.deep ? spantreeCursor : null, filter: c.filter ?? null, total: c.total });
          const floorRead = () => postJson(floor.url('explorer'), { projectId: spantree.projectId, first: PAGE, after: c.deep ? floorCursor : null, filter: c.filter ?? {}, total: c.total });
          await checkSamePage(c.label, spantreeRead, floorRead);
          const statements = await spantree.statementsDuring(spantreeRead);
          const [subject = [], baseline = []] = await alternate(sizes.rounds, [spantreeRead, floorRead].map((read) => async () => (await runLoad(1, sizes.requests, read)).latencies));
          p50[c.label] = percentile(subject.flat(), 50);
          record({
            database: databases.provider,
            workload: `explorer, ${sizes.traces.toLocaleString('en-US')} traces: ${c.label}, p50`,
            value: p50[c.label]!,
            unit: 'ms',
            baseline: 'the same SQL, raw',
            baselineValue: percentile(baseline.flat(), 50),
            target: { op: '<=', ratio: 2 },
            details: { statementsPerRequest: statements, p95: percentile(subject.flat(), 95), requestsPerRound: sizes.requests, rounds: sizes.rounds },
          });
        }
        record({
          database: databases.provider,
          workload: `explorer, ${sizes.traces.toLocaleString('en-US')} traces: page ${DEEP_PAGE} vs page 1, p50`,
          value: p50[cases[5]!.label]!,
          unit: 'ms',
          baseline: 'page 1',
          baselineValue: p50[cases[4]!.label]!,
          target: { op: '<=', ratio: 1.2 },
        });
      } finally {
        await floor.stop();
        await raw.close();
      }
      // After the explorer's queries, so its new small traces are not among the pages measured.
      await thenOnThisDatabase?.(spantree, sizes.traces);
    }, { countStatements: true });
  } finally {
    await db.drop();
  }
}
/** The cursor after page DEEP_PAGE - 1, found by paging as a client does. */
async function walkCursor(spantree: Spantree): Promise<string> {
  let after: string | null = null;
  for (let page = 1; page < DEEP_PAGE; page++) {
    const { traces }: { traces: { pageInfo: { endCursor: string } } } = await spantree.gql(`query($after: String) { traces(first: ${PAGE}, after: $after) { pageInfo { endCursor } } }`, { after });
    after = traces.pageInfo.endCursor;
  }
  return after!;
}

/** Before timing: both sides must find the same total and the same first row, or the comparison is void. */
async function checkSamePage(label: string, spantreeRead: () => Promise<any>, floorRead: () => Promise<any>) {
  const [mine, floors] = [(await spantreeRead()).traces, ((await floorRead()) as any).data.traces];
  const summary = (page: any) => JSON.stringify([page.totalCount, page.edges.length, page.edges[0]?.node.id, page.edges.at(-1)?.node.id]);
  if (summary(mine) !== summary(floors)) throw new Error(`explorer (${label}): Spantree ${summary(mine)} and the floor ${summary(floors)} disagree`);
}

type Row = Record<string, unknown> & { id: string; startTime: unknown };

/** The floor's keyset cursor: the last row's (startTime, id), as stored. */
interface FloorCursor {
  startTime: unknown;
  id: string;
}

async function floorDeepCursor(raw: RawDatabase, projectId: string): Promise<FloorCursor> {
  const [row] = await raw.all<FloorCursor>(
    `SELECT "startTime", "id" FROM "Trace" WHERE "projectId" = ? ORDER BY "startTime" DESC, "id" DESC LIMIT 1 OFFSET ${(DEEP_PAGE - 1) * PAGE - 1}`,
    [projectId],
  );
  return { startTime: raw.provider === 'postgresql' ? (row!.startTime as Date).toISOString() : row!.startTime, id: row!.id };
}

/**
 * The explorer as hand-written SQL: the conditions on the Trace table, newest first on the
 * (projectId, startTime, id) index, one row past the page to know if there is a next one, and
 * COUNT(*) over the same conditions when the total is asked for.
 */
function floorExplorer(raw: RawDatabase) {
  const sqlite = raw.provider === 'sqlite';
  const stored = (iso: string) => (sqlite ? iso.replace('Z', '+00:00') : iso);
  const columns = '"id", "name", "status", "startTime", "durationMs", "cost", "totalTokens", "spanCount", "tags", "inputPreview"';
  return async (body: { projectId: string; first: number; after: FloorCursor | null; filter: Filter; total: boolean }) => {
    // An application's traces, as the explorer lists them unless asked for playground runs.
    const where = ['"projectId" = ?', `"origin" = 'APP'`];
    const params: unknown[] = [body.projectId];
    const { status, startTime, search, meta } = body.filter;
    if (status?.length) {
      where.push(`"status" IN (${status.map(() => '?').join(', ')})`);
      params.push(...status);
    }
    if (startTime) {
      where.push('"startTime" >= ? AND "startTime" <= ?');
      params.push(stored(startTime.gte), stored(startTime.lte));
    }
    if (search) {
      where.push(sqlite ? `"name" LIKE ? ESCAPE '\\'` : '"name" ILIKE ?');
      params.push(`%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    }
    for (const [key, value] of Object.entries(meta ?? {})) {
      where.push(sqlite ? `json_extract("meta", ?) = ?` : '"meta" @> ?::jsonb');
      params.push(...(sqlite ? [`$."${key}"`, value] : [JSON.stringify({ [key]: value })]));
    }
    const filtered = [...where];
    const pageParams = [...params];
    if (body.after) {
      filtered.push('"startTime" <= ? AND ("startTime" < ? OR "id" < ?)');
      pageParams.push(body.after.startTime, body.after.startTime, body.after.id);
    }
    const [rows, count] = await Promise.all([
      raw.all<Row>(`SELECT ${columns} FROM "Trace" WHERE ${filtered.join(' AND ')} ORDER BY "startTime" DESC, "id" DESC LIMIT ${body.first + 1}`, pageParams),
      body.total ? raw.all<{ n: number | string }>(`SELECT COUNT(*) AS "n" FROM "Trace" WHERE ${where.join(' AND ')}`, params) : undefined,
    ]);
    const page = rows.slice(0, body.first).map((row) => ({
      ...row,
      startTime: new Date(row.startTime as string).toISOString(),
      tags: typeof row.tags === 'string' ? JSON.parse(row.tags) : row.tags,
    }));
    const last = rows[body.first - 1];
    return {
      data: {
        traces: {
          ...(count ? { totalCount: Number(count[0]!.n) } : {}),
          edges: page.map((node) => ({ node })),
          pageInfo: { endCursor: last ? { startTime: last.startTime, id: last.id } : null, hasNextPage: rows.length > body.first },
        },
      },
    };
  };
}
