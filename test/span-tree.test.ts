/**
 * A trace's span tree in the API: depth, ancestors, child and descendant counts, subtree rollups,
 * and `Trace.spans(order: TREE)`, the depth-first flat list a client draws a whole tree of any depth
 * from. Facts are checked against a tree worked out here; the cost of reading them for every span
 * of a trace is pinned: the same few statements for 20 spans as for 2,000.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestServer } from './helpers/server.js';
import { connect, untilLive } from './helpers/clients.js';
import { at, CREATE_SPAN, CREATE_SPANS, UPDATE_SPAN, uid } from './helpers/operations.js';
import { spanTreeOf } from '../src/spans/span-tree.js';
import { ROWS_PER_READ, ROWS_PER_TURN, WHOLE_READ_SPANS } from '../src/spans/span-pages.js';

const server = useTestServer();

const TREE_FIELDS = `id parentId name depth childCount descendantCount subtree { spanCount totalTokens cost errorCount } ancestors { id name }`;
const TREE_QUERY = `query($id: ID!) { trace(id: $id) { spanCount totalTokens cost errorCount spans(order: TREE) { ${TREE_FIELDS} } } }`;

/**
 * A small tree with what a real one has: siblings written out of start order, two siblings that
 * started at the same instant (ordered by id), a span whose parent never arrived (a root), a second
 * root that started later, failures and tokens at several levels.
 *
 *   root (t0)                 ── b (t5) ── c (t6, error, 5 tokens)
 *                             └─ a (t10) ── d-1 (t12, 7 tokens, 0.2) / d-2 (t12, error)
 *   orphan (t3, parent "never-arrived", 11 tokens)
 *   late-root (t20) ── e (t21)
 */
function smallTree(traceId: string) {
  const id = (name: string) => `${traceId}-${name}`;
  return [
    { id: id('a'), traceId, parentId: id('root'), name: 'a', startTime: at(10), endTime: at(30), cost: 0.1 },
    { id: id('d-2'), traceId, parentId: id('a'), name: 'd-2', startTime: at(12), endTime: at(13), error: 'boom' },
    { id: id('root'), traceId, name: 'root', startTime: at(0), endTime: at(40), inputTokens: 1, outputTokens: 1 },
    { id: id('c'), traceId, parentId: id('b'), name: 'c', startTime: at(6), endTime: at(7), error: 'failed', inputTokens: 5, outputTokens: 0 },
    { id: id('d-1'), traceId, parentId: id('a'), name: 'd-1', startTime: at(12), endTime: at(14), inputTokens: 3, outputTokens: 4, cost: 0.2 },
    { id: id('b'), traceId, parentId: id('root'), name: 'b', startTime: at(5), endTime: at(8) },
    { id: id('orphan'), traceId, parentId: 'never-arrived', name: 'orphan', startTime: at(3), endTime: at(4), inputTokens: 11, outputTokens: 0 },
    { id: id('late-root'), traceId, name: 'late-root', startTime: at(20), endTime: at(22), cost: 0.3 },
    { id: id('e'), traceId, parentId: id('late-root'), name: 'e', startTime: at(21), endTime: at(22) },
  ];
}

