/**
 * A frontend fetches a whole span tree in one request. The number of SQL statements that costs must
 * depend on the depth asked for, never on how many spans the trace has.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestServer } from './helpers/server.js';
import { databaseKind } from './helpers/databases.js';
import { at, CREATE_SPANS, uid } from './helpers/operations.js';
import { ROWS_PER_READ, WHOLE_READ_SPANS } from '../src/spans/span-pages.js';

const server = useTestServer();
const DEPTH = 10;

interface Node {
  id: string;
  parentId: string | null;
  depth: number;
}

/** A tree exactly DEPTH levels deep: a backbone chain, then the rest hung at random levels. */
function buildTree(traceId: string, size: number): Node[] {
  const nodes: Node[] = [];
  for (let depth = 1; depth <= DEPTH; depth++) {
    nodes.push({ id: `${traceId}-${nodes.length}`, parentId: nodes.at(-1)?.id ?? null, depth });
  }
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  while (nodes.length < size) {
    const parent = nodes[Math.floor(random() * nodes.length)]!;
    if (parent.depth >= DEPTH) continue;
    nodes.push({ id: `${traceId}-${nodes.length}`, parentId: parent.id, depth: parent.depth + 1 });
  }
  return nodes;
}

async function store(traceId: string, nodes: Node[]) {
  const input = nodes.map((node, index) => ({
    id: node.id,
    traceId,
    parentId: node.parentId,
    name: `step-${index}`,
    type: index % 3 === 0 ? 'GENERATION' : 'TOOL',
    startTime: at(index),
    endTime: at(index + 1 + node.depth),
    inputTokens: 2,
    cost: 0.001,
  }));
  for (let i = 0; i < input.length; i += 1000) await server().gql(CREATE_SPANS, { input: input.slice(i, i + 1000) });
  // Events and metrics on a few spans, so the tree query reads those tables too.
  for (const node of nodes.slice(0, 5)) {
    await server().gql(`mutation($id: ID!) {
      a: createSpanEvent(spanId: $id, input: { kind: OBSERVE, source: "judge", data: { score: 0.9 } }) { id }
      b: addSpanMetric(spanId: $id, input: { dimension: "quality", value: 1 }) { id }
    }`, { id: node.id });
  }
}

const SPAN = 'id name type durationMs startOffsetMs totalTokens events { kind } metrics { value }';
const treeQuery = (depth: number): string => {
  let selection = SPAN;
  for (let level = 1; level < depth; level++) selection = `${SPAN} children { ${selection} }`;
  return `query($id: ID!) { trace(id: $id) { id name spanCount totalTokens durationMs summary rootSpan { ${selection} } } }`;
};

/** A tree query `depth` levels deep that selects `fields` at every level, from `root` (`trace(id) { rootSpan` or `span(id)`). */
const treeOf = (depth: number, fields: string, root: 'trace' | 'span'): string => {
  let selection = fields;
  for (let level = 1; level < depth; level++) selection = `${fields} children { ${selection} }`;
  return root === 'trace'
    ? `query($id: ID!) { trace(id: $id) { id rootSpan { ${selection} } } }`
    : `query($id: ID!) { span(id: $id) { ${selection} } }`;
};

/** Every span of a tree response, flat. */
function flatten(span: { children?: unknown[] }): any[] {
  return [span, ...(span.children ?? []).flatMap((child) => flatten(child as { children?: unknown[] }))];
}


function countNodes(span: { children?: unknown[] }): number {
  return 1 + (span.children ?? []).reduce((sum: number, child) => sum + countNodes(child as { children?: unknown[] }), 0);
}

function shape(span: { id: string; children?: unknown[] }): Record<string, unknown> {
  return { [span.id]: (span.children ?? []).map((child) => shape(child as { id: string; children?: unknown[] })) };
}

function expectedShape(nodes: Node[], id: string): Record<string, unknown> {
  return { [id]: nodes.filter((node) => node.parentId === id).map((child) => expectedShape(nodes, child.id)) };
}

const small = { traceId: uid('small'), nodes: [] as Node[] };
const large = { traceId: uid('large'), nodes: [] as Node[] };

beforeAll(async () => {
  small.nodes = buildTree(small.traceId, 40);
  large.nodes = buildTree(large.traceId, 3000);
  await store(small.traceId, small.nodes);
  await store(large.traceId, large.nodes);
});

