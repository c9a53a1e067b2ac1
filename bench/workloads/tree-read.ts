/**
 * Workload 4, tree read: a 5,000-span trace ten levels deep read whole, nested (rootSpan { children
 * { children ... } }, as a trace view renders it) and flat (trace.spans, with parentId), at
 * concurrency 1 and 8. Baselines: the floor, which selects the same columns with raw SQL, builds the
 * nested tree in JS and answers JSON over node:http; on PostgreSQL also PostGraphile v5, a peer.
 */
import type { BenchDatabase } from '../databases.js';
import { chatInput, chatOutput } from '../data.js';
import { openRaw, startFloor, type RawDatabase } from '../floor.js';
import { postJson } from '../http.js';
import { alternate, percentile, runLoad } from '../measure.js';
import { CREATE_SPANS } from '../operations.js';
import { copyTraceForPeer, startPostGraphile } from '../postgraphile.js';
import { record } from '../report.js';
import type { Sizes } from '../sizes.js';
import { withSpantree } from '../spantree.js';

const TRACE = 'tree';
const LEVELS = 10;
/** The span fields a trace view shows; every side selects exactly these. */
const FIELDS = ['id', 'name', 'type', 'startTime', 'durationMs', 'model', 'totalTokens', 'cost', 'error'] as const;

interface Node {
  id: string;
  parentId: string | null;
  depth: number;
}

/** A tree exactly LEVELS deep: a chain down to the deepest level, then random parents above it. */
function treeShape(spans: number): Node[] {
  const nodes: Node[] = [];
  for (let depth = 1; depth <= LEVELS; depth++) nodes.push({ id: `n${nodes.length}`, parentId: nodes.at(-1)?.id ?? null, depth });
  let seed = 1;
  while (nodes.length < spans) {
    seed = (seed * 48271) % 2147483647;
    const parent = nodes[seed % nodes.length]!;
    if (parent.depth < LEVELS) nodes.push({ id: `n${nodes.length}`, parentId: parent.id, depth: parent.depth + 1 });
  }
  return nodes;
}

/** `F children { F children { ... } }`, `levels` deep, with `children` named as each side names it. */
function nested(levels: number, fields: string, children: (inner: string) => string): string {
  let selection = fields;
  for (let level = 1; level < levels; level++) selection = `${fields} ${children(selection)}`;
  return selection;
}

const SPANTREE = {
  nested: `query Tree($id: ID!) { trace(id: $id) { id spanCount rootSpan { ${nested(LEVELS, FIELDS.join(' '), (inner) => `children { ${inner} }`)} } } }`,
  flat: `query Flat($id: ID!) { trace(id: $id) { id spanCount spans { ${FIELDS.join(' ')} parentId } } }`,
};

// PostGraphile's names for the same things: a row's own id is `rowId` (`id` is the global node id),
// relations come from the copy's foreign keys, lists are connections.
const PEER_FIELDS = FIELDS.map((field) => (field === 'id' ? 'rowId' : field)).join(' ');
const PEER_CHILDREN = (inner: string) => `spansByProjectIdAndParentId(orderBy: [START_TIME_ASC, ROW_ID_ASC]) { nodes { ${inner} } }`;
const PEER = {
  nested: `query Tree($projectId: String!, $id: String!) { traceByProjectIdAndRowId(projectId: $projectId, rowId: $id) { rowId spanCount spanByProjectIdAndRootSpanId { ${nested(LEVELS, PEER_FIELDS, PEER_CHILDREN)} } } }`,
  flat: `query Flat($projectId: String!, $id: String!) { traceByProjectIdAndRowId(projectId: $projectId, rowId: $id) { rowId spanCount spansByProjectIdAndTraceId(orderBy: [START_TIME_ASC, ROW_ID_ASC]) { nodes { ${PEER_FIELDS} parentId } } } }`,
};