describe('span tree fields', () => {
  const traceId = uid('small-tree');
  beforeAll(async () => {
    await server().gql(CREATE_SPANS, { input: smallTree(traceId) });
  });

  it('Trace.spans(order: TREE) is depth-first, siblings by start then id, with each span where the tree puts it', async () => {
    const { trace } = await server().gql(TREE_QUERY, { id: traceId });
    const rows = trace.spans.map((span: any) => [span.name, span.depth, span.childCount, span.descendantCount, span.ancestors.map((a: any) => a.name)]);
    expect(rows).toEqual([
      ['root', 0, 2, 5, []],
      ['b', 1, 1, 1, ['root']],
      ['c', 2, 0, 0, ['root', 'b']],
      ['a', 1, 2, 2, ['root']],
      ['d-1', 2, 0, 0, ['root', 'a']],
      ['d-2', 2, 0, 0, ['root', 'a']],
      ['orphan', 0, 0, 0, []],
      ['late-root', 0, 1, 1, []],
      ['e', 1, 0, 0, ['late-root']],
    ]);
    const subtree = Object.fromEntries(trace.spans.map((span: any) => [span.name, span.subtree]));
    expect(subtree.root).toEqual({ spanCount: 6, totalTokens: 2 + 5 + 7, cost: 0.3, errorCount: 2 });
    expect(subtree.a).toEqual({ spanCount: 3, totalTokens: 7, cost: 0.3, errorCount: 1 });
    expect(subtree.b).toEqual({ spanCount: 2, totalTokens: 5, cost: 0, errorCount: 1 });
    expect(subtree['d-2']).toEqual({ spanCount: 1, totalTokens: 0, cost: 0, errorCount: 1 });
    expect(subtree.orphan).toEqual({ spanCount: 1, totalTokens: 11, cost: 0, errorCount: 0 });
    expect(subtree['late-root']).toEqual({ spanCount: 2, totalTokens: 0, cost: 0.3, errorCount: 0 });
    // The roots' subtrees together are the whole trace.
    expect(trace).toMatchObject({ spanCount: 9, totalTokens: 25, cost: 0.6, errorCount: 2 });
  });

  it('START stays the default: start time, then id', async () => {
    const { trace } = await server().gql(`query($id: ID!) { trace(id: $id) { plain: spans { name } start: spans(order: START) { name } } }`, { id: traceId });
    const byStart = ['root', 'orphan', 'b', 'c', 'a', 'd-1', 'd-2', 'late-root', 'e'];
    expect(trace.plain.map((span: any) => span.name)).toEqual(byStart);
    expect(trace.start.map((span: any) => span.name)).toEqual(byStart);
  });

  it('a filtered TREE list keeps tree order; depth and ancestors still count the whole tree', async () => {
    const { trace } = await server().gql(
      `query($id: ID!) { trace(id: $id) { spans(order: TREE, filter: { hasError: true }) { name depth ancestors { name } } } }`,
      { id: traceId },
    );
    expect(trace.spans).toEqual([
      { name: 'c', depth: 2, ancestors: [{ name: 'root' }, { name: 'b' }] },
      { name: 'd-2', depth: 2, ancestors: [{ name: 'root' }, { name: 'a' }] },
    ]);
  });

  it('on one span(id), and on spans a mutation returns', async () => {
    const { span } = await server().gql(`query($id: ID!) { span(id: $id) { ${TREE_FIELDS} } }`, { id: `${traceId}-a` });
    expect(span).toMatchObject({
      depth: 1,
      childCount: 2,
      descendantCount: 2,
      subtree: { spanCount: 3, totalTokens: 7, cost: 0.3, errorCount: 1 },
      ancestors: [{ id: `${traceId}-root`, name: 'root' }],
    });
    const created = await server().gql(
      `mutation($input: CreateSpanInput!) { createSpan(input: $input) { depth ancestors { name } subtree { spanCount } } }`,
      { input: { traceId, parentId: `${traceId}-c`, name: 'f', startTime: at(6) } },
    );
    expect(created.createSpan).toEqual({ depth: 3, ancestors: [{ name: 'root' }, { name: 'b' }, { name: 'c' }], subtree: { spanCount: 1 } });
    // The parent that never arrived arrives: the orphan moves under it.
    const { createSpan: parent } = await server().gql(
      `mutation($input: CreateSpanInput!) { createSpan(input: $input) { depth childCount descendantCount } }`,
      { input: { id: 'never-arrived', traceId, parentId: `${traceId}-late-root`, name: 'late-parent', startTime: at(2) } },
    );
    expect(parent).toEqual({ depth: 1, childCount: 1, descendantCount: 1 });
    const { span: orphan } = await server().gql(`query($id: ID!) { span(id: $id) { depth ancestors { name } } }`, { id: `${traceId}-orphan` });
    expect(orphan).toEqual({ depth: 2, ancestors: [{ name: 'late-root' }, { name: 'late-parent' }] });
  });

  it('in a live view, each change sees the tree as it is then', async () => {
    const live = uid('live-tree');
    const root = (await server().gql(CREATE_SPAN, { input: { traceId: live, name: 'root', startTime: at(0) } })).createSpan;
    const client = connect('ws', server().url);
    try {
      const subscription = client.subscribe(
        `subscription($id: ID!) { traceSpans(traceId: $id) { span { name depth ancestors { name } subtree { spanCount } } } }`,
        { id: live },
      );
      let probe = 0;
      await untilLive(subscription, () => server().gql(CREATE_SPAN, { input: { traceId: live, parentId: root.id, name: `probe-${probe++}`, startTime: at(1) } }));
      const child = (await server().gql(CREATE_SPAN, { input: { traceId: live, parentId: root.id, name: 'child', startTime: at(2) } })).createSpan;
      await server().gql(CREATE_SPAN, { input: { traceId: live, parentId: child.id, name: 'grandchild', startTime: at(3) } });
      await server().gql(UPDATE_SPAN, { id: root.id, input: { endTime: at(10) } });
      const results = await subscription.until((all) => all.some((result) => result.data?.traceSpans.span.name === 'root'));
      const spans = results.map((result) => result.data.traceSpans.span);
      expect(spans.find((span) => span.name === 'child')).toEqual({ name: 'child', depth: 1, ancestors: [{ name: 'root' }], subtree: { spanCount: 1 } });
      expect(spans.find((span) => span.name === 'grandchild')).toEqual({
        name: 'grandchild',
        depth: 2,
        ancestors: [{ name: 'root' }, { name: 'child' }],
        subtree: { spanCount: 1 },
      });
      expect(spans.find((span) => span.name === 'root')).toEqual({ name: 'root', depth: 0, ancestors: [], subtree: { spanCount: 3 + probe } });
      await subscription.stop();
    } finally {
      await client.dispose();
    }
  });
});

