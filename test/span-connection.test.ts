/**
 * Traces of any size: `Trace.spanConnection`, a paged snapshot of a trace's spans (TREE or START
 * order, with filters and jumps), consistent while writers add spans, each page the same few
 * statements whatever the size of the trace; `Trace.spans` of a large trace, read in turns so that
 * other requests are answered meanwhile; and `@stream`, read increment by increment over multipart
 * HTTP and SSE by the clients that speak them.
 */
import { meros } from 'meros/node';
import { createClient as createSseClient } from 'graphql-sse';
import { request as httpRequest } from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import { connect } from './helpers/clients.js';
import { at, CREATE_SPAN, CREATE_SPANS, uid } from './helpers/operations.js';
import { bearer, TEST_API_KEY, useTestServer } from './helpers/server.js';
import { ROWS_PER_READ, WHOLE_READ_SPANS } from '../src/spans/span-pages.js';

const server = useTestServer();

const NODE_FIELDS = 'id parentId type depth descendantCount';
const PAGE = `query Page($id: ID!, $first: Int, $after: String, $skip: Int, $order: SpanOrder, $filter: SpanFilter) {
  trace(id: $id) { spanConnection(first: $first, after: $after, skip: $skip, order: $order, filter: $filter) {
    totalCount asOf pageInfo { endCursor hasNextPage } edges { cursor node { ${NODE_FIELDS} } } } } }`;

/** A tree of `size` spans: each parent is an earlier span at most 8 deep; starts tie often (ties go by id). */
function tree(traceId: string, size: number, seed = 7) {
  let state = seed;
  const random = () => ((state = (state * 48271) % 2147483647) / 2147483647);
  const depth = new Map<string, number>();
  const spans: { id: string; traceId: string; parentId: string | null; name: string; type: string; startTime: string; endTime: string }[] = [];
  for (let index = 0; index < size; index++) {
    const candidate = index === 0 ? undefined : spans[Math.floor(random() * spans.length)]!;
    const parent = candidate && depth.get(candidate.id)! < 8 ? candidate : spans[0];
    const id = `${traceId}-${String(index).padStart(6, '0')}`;
    depth.set(id, parent ? depth.get(parent.id)! + 1 : 0);
    spans.push({
      id,
      traceId,
      parentId: parent?.id ?? null,
      name: `step-${index}`,
      type: index % 4 === 0 ? 'TOOL' : 'FUNCTION',
      startTime: at(Math.floor(index / 3)),
      endTime: at(Math.floor(index / 3) + 2),
    });
  }
  return spans;
}

async function store(spans: { id: string }[]) {
  const batches = [];
  for (let i = 0; i < spans.length; i += 1000) batches.push(spans.slice(i, i + 1000));
  // Two writers at a time: a trace of thousands of spans is written in seconds.
  for (let i = 0; i < batches.length; i += 2) await Promise.all(batches.slice(i, i + 2).map((input) => server().gql(CREATE_SPANS, { input })));
}

interface Page {
  totalCount: number;
  asOf: number;
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
  edges: { cursor: string; node: { id: string; parentId: string | null; type: string; depth: number; descendantCount: number } }[];
}

async function page(traceId: string, variables: Record<string, unknown> = {}): Promise<Page> {
  const { trace } = await server().gql(PAGE, { id: traceId, ...variables });
  return trace.spanConnection;
}

/** Walks every page; `between` runs after each page (a writer adding spans meanwhile). */
async function walk(traceId: string, variables: Record<string, unknown>, between?: (pageIndex: number) => Promise<void>) {
  const pages: Page[] = [];
  let after: string | null = null;
  do {
    pages.push(await page(traceId, { ...variables, after }));
    after = pages.at(-1)!.pageInfo.endCursor;
    await between?.(pages.length - 1);
  } while (pages.at(-1)!.pageInfo.hasNextPage);
  return { pages, nodes: pages.flatMap((p) => p.edges.map((edge) => edge.node)) };
}

