import { describe, expect, it, vi } from 'vitest';
import { useTestServer, type GraphQLResponse } from './helpers/server.js';
import { at, CREATE_SPAN, CREATE_SPANS, GET_TRACE, UPDATE_SPAN, uid } from './helpers/operations.js';

const server = useTestServer();

function expectError(response: GraphQLResponse, code: string, message: RegExp) {
  expect(response.errors, JSON.stringify(response)).toHaveLength(1);
  const [error] = response.errors!;
  expect(error!.extensions?.code).toBe(code);
  expect(error!.message).toMatch(message);
  // Nothing internal reaches a client: no stack, no SQL, no Prisma.
  const text = JSON.stringify(response);
  expect(text).not.toMatch(/stack|SELECT |INSERT |prisma|\.ts:\d+/i);
}

async function countAll() {
  const { gql } = server();
  const data = await gql(`{ traces(first: 0) { totalCount } spans(first: 0) { totalCount } }`);
  return { traces: data.traces.totalCount, spans: data.spans.totalCount };
}

describe('bad input gets a clear error with a code, and writes nothing', () => {
  it('an unknown span id', async () => {
    const { request } = server();
    const before = await countAll();
    const id = uid('ghost');
    expectError(await request(UPDATE_SPAN, { id, input: { endTime: at(1) } }), 'NOT_FOUND', new RegExp(`span ${id} not found`));
    expectError(
      await request(`mutation($id: ID!) { createSpanEvent(spanId: $id, input: { kind: GUARDRAIL }) { id } }`, { id }),
      'NOT_FOUND',
      /not found/,
    );
    expectError(
      await request(`mutation($id: ID!) { submitFeedback(spanId: $id, input: { thumbs: UP }) { id } }`, { id }),
      'NOT_FOUND',
      /not found/,
    );
    expectError(
      await request(`mutation($id: ID!) { addSpanMetric(spanId: $id, input: { dimension: "x", value: 1 }) { id } }`, { id }),
      'NOT_FOUND',
      /not found/,
    );
    expect(await countAll()).toEqual(before);
  });

  it('endTime before startTime, on create and on update', async () => {
    const { request, gql } = server();
    const before = await countAll();
    expectError(
      await request(CREATE_SPAN, { input: { name: 'backwards', startTime: at(100), endTime: at(50) } }),
      'BAD_USER_INPUT',
      /input\.endTime: .* is before startTime/,
    );
    expect(await countAll()).toEqual(before);
    const { createSpan } = await gql(CREATE_SPAN, { input: { name: 'ok', startTime: at(100) } });
    expectError(await request(UPDATE_SPAN, { id: createSpan.id, input: { endTime: at(99) } }), 'BAD_USER_INPUT', /is before startTime/);
    const stored = (await gql(GET_TRACE, { id: createSpan.traceId })).trace;
    expect(stored).toMatchObject({ status: 'RUNNING', endTime: null });
  });

  it('a parent in another trace', async () => {
    const { request, gql } = server();
    const { createSpan: parent } = await gql(CREATE_SPAN, { input: { name: 'root-a' } });
    const otherTrace = uid('trace-b');
    const before = await countAll();
    expectError(
      await request(CREATE_SPAN, { input: { name: 'child', parentId: parent.id, traceId: otherTrace } }),
      'BAD_USER_INPUT',
      new RegExp(`parent span ${parent.id} is in trace ${parent.traceId}, not in trace ${otherTrace}`),
    );
    expect(await countAll()).toEqual(before);
    expect((await gql(GET_TRACE, { id: otherTrace })).trace).toBeNull();
  });

  it('a parent arriving in another trace than its waiting children', async () => {
    const { request, gql } = server();
    const parentId = uid('late-parent');
    const traceA = uid('trace-a');
    await gql(CREATE_SPAN, { input: { name: 'early-child', parentId, traceId: traceA } });
    expectError(
      await request(CREATE_SPAN, { input: { id: parentId, name: 'parent', traceId: uid('trace-b') } }),
      'BAD_USER_INPUT',
      /is the parent of spans already stored in trace/,
    );
  });

  it('negative or fractional token counts, negative cost, an over-long name, a non-object meta', async () => {
    const { request } = server();
    const before = await countAll();
    expectError(await request(CREATE_SPAN, { input: { name: 'x', inputTokens: -1 } }), 'BAD_USER_INPUT', /input\.inputTokens: must not be negative/);
    expectError(await request(CREATE_SPAN, { input: { name: 'x', cost: -0.01 } }), 'BAD_USER_INPUT', /input\.cost: must not be negative/);
    expectError(await request(CREATE_SPAN, { input: { name: 'n'.repeat(513) } }), 'BAD_USER_INPUT', /input\.name: must be at most 512 characters/);
    expectError(await request(CREATE_SPAN, { input: { name: '' } }), 'BAD_USER_INPUT', /input\.name: must not be empty/);
    expectError(await request(CREATE_SPAN, { input: { name: 'x', meta: [1, 2] } }), 'BAD_USER_INPUT', /input\.meta: must be a JSON object/);
    expectError(await request(CREATE_SPAN, { input: { name: 'x', id: 'has space' } }), 'BAD_USER_INPUT', /input\.id: must be printable ASCII/);
    expectError(await request(CREATE_SPAN, { input: { name: 'x', tags: Array.from({ length: 65 }, (_, i) => `t${i}`) } }), 'BAD_USER_INPUT', /at most 64 tags/);
    expect(await countAll()).toEqual(before);
  });

  it('input the schema rejects: a wrong type, a bad date, an unknown enum value', async () => {
    const { request } = server();
    for (const input of [{ name: 'x', inputTokens: 1.5 }, { name: 'x', startTime: 'yesterday' }, { name: 'x', type: 'ROBOT' }, { nome: 'x' }]) {
      const response = await request(CREATE_SPAN, { input });
      expect(response.errors?.[0]?.extensions?.code, JSON.stringify(response)).toBe('BAD_USER_INPUT');
    }
  });

  it('a failed batch writes nothing of the batch', async () => {
    const { request, gql } = server();
    const traceId = uid('batch');
    const before = await countAll();
    expectError(
      await request(CREATE_SPANS, {
        input: [
          { traceId, name: 'fine-1', startTime: at(0) },
          { traceId, name: 'fine-2', startTime: at(1) },
          { traceId, name: 'broken', startTime: at(5), endTime: at(1) },
        ],
      }),
      'BAD_USER_INPUT',
      /input\[2\]\.endTime/,
    );
    // Fails inside the transaction, after the first rows were written: all rolled back.
    const existing = (await gql(CREATE_SPAN, { input: { name: 'exists', id: uid('dup') } })).createSpan;
    const afterOne = await countAll();
    expectError(
      await request(CREATE_SPANS, {
        input: [
          { traceId, name: 'fine-3' },
          { id: existing.id, name: 'exists but different' },
        ],
      }),
      'CONFLICT',
      /already exists with different content/,
    );
    expect(afterOne).toEqual({ traces: before.traces + 1, spans: before.spans + 1 });
    expect(await countAll()).toEqual(afterOne);
    expect((await gql(GET_TRACE, { id: traceId })).trace).toBeNull();
  });

  it('two mutation fields, the second failing: the first is committed and its id is in the answer, the second is null with its error', async () => {
    const { request, gql } = server();
    const first = uid('kept');
    const response = await request(
      `mutation($first: ID!) {
        first: createSpan(input: { id: $first, name: "committed" }) { id name }
        second: createSpan(input: { name: "broken", startTime: "${at(5)}", endTime: "${at(1)}" }) { id }
      }`,
      { first },
    );
    expect(response.data).toEqual({ first: { id: first, name: 'committed' }, second: null });
    expect(response.errors, JSON.stringify(response)).toHaveLength(1);
    expect(response.errors![0]).toMatchObject({ path: ['second'], extensions: { code: 'BAD_USER_INPUT' } });
    expect((await gql(`query($id: ID!) { span(id: $id) { id name } }`, { id: first })).span).toEqual({ id: first, name: 'committed' });
  });

  it('a batch over MAX_BATCH_SPANS', async () => {
    const { request } = server();
    const before = await countAll();
    const input = Array.from({ length: 1001 }, (_, i) => ({ name: `s${i}` }));
    expectError(await request(CREATE_SPANS, { input }), 'BAD_USER_INPUT', /at most 1000 spans; this one has 1001/);
    expect(await countAll()).toEqual(before);
  });

  it('bad filters, cursors and page sizes', async () => {
    const { request } = server();
    expectError(await request(`{ traces(first: 1000) { totalCount } }`), 'BAD_USER_INPUT', /first: must be a whole number from 0 to 500/);
    expectError(await request(`{ traces(after: "not-a-cursor") { totalCount } }`), 'BAD_USER_INPUT', /cursor is not valid/);
    expectError(await request(`{ traces(filter: { meta: [1] }) { totalCount } }`), 'BAD_USER_INPUT', /filter\.meta: must be a JSON object/);
    expectError(
      await request(`{ traces(filter: { cost: { gte: 5, lte: 1 } }) { totalCount } }`),
      'BAD_USER_INPUT',
      /filter\.cost: gte is greater than lte/,
    );
    expectError(await request(`mutation { submitFeedback(spanId: "x", input: {}) { id } }`), 'BAD_USER_INPUT', /feedback needs a score, thumbs or a comment/);
  });

  it('a syntax error is the client\'s: a clear message with a code', async () => {
    const response = await server().request(`{ traces { `);
    expectError(response, 'GRAPHQL_PARSE_FAILED', /^Syntax Error/);
  });

  it('an unexpected failure is masked: the client gets "Unexpected error." and a code, the server logs the cause', async () => {
    const { request, gql } = server();
    const { createSpan } = await gql(CREATE_SPAN, { input: { name: 'masked', model: 'gpt-masked' } });
    const query = `query($id: ID!) { span(id: $id) { id model } }`;
    // Break the database under the running server, as a botched migration would: the column a read
    // needs is gone (renamed) while the request runs, and comes back afterwards.
    const renameModel = (from: string, to: string) =>
      server().services.db.write((tx) => tx.$executeRawUnsafe(`ALTER TABLE "Span" RENAME COLUMN "${from}" TO "${to}"`));
    const logged: string[] = [];
    const log = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      logged.push(args.map((arg) => (arg instanceof Error ? `${arg.message}\n${arg.stack}` : String(arg))).join(' '));
    });
    let response: GraphQLResponse;
    await renameModel('model', 'model_gone');
    try {
      response = await request(query, { id: createSpan.id });
    } finally {
      await renameModel('model_gone', 'model');
      log.mockRestore();
    }
    expectError(response, 'INTERNAL_SERVER_ERROR', /^Unexpected error\.$/);
    expect(response.data).toEqual({ span: null });
    // The server logged what went wrong, for its operators.
    expect(logged.join('\n')).toMatch(/The column `[\w.]*\bmodel` does not exist/);
    // With the column back, the same read works.
    expect((await gql(query, { id: createSpan.id })).span).toEqual({ id: createSpan.id, model: 'gpt-masked' });
  });
});