describe('subscribers of one trace selecting different ancestor fields', () => {
  it('each gets the fields it selected (they share the change, not the plan)', async () => {
    const traceId = uid('two-plans');
    const root = (await server().gql(CREATE_SPAN, { input: { traceId, name: 'root', startTime: at(0), model: 'gpt-4o' } })).createSpan;
    const client = connect('ws', server().url);
    try {
      const byName = client.subscribe(`subscription($id: ID!) { traceSpans(traceId: $id, after: 0) { span { name ancestors { name } } } }`, { id: traceId });
      const byStart = client.subscribe(`subscription($id: ID!) { traceSpans(traceId: $id, after: 0) { span { name ancestors { startTime model } } } }`, { id: traceId });
      // Both resume after seq 0: the root's creation reaches both, whenever each started.
      await byName.waitFor(1);
      await byStart.waitFor(1);
      await server().gql(CREATE_SPAN, { input: { traceId, parentId: root.id, name: 'child', startTime: at(5) } });
      const [named, started] = await Promise.all([
        byName.until((all) => all.some((result) => result.data?.traceSpans.span.name === 'child' || result.errors)),
        byStart.until((all) => all.some((result) => result.data?.traceSpans.span.name === 'child' || result.errors)),
      ]);
      expect(named.at(-1)).toEqual({ data: { traceSpans: { span: { name: 'child', ancestors: [{ name: 'root' }] } } } });
      expect(started.at(-1)).toEqual({ data: { traceSpans: { span: { name: 'child', ancestors: [{ startTime: at(0), model: 'gpt-4o' }] } } } });
    } finally {
      await client.dispose();
    }
  });
});