describe('Trace.spanConnection', () => {
  const traceId = uid('paged');
  const spans = tree(traceId, 1_234);
  let whole: { id: string; depth: number }[];
  beforeAll(async () => {
    await store(spans);
    whole = (await server().gql(`query($id: ID!) { trace(id: $id) { spans(order: TREE) { id depth } } }`, { id: traceId })).trace.spans;
  }, 120_000);

  it('pages through the tree depth-first: every span once, each parent before its children, as spans(order: TREE) lists them', async () => {
    const { pages, nodes } = await walk(traceId, { first: 100 });
    expect(pages).toHaveLength(13);
    expect(pages.every((p) => p.totalCount === spans.length)).toBe(true);
    expect(nodes.map((node) => node.id)).toEqual(whole.map((span) => span.id));
    expect(nodes.map((node) => node.depth)).toEqual(whole.map((span) => span.depth));
    const position = new Map(nodes.map((node, index) => [node.id, index]));
    for (const node of nodes) if (node.parentId) expect(position.get(node.parentId)!).toBeLessThan(position.get(node.id)!);
    // A subtree is contiguous: what a view collapses with descendantCount.
    for (const [index, node] of nodes.entries()) {
      const next = nodes[index + 1 + node.descendantCount];
      if (next) expect(next.depth).toBeLessThanOrEqual(node.depth);
    }
    expect(pages.at(-1)!.pageInfo.hasNextPage).toBe(false);
  });

  it('defaults to TREE order and pages of 500; START order lists by start time, then id', async () => {
    const first = await page(traceId);
    expect(first.edges.map((edge) => edge.node.id)).toEqual(whole.slice(0, 500).map((span) => span.id));
    const { nodes } = await walk(traceId, { order: 'START', first: 500 });
    const byStart = [...spans].sort((a, b) => (a.startTime < b.startTime ? -1 : a.startTime > b.startTime ? 1 : a.id < b.id ? -1 : 1));
    expect(nodes.map((node) => node.id)).toEqual(byStart.map((span) => span.id));
  });

  it('jumps: after the first edge, skip: p - 1 is the page at position p', async () => {
    const first = await page(traceId, { first: 1 });
    const jumped = await page(traceId, { after: first.edges[0]!.cursor, skip: 799, first: 50 });
    expect(jumped.edges.map((edge) => edge.node.id)).toEqual(whole.slice(800, 850).map((span) => span.id));
    const fromStart = await page(traceId, { skip: 1_200, first: 100 });
    expect(fromStart.edges.map((edge) => edge.node.id)).toEqual(whole.slice(1_200).map((span) => span.id));
    expect(fromStart.pageInfo.hasNextPage).toBe(false);
  });

  it('filters: the matching spans in tree order, totalCount counting them', async () => {
    const { pages, nodes } = await walk(traceId, { filter: { type: ['TOOL'] }, first: 100 });
    const tools = new Set(spans.filter((span) => span.type === 'TOOL').map((span) => span.id));
    expect(pages[0]!.totalCount).toBe(tools.size);
    expect(nodes.map((node) => node.id)).toEqual(whole.map((span) => span.id).filter((id) => tools.has(id)));
  });

  it('refuses a cursor from another order or filter, a mangled cursor, and out-of-range sizes, with BAD_USER_INPUT', async () => {
    const tree = await page(traceId, { first: 10 });
    const attempts = [
      { order: 'START', after: tree.pageInfo.endCursor },
      { filter: { type: ['TOOL'] }, after: tree.pageInfo.endCursor },
      { after: 'not-a-cursor' },
      { after: Buffer.from('[1,"TREE",-1,"",0,"x"]').toString('base64url') },
      { first: 501 },
      { skip: -1 },
    ];
    for (const variables of attempts) {
      const response = await server().request(PAGE, { id: traceId, ...variables });
      expect(response.errors?.[0]?.extensions?.code, JSON.stringify(variables)).toBe('BAD_USER_INPUT');
      expect(response.errors?.[0]?.message).toMatch(/cursor|first|skip/);
    }
  });

  it('is a snapshot: spans written during a walk are in no page and come from traceSpans(after: asOf), each exactly once', async () => {
    const running = uid('paged-running');
    const before = tree(running, 600, 11);
    await store(before);
    const added: string[] = [];
    const client = connect('ws', server().url);
    try {
      const { pages, nodes } = await walk(running, { first: 100 }, async (index) => {
        if (index > 2) return;
        // Between pages: new children under spans already paged and not yet paged, and a new root.
        const batch = [0, 1, 2].map((n) => ({
          id: `${running}-new-${index}-${n}`,
          traceId: running,
          parentId: n === 2 ? null : before[n === 0 ? 3 : 590]!.id,
          name: 'added',
          startTime: at(1 + index),
          endTime: at(2 + index),
        }));
        await server().gql(CREATE_SPANS, { input: batch });
        added.push(...batch.map((span) => span.id));
      });
      expect(new Set(pages.map((p) => p.asOf)).size).toBe(1);
      expect(pages.every((p) => p.totalCount === before.length)).toBe(true);
      expect(nodes.map((node) => node.id).sort()).toEqual(before.map((span) => span.id).sort());
      // The live feed from the walk's asOf: exactly the spans the walk did not have.
      const feed = client.subscribe(`subscription($traceId: ID!, $after: Int!) { traceSpans(traceId: $traceId, after: $after) { op seq span { id } } }`, {
        traceId: running,
        after: pages[0]!.asOf,
      });
      const last = { id: `${running}-last`, traceId: running, name: 'last', startTime: at(5), endTime: at(6) };
      await server().gql(CREATE_SPAN, { input: last });
      const results = await feed.until((all) => all.some((result) => result.data?.traceSpans.span.id === last.id), 30_000);
      const created = results.map((result) => result.data.traceSpans).filter((change) => change.op === 'CREATED').map((change) => change.span.id);
      expect(created.sort()).toEqual([...added, last.id].sort());
      await feed.stop();
    } finally {
      await client.dispose();
    }
  }, 60_000);
});

