import { describe, expect, it } from 'vitest';
import { useTestServer } from './helpers/server.js';
import { at, CREATE_SPAN, CREATE_SPANS, GET_SPAN, GET_TRACE, UPDATE_SPAN, uid } from './helpers/operations.js';

const server = useTestServer();

describe('instrumenting custom spans', () => {
  it('a root span starts a trace named after it; children nest under it; updates close them', async () => {
    const { gql } = server();
    const { createSpan: root } = await gql(CREATE_SPAN, {
      input: { name: 'my-pipeline', startTime: at(0), input: 'Starting the pipeline', meta: { userId: 'u-123' } },
    });
    expect(root.parentId).toBeNull();
    expect(root.traceId).toEqual(expect.any(String));
    expect(root.traceId).not.toBe(root.id);
    expect(root.startOffsetMs).toBe(0);

    const { createSpan: child } = await gql(CREATE_SPAN, {
      input: { name: 'retrieve-context', parentId: root.id, startTime: at(100), type: 'RETRIEVAL' },
    });
    expect(child.traceId).toBe(root.traceId);
    expect(child.parentId).toBe(root.id);
    expect(child.startOffsetMs).toBe(100);

    const { updateSpan: closed } = await gql(UPDATE_SPAN, {
      id: child.id,
      input: { output: 'Found 5 documents', endTime: at(350) },
    });
    expect(closed).toMatchObject({ id: child.id, output: 'Found 5 documents', endTime: at(350), durationMs: 250, name: 'retrieve-context' });

    const { trace } = await gql(GET_TRACE, { id: root.traceId });
    expect(trace).toMatchObject({
      id: root.traceId,
      name: 'my-pipeline',
      status: 'RUNNING',
      spanCount: 2,
      input: 'Starting the pipeline',
      inputPreview: 'Starting the pipeline',
      meta: { userId: 'u-123' },
      startTime: at(0),
      endTime: at(350),
      // The root has not ended: the trace is still running, so it has no duration yet.
      durationMs: null,
    });
  });

  it("a mutation answers with the span's trace and startOffsetMs together, whichever write it is", async () => {
    const { gql } = server();
    const fields = 'id startOffsetMs trace { id name startTime spanCount }';
    const traceId = uid('offsets');
    const { createSpan: root } = await gql(`mutation($input: CreateSpanInput!) { createSpan(input: $input) { ${fields} } }`, {
      input: { traceId, name: 'offsets-root', startTime: at(1000) },
    });
    expect(root).toEqual({ id: root.id, startOffsetMs: 0, trace: { id: traceId, name: 'offsets-root', startTime: at(1000), spanCount: 1 } });
    // A span that starts before the root moves the trace's start: offsets answer from the new one.
    const { createSpans } = await gql(`mutation($input: [CreateSpanInput!]!) { createSpans(input: $input) { ${fields} } }`, {
      input: [
        { traceId, parentId: root.id, name: 'early', startTime: at(400) },
        { traceId, parentId: root.id, name: 'late', startTime: at(1500) },
      ],
    });
    expect(createSpans.map((span: any) => [span.startOffsetMs, span.trace.startTime, span.trace.spanCount])).toEqual([
      [0, at(400), 3],
      [1100, at(400), 3],
    ]);
    const { updateSpan } = await gql(`mutation($id: ID!) { updateSpan(id: $id, input: { endTime: "${at(2000)}" }) { ${fields} } }`, { id: root.id });
    expect(updateSpan).toEqual({ id: root.id, startOffsetMs: 600, trace: { id: traceId, name: 'offsets-root', startTime: at(400), spanCount: 3 } });
  });

  it('a GENERATION span carries model, tokens, cost and instructions; totalTokens defaults to input + output', async () => {
    const { gql } = server();
    const { createSpan: span } = await gql(CREATE_SPAN, {
      input: {
        name: 'answer',
        model: 'gpt-5-mini',
        inputTokens: 1200,
        outputTokens: 300,
        cost: 0.0042,
        instructions: 'You are terse.',
        startTime: at(0),
        endTime: at(1500),
      },
    });
    expect(span).toMatchObject({
      type: 'GENERATION',
      model: 'gpt-5-mini',
      inputTokens: 1200,
      outputTokens: 300,
      totalTokens: 1500,
      cost: 0.0042,
      instructions: 'You are terse.',
      durationMs: 1500,
    });
    const { updateSpan } = await gql(UPDATE_SPAN, { id: span.id, input: { outputTokens: 500 } });
    expect(updateSpan.totalTokens).toBe(1700);
    const { updateSpan: explicit } = await gql(UPDATE_SPAN, { id: span.id, input: { totalTokens: 2000 } });
    expect(explicit.totalTokens).toBe(2000);
    const { updateSpan: kept } = await gql(UPDATE_SPAN, { id: span.id, input: { inputTokens: 1 } });
    expect(kept.totalTokens).toBe(2000);
  });

  it('ids round-trip: a client-chosen id is stored unchanged and accepted by span, trace and parentId', async () => {
    const { gql } = server();
    const traceId = uid('0af7651916cd43dd8448eb211c80319c');
    const rootId = uid('b7ad6b7169203331');
    const { createSpan: root } = await gql(CREATE_SPAN, { input: { id: rootId, traceId, name: 'otel-root' } });
    expect(root).toMatchObject({ id: rootId, traceId });
    const { createSpan: child } = await gql(CREATE_SPAN, { input: { id: `${rootId}:child`, parentId: rootId, name: 'child' } });
    expect(child).toMatchObject({ id: `${rootId}:child`, traceId, parentId: rootId });
    expect((await gql(GET_SPAN, { id: rootId })).span.id).toBe(rootId);
    expect((await gql(GET_TRACE, { id: traceId })).trace.id).toBe(traceId);
  });

  it('creating a span again with the same id and content is an idempotent retry, not a duplicate', async () => {
    const { gql, request } = server();
    const id = uid('retry');
    const input = { id, name: 'flaky-network', startTime: at(0), input: { q: 'hi' }, tags: ['b', 'a'] };
    const first = (await gql(CREATE_SPAN, { input })).createSpan;
    // The same content with its keys in another order is the same span.
    const again = (await gql(CREATE_SPAN, { input: { tags: ['b', 'a'], input: { q: 'hi' }, startTime: at(0), name: 'flaky-network', id } })).createSpan;
    expect(again).toEqual(first);
    const { trace } = await gql(GET_TRACE, { id: first.traceId });
    expect(trace.spanCount).toBe(1);

    // A retry that arrives after the span was closed still returns it, as it is now.
    await gql(UPDATE_SPAN, { id, input: { endTime: at(10) } });
    const late = (await gql(CREATE_SPAN, { input })).createSpan;
    expect(late.endTime).toBe(at(10));

    const clash = await request(CREATE_SPAN, { input: { ...input, name: 'something else' } });
    expect(clash.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(clash.errors?.[0]?.message).toContain(id);
    expect((await gql(GET_TRACE, { id: first.traceId })).trace.spanCount).toBe(1);
  });

  it('a retried batch returns the stored spans and creates only the new ones', async () => {
    const { gql } = server();
    const traceId = uid('trace');
    const batch = [
      { id: uid('a'), traceId, name: 'root', startTime: at(0) },
      { id: uid('b'), traceId, name: 'step', startTime: at(5) },
    ];
    batch[1] = { ...batch[1]!, parentId: batch[0]!.id } as (typeof batch)[number];
    const first = (await gql(CREATE_SPANS, { input: batch })).createSpans;
    const extra = { id: uid('c'), traceId, parentId: batch[0]!.id, name: 'late-step', startTime: at(9) };
    const second = (await gql(CREATE_SPANS, { input: [...batch, extra] })).createSpans;
    expect(second.slice(0, 2)).toEqual(first);
    expect(second[2].id).toBe(extra.id);
    expect((await gql(GET_TRACE, { id: traceId })).trace.spanCount).toBe(3);
  });
});

describe('spans arriving out of order', () => {
  it('accepts a child before its parent when it names the trace, and links it when the parent arrives', async () => {
    const { gql } = server();
    const traceId = uid('trace');
    const rootId = uid('root');
    const { createSpan: orphan } = await gql(CREATE_SPAN, {
      input: { id: uid('tool'), traceId, parentId: rootId, name: 'web_search', type: 'TOOL', startTime: at(50), endTime: at(80) },
    });
    expect(orphan).toMatchObject({ traceId, parentId: rootId });
    const before = (await gql(`query($id: ID!) { trace(id: $id) { name status durationMs spanCount rootSpan { id } } span(id: "${orphan.id}") { parent { id } } }`, { id: traceId }));
    // Every span sent has ended, but the run is not known to be over until its root arrives.
    expect(before.trace).toEqual({ name: '', status: 'RUNNING', durationMs: null, spanCount: 1, rootSpan: null });
    const running = await gql(`query($id: ID!) { traces(filter: { ids: [$id], status: [RUNNING] }) { totalCount } }`, { id: traceId });
    expect(running.traces.totalCount).toBe(1);
    expect(before.span.parent).toBeNull();

    await gql(CREATE_SPAN, { input: { id: rootId, traceId, name: 'agent-run', startTime: at(0), endTime: at(100) } });
    const after = await gql(
      `query($id: ID!) { trace(id: $id) { name status spanCount durationMs rootSpan { id children { id name } } } }`,
      { id: traceId },
    );
    expect(after.trace).toEqual({
      name: 'agent-run',
      status: 'OK',
      spanCount: 2,
      durationMs: 100,
      rootSpan: { id: rootId, children: [{ id: orphan.id, name: 'web_search' }] },
    });
  });

  it('a root arriving after its children, without naming the trace, joins their trace', async () => {
    const { gql } = server();
    const [traceId, rootId] = [uid('trace'), uid('root')];
    await gql(CREATE_SPAN, { input: { id: uid('early'), traceId, parentId: rootId, name: 'early-child' } });
    const { createSpan } = await gql(CREATE_SPAN, { input: { id: rootId, name: 'late-root' } });
    expect(createSpan.traceId).toBe(traceId);
    const { trace } = await gql(`query($id: ID!) { trace(id: $id) { name spanCount rootSpan { id children { name } } } }`, { id: traceId });
    expect(trace).toEqual({ name: 'late-root', spanCount: 2, rootSpan: { id: rootId, children: [{ name: 'early-child' }] } });
  });

  it('a retry must match inside JSON values too: a null in meta is content', async () => {
    const { gql, request } = server();
    const id = uid('nulls');
    await gql(CREATE_SPAN, { input: { id, name: 'x', meta: { a: null } } });
    expect((await request(CREATE_SPAN, { input: { id, name: 'x', meta: {} } })).errors?.[0]?.extensions?.code).toBe('CONFLICT');
    // Top-level nulls are the same as leaving the field out.
    expect((await request(CREATE_SPAN, { input: { id, name: 'x', meta: { a: null }, output: null } })).errors).toBeUndefined();
  });

  it('a batch may list children before their parents', async () => {
    const { gql } = server();
    const [a, b, c] = [uid('a'), uid('b'), uid('c')];
    const { createSpans } = await gql(CREATE_SPANS, {
      input: [
        { id: c, parentId: b, name: 'grandchild', startTime: at(20) },
        { id: b, parentId: a, name: 'child', startTime: at(10) },
        { id: a, name: 'root', startTime: at(0) },
      ],
    });
    const traceIds = new Set(createSpans.map((span: { traceId: string }) => span.traceId));
    expect(traceIds.size).toBe(1);
    const { trace } = await gql(`query($id: ID!) { trace(id: $id) { name rootSpan { id children { id children { id } } } } }`, {
      id: createSpans[2].traceId,
    });
    expect(trace).toEqual({ name: 'root', rootSpan: { id: a, children: [{ id: b, children: [{ id: c }] }] } });
  });

  it('a child without traceId whose parent is unknown is refused with NOT_FOUND and a hint', async () => {
    const { request } = server();
    const response = await request(CREATE_SPAN, { input: { name: 'lost', parentId: uid('nowhere') } });
    expect(response.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(response.errors?.[0]?.message).toMatch(/give its traceId/);
  });
});

describe('reading a span', () => {
  it('returns null for an unknown id and the whole span as JSON for "copy span"', async () => {
    const { gql } = server();
    expect((await gql(GET_SPAN, { id: uid('missing') })).span).toBeNull();
    const { createSpan } = await gql(CREATE_SPAN, {
      input: { name: 'web_fetch', type: 'TOOL', startTime: at(0), endTime: at(20), input: { url: 'https://example.com' }, output: '<html/>', tags: ['net'] },
    });
    await gql(`mutation($id: ID!) { addSpanMetric(spanId: $id, input: { dimension: "bytes", value: 7 }) { id } }`, { id: createSpan.id });
    const { span } = await gql(`query($id: ID!) { span(id: $id) { json } }`, { id: createSpan.id });
    expect(span.json).toMatchObject({
      id: createSpan.id,
      traceId: createSpan.traceId,
      name: 'web_fetch',
      type: 'TOOL',
      startTime: at(0),
      endTime: at(20),
      durationMs: 20,
      input: { url: 'https://example.com' },
      output: '<html/>',
      tags: ['net'],
      events: [],
      metrics: [{ dimension: 'bytes', value: 7, comment: null }],
    });
    expect(span.json).not.toHaveProperty('ingestHash');
    expect(span.json).not.toHaveProperty('projectId');
  });
});