/** A random tree of `size` spans, up to 12 levels deep, with tokens, costs and failures. */
function randomTree(traceId: string, size: number) {
  let seed = size;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const spans: { id: string; traceId: string; parentId: string | null; name: string; startTime: string; endTime: string; inputTokens: number; outputTokens: number; cost: number; error: string | null }[] = [];
  const depthOf = new Map<string, number>();
  for (let index = 0; index < size; index++) {
    let parent: (typeof spans)[number] | undefined;
    for (let attempt = 0; index > 0 && attempt < 5; attempt++) {
      const candidate = spans[Math.floor(random() * spans.length)]!;
      if (depthOf.get(candidate.id)! < 12) {
        parent = candidate;
        break;
      }
    }
    const id = `${traceId}-${String(index).padStart(5, '0')}`;
    depthOf.set(id, parent ? depthOf.get(parent.id)! + 1 : 0);
    spans.push({
      id,
      traceId,
      parentId: parent?.id ?? null,
      name: `step-${index}`,
      // Many spans share a start: ties are broken by id.
      startTime: at(Math.floor(index / 3)),
      endTime: at(Math.floor(index / 3) + 5),
      inputTokens: index % 7,
      outputTokens: 1,
      cost: (index % 5) / 1000,
      error: index % 13 === 0 ? 'failed' : null,
    });
  }
  return spans;
}

async function store(spans: ReturnType<typeof randomTree>) {
  for (let i = 0; i < spans.length; i += 1000) await server().gql(CREATE_SPANS, { input: spans.slice(i, i + 1000) });
}

/** Checks a TREE list against itself: pre-order, depths, ancestors, counts and rollups all agree. */
function expectConsistentTree(spans: any[], trace: { spanCount: number; totalTokens: number; cost: number; errorCount: number }) {
  expect(spans).toHaveLength(trace.spanCount);
  const byId = new Map(spans.map((span) => [span.id, span]));
  const position = new Map(spans.map((span, index) => [span.id, index]));
  let roots = { spanCount: 0, totalTokens: 0, costUnits: 0, errorCount: 0 };
  for (const [index, span] of spans.entries()) {
    const parent = span.parentId === null ? undefined : byId.get(span.parentId);
    expect(span.depth).toBe(parent ? parent.depth + 1 : 0);
    expect(span.ancestors.map((a: any) => a.id)).toEqual(parent ? [...parent.ancestors.map((a: any) => a.id), parent.id] : []);
    // Pre-order: the subtree follows the span at once, and nothing after it is deeper.
    if (parent) expect(position.get(parent.id)).toBeLessThan(index);
    const subtree = spans.slice(index + 1, index + 1 + span.descendantCount);
    expect(subtree.every((below) => below.depth > span.depth)).toBe(true);
    const after = spans[index + 1 + span.descendantCount];
    if (after) expect(after.depth).toBeLessThanOrEqual(span.depth);
    expect(span.childCount).toBe(subtree.filter((below) => below.depth === span.depth + 1).length);
    expect(span.subtree.spanCount).toBe(span.descendantCount + 1);
    if (span.depth === 0) {
      roots = {
        spanCount: roots.spanCount + span.subtree.spanCount,
        totalTokens: roots.totalTokens + span.subtree.totalTokens,
        costUnits: roots.costUnits + Math.round(span.subtree.cost * 1e8),
        errorCount: roots.errorCount + span.subtree.errorCount,
      };
    }
  }
  expect(roots).toEqual({ spanCount: trace.spanCount, totalTokens: trace.totalTokens, costUnits: Math.round(trace.cost * 1e8), errorCount: trace.errorCount });
}