export async function treeRead(databases: BenchDatabase, sizes: Sizes['treeRead']) {
  const db = await databases.fresh('tree');
  try {
    await withSpantree(db, async (spantree) => {
      const shape = treeShape(sizes.spans);
      const start = Date.parse('2026-11-24T09:00:00.000Z');
      const inputs = shape.map((node, k) => ({
        id: node.id,
        traceId: TRACE,
        parentId: node.parentId,
        name: `step-${k % 50}`,
        type: k === 0 ? 'AGENT' : ['GENERATION', 'TOOL', 'RETRIEVAL'][k % 3],
        startTime: new Date(start + k * 3).toISOString(),
        endTime: new Date(start + k * 3 + 50 + (k % 40)).toISOString(),
        input: chatInput(k),
        output: chatOutput(k),
        meta: { userId: 'u-1', step: k },
        ...(k % 3 === 1 ? { model: 'gpt-5-mini', inputTokens: 800, outputTokens: 60, cost: 0.0009 } : {}),
        ...(k % 97 === 0 && k > 0 ? { error: 'HTTP 503 from the search backend' } : {}),
      }));
      for (let i = 0; i < inputs.length; i += 1000) await spantree.gql(CREATE_SPANS, { input: inputs.slice(i, i + 1000) });

      // The floor reads the very rows Spantree stored, through its own raw connection.
      const raw = openRaw(spantree.databaseUrl);
      const floor = await startFloor({ nested: floorTree(raw, true), flat: floorTree(raw, false) });
      let peer: Awaited<ReturnType<typeof startPostGraphile>> | undefined;
      if (databases.provider === 'postgresql') {
        await copyTraceForPeer(spantree.databaseUrl, spantree.projectId, TRACE);
        peer = await startPostGraphile(spantree.databaseUrl);
      }
      try {
        for (const form of ['nested', 'flat'] as const) {
          const sides: [string, () => Promise<unknown>][] = [
            ['spantree', () => spantree.gql(SPANTREE[form], { id: TRACE })],
            ['floor', () => postJson(floor.url(form), { projectId: spantree.projectId, traceId: TRACE })],
          ];
          if (peer) {
            const { url } = peer;
            sides.push(['postgraphile', () => peerRead(url, PEER[form], spantree.projectId)]);
          }
          await checkSameTree(form, sides);
          const statements = await spantree.statementsDuring(sides[0]![1]);
          for (const concurrency of [1, 8]) {
            const requests = sizes.requests(concurrency);
            const perSide = await alternate(
              sizes.rounds,
              sides.map(([, read]) => async () => (await runLoad(concurrency, requests, read)).latencies),
            );
            const p50 = perSide.map((rounds) => percentile(rounds.flat(), 50));
            const p95 = perSide.map((rounds) => percentile(rounds.flat(), 95));
            const common = {
              database: databases.provider,
              workload: `tree read: ${form}, ${sizes.spans.toLocaleString('en-US')} spans, ${LEVELS} levels, concurrency ${concurrency}, p50 (${statements} SQL statements)`,
              value: p50[0]!,
              unit: 'ms',
              details: { statementsPerRequest: statements, p95: p95[0]!, requestsPerRound: requests, rounds: sizes.rounds },
            };
            record({ ...common, baseline: 'raw SQL + JSON floor', baselineValue: p50[1]!, target: { op: '<=', ratio: 2 } });
            if (peer) record({ ...common, baseline: 'PostGraphile v5', baselineValue: p50[2]!, target: { op: '<', ratio: 1 } });
          }
        }
      } finally {
        await peer?.stop();
        await floor.stop();
        await raw.close();
      }
    }, { countStatements: true });
  } finally {
    await db.drop();
  }
}

async function peerRead(url: string, query: string, projectId: string) {
  const body = (await postJson(url, { query, variables: { projectId, id: TRACE } })) as { errors?: unknown };
  if (body.errors) throw new Error(`PostGraphile answered with errors: ${JSON.stringify(body.errors).slice(0, 1000)}`);
  return body;
}

/** Before timing: every side must return the same number of spans, or the comparison is void. */
async function checkSameTree(form: string, sides: [string, () => Promise<unknown>][]) {
  const counts = await Promise.all(sides.map(async ([name, read]) => [name, countSpans(await read())] as const));
  if (new Set(counts.map(([, count]) => count)).size !== 1) throw new Error(`tree read (${form}): sides disagree on the span count: ${JSON.stringify(counts)}`);
}

/** Objects with a `type` field anywhere in the answer: one per span on every side. */
function countSpans(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + countSpans(item), 0);
  if (value === null || typeof value !== 'object') return 0;
  return ('type' in value ? 1 : 0) + Object.values(value).reduce((sum: number, item) => sum + countSpans(item), 0);
}

/**
 * The floor's read: the trace row and the span rows (the same columns) in two statements, the
 * offsets and, for `nested`, the tree put together in JS, the answer shaped as GraphQL's.
 */
function floorTree(raw: RawDatabase, nestedForm: boolean) {
  const columns = [...FIELDS, 'parentId'].map((c) => `"${c}"`).join(', ');
  const iso = (value: unknown) => new Date(value as string | Date).toISOString();
  return async ({ projectId, traceId }: { projectId: string; traceId: string }) => {
    const [trace] = await raw.all<{ id: string; spanCount: number; rootSpanId: string | null }>(
      'SELECT "id", "spanCount", "rootSpanId" FROM "Trace" WHERE "projectId" = ? AND "id" = ?',
      [projectId, traceId],
    );
    if (!trace) return { data: { trace: null } };
    const rows = await raw.all<Record<string, unknown> & { id: string; parentId: string | null }>(
      `SELECT ${columns} FROM "Span" WHERE "projectId" = ? AND "traceId" = ? ORDER BY "startTime", "id"`,
      [projectId, traceId],
    );
    type SpanRow = Record<string, unknown> & { id: string; parentId: string | null };
    const spans = rows.map((row) => ({ ...row, startTime: iso(row.startTime) }) as SpanRow);
    if (!nestedForm) return { data: { trace: { id: trace.id, spanCount: trace.spanCount, spans } } };
    const children = new Map<string | null, typeof spans>();
    for (const span of spans) {
      const siblings = children.get(span.parentId) ?? children.set(span.parentId, []).get(span.parentId)!;
      siblings.push(span);
    }
    const build = (span: (typeof spans)[number], level: number): Record<string, unknown> => {
      const { parentId: _parentId, ...fields } = span;
      return level < LEVELS ? { ...fields, children: (children.get(span.id) ?? []).map((child) => build(child, level + 1)) } : fields;
    };
    const root = spans.find((span) => span.id === trace.rootSpanId) ?? children.get(null)?.[0];
    return { data: { trace: { id: trace.id, spanCount: trace.spanCount, rootSpan: root ? build(root, 1) : null } } };
  };
}