describe('a new walk sees the trace as it is now', () => {
  it('after spans are added, updated and deleted (each walk built from the one before, checked against a whole read)', async () => {
    const traceId = uid('paged-changing');
    const spans = tree(traceId, 900, 5);
    await store(spans);
    const read = async () => (await server().gql(`query($id: ID!) { trace(id: $id) { spanCount spans(order: TREE) { id depth } } }`, { id: traceId })).trace;
    const steps: (() => Promise<unknown>)[] = [
      () => server().gql(CREATE_SPANS, { input: [0, 1, 2].map((n) => ({ id: `${traceId}-x${n}`, traceId, parentId: spans[n * 100]!.id, name: 'x', startTime: at(0), endTime: at(1) })) }),
      // Moved among its siblings by a new start time.
      () => server().gql(`mutation($id: ID!) { updateSpan(id: $id, input: { startTime: "${at(-1)}" }) { id } }`, { id: spans[250]!.id }),
      () => server().gql(`mutation($id: ID!) { deleteSpan(id: $id) }`, { id: spans[300]!.id }),
    ];
    for (const step of steps) {
      await step();
      const now = await read();
      const { pages, nodes } = await walk(traceId, { first: 200 });
      expect(pages[0]!.totalCount).toBe(now.spanCount);
      expect(nodes.map((node) => [node.id, node.depth])).toEqual(now.spans.map((span: { id: string; depth: number }) => [span.id, span.depth]));
    }
  });
});