describe('reading the whole tree', () => {
  const small = uid('tree-20');
  const large = uid('tree-2000');
  beforeAll(async () => {
    await store(randomTree(small, 20));
    await store(randomTree(large, 2000));
  }, 120_000);

  it('costs a few statements for 20 spans, and a few per piece for 2,000', async () => {
    const counts: number[] = [];
    for (const traceId of [small, large]) {
      let data: any;
      const statements = await server().statementsOf(async () => {
        data = await server().gql(TREE_QUERY, { id: traceId });
      });
      expectConsistentTree(data.trace.spans, data.trace);
      counts.push(statements.length);
    }
    // The trace, its spans, the tree's skeleton, the ancestors' rows.
    expect(counts[0]).toBeLessThanOrEqual(4);
    // From WHOLE_READ_SPANS on, a trace is read from a snapshot in pieces (test/span-connection.test.ts):
    // the trace, the skeleton, the rows ROWS_PER_READ at a time, and the ancestors' rows of the spans
    // handed on in each turn (ROWS_PER_TURN).
    expect(2000).toBeGreaterThanOrEqual(WHOLE_READ_SPANS);
    expect(counts[1]).toBeLessThanOrEqual(2 + Math.ceil(2000 / ROWS_PER_READ) + Math.ceil(2000 / ROWS_PER_TURN));
  });

  it('on a 2,000-span trace, the tree facts of every span are read from one skeleton that leaves out content and error text', async () => {
    const { statements } = await server().gqlWithStatements(`query($id: ID!) { trace(id: $id) { spans(order: TREE) { id depth subtree { errorCount } } } }`, {
      id: large,
    });
    // The trace, the skeleton (unless the server still holds the trace's snapshot from an earlier
    // read), and the rows a piece at a time.
    expect(statements.length).toBeGreaterThanOrEqual(1 + Math.ceil(2000 / ROWS_PER_READ));
    expect(statements.length).toBeLessThanOrEqual(2 + Math.ceil(2000 / ROWS_PER_READ));
    // Prisma quotes names with backticks on SQLite, double quotes on PostgreSQL.
    const unselected = /[`"](input|output|instructions|observations|scorerContext|meta|error)[`"]/;
    const skeleton = 'CASE WHEN "error" IS NULL';
    expect(statements.filter((statement) => statement.includes(skeleton)).length).toBeLessThanOrEqual(1);
    expect(statements.filter((statement) => unselected.test(statement.replace(skeleton, '')))).toEqual([]);
  });

  it('two traces in one response: one skeleton statement for both', async () => {
    const { data, statements } = await server().gqlWithStatements(
      `query($a: ID!, $b: ID!) { a: trace(id: $a) { spans(order: TREE) { id depth } } b: trace(id: $b) { spans(order: TREE) { id depth } } }`,
      { a: small, b: large },
    );
    expect(data.a.spans).toHaveLength(20);
    expect(data.b.spans).toHaveLength(2000);
    expect(statements.filter((statement) => /CASE WHEN/i.test(statement))).toHaveLength(1);
  });
});

describe('the tree of stored spans', () => {
  const span = (id: string, parentId: string | null) => ({ id, parentId, totalTokens: 1, cost: 0.1, failed: false });

  it('gives every span one place even if parents were ever to form a cycle (the write path refuses them)', () => {
    const tree = spanTreeOf([span('x', 'y'), span('y', 'x'), span('z', 'z'), span('w', 'y')]);
    expect(tree.order).toEqual(['x', 'y', 'w', 'z']);
    expect(['x', 'y', 'w', 'z'].map((id) => [id, tree.place(id)!.depth, tree.ancestorsOf(id)])).toEqual([
      ['x', 0, []],
      ['y', 1, ['x']],
      ['w', 2, ['x', 'y']],
      ['z', 0, []],
    ]);
    expect(tree.place('x')!.subtree).toEqual({ spanCount: 3, totalTokens: 3, cost: 0.3, errorCount: 0 });
  });

  it('walks a chain thousands of spans deep without recursion', () => {
    const chain = Array.from({ length: 20_000 }, (_, index) => span(`s${index}`, index ? `s${index - 1}` : null));
    const tree = spanTreeOf(chain);
    expect(tree.place('s19999')!.depth).toBe(19_999);
    expect(tree.place('s0')!.descendantCount).toBe(19_999);
    expect(tree.place('s0')!.subtree.cost).toBe(2000);
  });
});