describe('edges of the value ranges', () => {
  it('token totals beyond a 32-bit count are refused as input, per span and per trace', async () => {
    const { request, gql } = server();
    expectError(
      await request(CREATE_SPAN, { input: { name: 'huge', inputTokens: 2_000_000_000, outputTokens: 2_000_000_000 } }),
      'BAD_USER_INPUT',
      /input\.totalTokens: inputTokens \+ outputTokens is 4000000000/,
    );
    const traceId = uid('tokens');
    await gql(CREATE_SPAN, { input: { traceId, name: 'big', inputTokens: 2_000_000_000 } });
    expectError(
      await request(CREATE_SPAN, { input: { traceId, name: 'bigger', inputTokens: 2_000_000_000 } }),
      'BAD_USER_INPUT',
      /would count 4000000000 tokens/,
    );
    expect((await gql(GET_TRACE, { id: traceId })).trace).toMatchObject({ spanCount: 1, totalTokens: 2_000_000_000 });
  });

  it('fractional and very large bounds on integer columns filter and page normally', async () => {
    const { gql } = server();
    const traceId = uid('bounds');
    await gql(CREATE_SPAN, { input: { traceId, name: 'two tokens', inputTokens: 2 } });
    for (const totalTokens of [{ gte: 1.5, lte: 2.5 }, { gte: 2, lte: 3_000_000_000 }]) {
      const { traces } = await gql(`query($f: TraceFilter) { traces(filter: $f) { edges { node { id } } } }`, {
        f: { totalTokens, hasSpan: { traceId } },
      });
      expect(traces.edges).toEqual([{ node: { id: traceId } }]);
    }
    const { traces } = await gql(`{ traces(first: 1, orderBy: { field: TOKENS, direction: DESC }) { pageInfo { endCursor } } }`);
    const next = await gql(`query($after: String) { traces(first: 1, after: $after, orderBy: { field: TOKENS, direction: DESC }) { totalCount } }`, {
      after: traces.pageInfo.endCursor,
    });
    expect(next.traces.totalCount).toBeGreaterThan(0);
  });

  it('NUL characters, which PostgreSQL cannot store, arrive as U+FFFD instead of failing the write', async () => {
    const { gql } = server();
    const { createSpan } = await gql(CREATE_SPAN, { input: { name: 'nul\u0000name', output: { text: 'a\u0000b', ['k\u0000']: 1 }, tags: ['t\u0000'] } });
    expect(createSpan).toMatchObject({ name: 'nul\uFFFDname', output: { text: 'a\uFFFDb', 'k\uFFFD': 1 }, tags: ['t\uFFFD'] });
    const { span } = await gql(`query($id: ID!) { span(id: $id) { name output tags } }`, { id: createSpan.id });
    expect(span).toEqual({ name: 'nul\uFFFDname', output: { text: 'a\uFFFDb', 'k\uFFFD': 1 }, tags: ['t\uFFFD'] });
  });

  it('a span cannot become its own ancestor across two writes', async () => {
    const { gql, request } = server();
    const [a, b] = [uid('a'), uid('b')];
    const traceId = uid('cycle');
    await gql(CREATE_SPAN, { input: { id: a, parentId: b, traceId, name: 'a' } });
    expectError(await request(CREATE_SPAN, { input: { id: b, parentId: a, traceId, name: 'b' } }), 'BAD_USER_INPUT', /would be its own ancestor/);
    // Longer loops, through stored spans and the batch, too.
    const [c, d, e] = [uid('c'), uid('d'), uid('e')];
    await gql(CREATE_SPANS, { input: [{ id: d, parentId: c, traceId, name: 'd' }, { id: e, parentId: d, traceId, name: 'e' }] });
    expectError(await request(CREATE_SPAN, { input: { id: c, parentId: e, traceId, name: 'c' } }), 'BAD_USER_INPUT', /would be its own ancestor/);
    await gql(CREATE_SPAN, { input: { id: c, traceId, name: 'c' } });
  });
});