describe('a page costs the same in a small and a large trace', () => {
  const small = uid('cost-small');
  const large = uid('cost-large');
  beforeAll(async () => {
    await store(tree(small, 600));
    await store(tree(large, 6_000));
  }, 120_000);

  it('the same statements per page (after the first page of a walk), with no content columns', async () => {
    const counts: number[] = [];
    for (const traceId of [small, large]) {
      const first = await page(traceId, { first: 100 });
      const { statements } = await server().gqlWithStatements(PAGE, { id: traceId, first: 100, after: first.pageInfo.endCursor });
      counts.push(statements.length);
      expect(statements.filter((statement) => /[`"](input|output|instructions|meta)[`"]/.test(statement))).toEqual([]);
    }
    expect(counts[0]).toBe(counts[1]);
    // The trace, the page's rows.
    expect(counts[1]).toBeLessThanOrEqual(2);
  });

  it(`Trace.spans of a ${WHOLE_READ_SPANS.toLocaleString('en-US')}+ span trace lists every span in order, read in pieces`, async () => {
    const { data, statements } = await server().gqlWithStatements(`query($id: ID!) { trace(id: $id) { spanCount spans(order: TREE) { id depth } } }`, { id: large });
    const paged = await walk(large, { first: 500 });
    expect(data.trace.spans.map((span: { id: string }) => span.id)).toEqual(paged.nodes.map((node) => node.id));
    expect(data.trace.spans).toHaveLength(6_000);
    // No single statement reads all 6,000 rows.
    const rowReads = statements.filter((statement) => /IN \(/.test(statement));
    expect(rowReads.length).toBeGreaterThanOrEqual(6_000 / ROWS_PER_READ);
  });

  it('a large answer is written in pieces as it is serialized (chunked, no Content-Length), the very text JSON.stringify makes', async () => {
    const query = `query($id: ID!) { trace(id: $id) { spans(order: TREE) { id name depth meta } } }`;
    const post = (id: string) =>
      fetch(server().url, { method: 'POST', headers: { ...bearer(), 'content-type': 'application/json' }, body: JSON.stringify({ query, variables: { id } }) });
    const big = await post(large);
    expect(big.headers.get('content-length')).toBeNull();
    expect(big.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const text = await big.text();
    expect(text).toBe(JSON.stringify(JSON.parse(text)));
    expect(JSON.parse(text).data.trace.spans).toHaveLength(6_000);
    const few = await post(small);
    expect(few.headers.get('content-length')).not.toBeNull();
  });

  it('a one-field query sent while three clients read a large trace whole is answered before any of those reads completes', async () => {
    const query = `query($id: ID!) { trace(id: $id) { spans(order: TREE) { id name type startTime durationMs parentId depth } } }`;
    const finished: string[] = [];
    // Sent once the reads are under way: when the server reads their rows.
    let readsStarted!: () => void;
    const started = new Promise<void>((resolve) => (readsStarted = resolve));
    const stop = server().onQuery((sql) => {
      // A read of span rows by id (the pieces), on either database's quoting.
      if (/IN \(/.test(sql) && /FROM\s+([`"]\w+[`"]\.)?[`"]Span[`"]/.test(sql)) readsStarted();
    });
    try {
      const reads = [0, 1, 2].map((n) =>
        server().gql(query, { id: large }).then((data) => {
          expect(data.trace.spans).toHaveLength(6_000);
          finished.push(`read ${n}`);
        }),
      );
      await started;
      const small = await server().gql(`query($id: ID!) { trace(id: $id) { id } }`, { id: large });
      finished.push('one-field query');
      expect(small.trace.id).toBe(large);
      await Promise.all(reads);
      expect(finished[0]).toBe('one-field query');
    } finally {
      stop();
    }
  }, 60_000);

  it('@stream over multipart HTTP: the first rows come in the first part, the rest in increments, all in order', async () => {
    const query = `query($id: ID!) { trace(id: $id) { id spans(order: TREE) @stream(initialCount: 200) { id } } }`;
    const parts = await multipart(server().url, query, { id: large });
    expect(parts.length).toBeGreaterThan(2);
    const initial = parts[0] as { data: { trace: { spans: { id: string }[] } }; hasNext: boolean };
    expect(initial.hasNext).toBe(true);
    expect(initial.data.trace.spans).toHaveLength(200);
    const streamed = parts.slice(1).flatMap((part: any) => (part.incremental ?? []).flatMap((increment: any) => increment.items ?? []));
    const ids = [...initial.data.trace.spans, ...streamed].map((span: { id: string }) => span.id);
    const paged = await walk(large, { first: 500 });
    expect(ids).toEqual(paged.nodes.map((node) => node.id));
    expect((parts.at(-1) as { hasNext: boolean }).hasNext).toBe(false);
  });

  it('@stream over SSE (graphql-sse): increments as events, the same spans', async () => {
    const client = createSseClient({ url: `${server().url}`, retryAttempts: 0, headers: { authorization: `Bearer ${TEST_API_KEY}` } });
    try {
      const results: any[] = [];
      for await (const result of client.iterate({
        query: `query($id: ID!) { trace(id: $id) { spans(order: START) @stream(initialCount: 100) { id } } }`,
        variables: { id: large },
      })) {
        results.push(result);
      }
      expect(results.length).toBeGreaterThan(2);
      expect(results[0].data.trace.spans).toHaveLength(100);
      const ids = [...results[0].data.trace.spans, ...results.slice(1).flatMap((r) => (r.incremental ?? []).flatMap((i: any) => i.items ?? []))];
      expect(ids).toHaveLength(6_000);
      expect(new Set(ids.map((span: { id: string }) => span.id)).size).toBe(6_000);
    } finally {
      client.dispose();
    }
  });
});

/** POSTs a query asking for multipart/mixed and reads each part as it arrives (meros). */
async function multipart(url: string, query: string, variables: Record<string, unknown>): Promise<unknown[]> {
  const target = new URL(url);
  const response = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    const req = httpRequest(
      { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { ...bearer(), 'content-type': 'application/json', accept: 'multipart/mixed' } },
      resolve,
    );
    req.on('error', reject);
    req.end(JSON.stringify({ query, variables }));
  });
  expect(response.headers['content-type']).toMatch(/^multipart\/mixed/);
  const parts = await meros<unknown>(response);
  if (!(Symbol.asyncIterator in (parts as object))) throw new Error('expected a multipart response');
  const bodies: unknown[] = [];
  for await (const part of parts as AsyncIterable<{ json: boolean; body: unknown }>) bodies.push(part.body);
  return bodies;
}