describe('reading a whole span tree', () => {
  it('returns a trace of 3,000 spans, 10 levels deep, whole and in shape, in one request', async () => {
    const { trace } = await server().gql(treeQuery(DEPTH), { id: large.traceId });
    expect(trace.spanCount).toBe(3000);
    expect(trace.totalTokens).toBe(6000);
    expect(countNodes(trace.rootSpan)).toBe(3000);
    expect(shape(trace.rootSpan)).toEqual(expectedShape(large.nodes, large.nodes[0]!.id));
    // Children come in start order, and offsets are relative to the trace start.
    const firstLevel = trace.rootSpan.children.map((child: { startOffsetMs: number }) => child.startOffsetMs);
    expect(firstLevel).toEqual([...firstLevel].sort((a, b) => a - b));
    expect(trace.rootSpan.startOffsetMs).toBe(0);
  });

  it('costs the same bounded number of SQL statements for 40 spans and for 3,000', async () => {
    const { gql, countStatements } = server();
    const forSmall = await countStatements(() => gql(treeQuery(DEPTH), { id: small.traceId }));
    const forLarge = await countStatements(() => gql(treeQuery(DEPTH), { id: large.traceId }));
    expect(forLarge).toBe(forSmall);
    // The trace, then per level at most: the spans, their events and metrics (startOffsetMs takes
    // the trace's start from the trace row).
    expect(forLarge).toBeLessThanOrEqual(1 + 3 * DEPTH);
  });

  it('on PostgreSQL a shallow selection (the span detail, an explorer row) is one statement, with relation joins', async () => {
    const { gql, countStatements } = server();
    const detail = `query($id: ID!) { span(id: $id) { id name startOffsetMs parent { name } events { kind } metrics { value } children { id } } }`;
    const explorerRow = `{ traces(first: 20) { edges { node { id name input output rootSpan { name children { name } } } } } }`;
    const statements = [
      await countStatements(() => gql(detail, { id: large.nodes[1]!.id })),
      // the page of ids, then the rows with their root spans
      await countStatements(() => gql(explorerRow)),
    ];
    expect(statements).toEqual(databaseKind === 'postgresql' ? [1, 2] : [expect.any(Number), expect.any(Number)]);
    expect(statements[0]).toBeLessThanOrEqual(6);
  });

  it("the flat list of a large trace's spans is read in pieces, in start order", async () => {
    const { gql, countStatements } = server();
    let data: any;
    const statements = await countStatements(async () => {
      data = await gql(`query($id: ID!) { trace(id: $id) { spans { id parentId } } }`, { id: large.traceId });
    });
    expect(data.trace.spans).toHaveLength(3000);
    expect(data.trace.spans.map((span: { id: string }) => span.id)).toEqual(large.nodes.map((node) => node.id));
    // From WHOLE_READ_SPANS on, the list is read from a snapshot (its skeleton, then the rows a piece
    // of ROWS_PER_READ at a time, other requests served between pieces): test/span-connection.test.ts.
    expect(3000).toBeGreaterThanOrEqual(WHOLE_READ_SPANS);
    expect(statements).toBeLessThanOrEqual(2 + Math.ceil(3000 / ROWS_PER_READ));
  });

  it(`startOffsetMs at every level of a ${DEPTH}-level tree reads the trace once: at most depth + 2 statements`, async () => {
    const offsets = 'id startOffsetMs';
    for (const root of ['trace', 'span'] as const) {
      const id = root === 'trace' ? large.traceId : large.nodes[0]!.id;
      const { data, statements } = await server().gqlWithStatements(treeOf(DEPTH, offsets, root), { id });
      const spans = flatten(root === 'trace' ? data.trace.rootSpan : data.span);
      expect(spans).toHaveLength(3000);
      // Each span started `index` ms after the root (see store), which started the trace.
      const expected = new Map(large.nodes.map((node, index) => [node.id, index]));
      expect(spans.filter((span) => span.startOffsetMs !== expected.get(span.id))).toEqual([]);
      expect(statements.length, `from ${root}`).toBeLessThanOrEqual(DEPTH + 2);
    }
  });

  it('a tree read loads the columns the query selects: no input, output or other unselected column', async () => {
    // Prisma quotes names with backticks on SQLite, double quotes on PostgreSQL.
    const unselected = /[`"](input|output|instructions|observations|scorerContext|meta|ingestHash|tags|error|model)[`"]/;
    const { statements } = await server().gqlWithStatements(treeOf(DEPTH, 'id name type durationMs startOffsetMs totalTokens', 'trace'), { id: large.traceId });
    expect(statements.filter((statement) => /[`"]Span[`"]/.test(statement))).not.toEqual([]);
    expect(statements.filter((statement) => unselected.test(statement))).toEqual([]);
    // The same check sees a column that is asked for.
    const withOutput = await server().gqlWithStatements(treeOf(3, 'id output', 'trace'), { id: large.traceId });
    expect(withOutput.statements.filter((statement) => /[`"]output[`"]/.test(statement))).not.toEqual([]);
    expect(withOutput.statements.filter((statement) => /[`"]input[`"]/.test(statement))).toEqual([]);
  });

  it("the flat list of a trace's spans reads rows, not one JSON value of them all", async () => {
    const { data, statements } = await server().gqlWithStatements(`query($id: ID!) { trace(id: $id) { name spans { id name startOffsetMs } } }`, {
      id: large.traceId,
    });
    expect(data.trace.spans).toHaveLength(3000);
    expect(data.trace.spans.map((span: { startOffsetMs: number }) => span.startOffsetMs)).toEqual(large.nodes.map((_, index) => index));
    expect(statements.length).toBeLessThanOrEqual(3 + Math.ceil(3000 / ROWS_PER_READ));
    expect(statements.filter((statement) => /JSONB?_AGG|JSON_GROUP_ARRAY/i.test(statement))).toEqual([]);
  });
});
