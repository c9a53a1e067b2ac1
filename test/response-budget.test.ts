/**
 * Issue 22, findings 1, 2, 10 and 11: a request is bounded by what it produces, not only by what it
 * asks. Rows and bytes are counted as the answer is built, and an answer over MAX_RESPONSE_ROWS or
 * MAX_RESPONSE_BYTES is refused with QUERY_LIMIT_EXCEEDED on every transport; a deep chain's
 * ancestors are counted by their depth; a document nested thousands of levels deep and a number
 * literal beyond a double's range are refused as the client's input error, never a 500.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { bearer, useTestServer, type GraphQLResponse, type TestServer } from './helpers/server.js';
import { connect, type SubscriptionClient } from './helpers/clients.js';
import { at, CREATE_SPANS, uid } from './helpers/operations.js';

const clients: SubscriptionClient[] = [];
afterAll(async () => {
  for (const client of clients) await client.dispose();
});

/** Nothing internal reaches a client: no stack, no SQL, no Prisma, no source file. */
function expectNothingInternal(body: unknown) {
  expect(JSON.stringify(body)).not.toMatch(/stack|SELECT |INSERT |prisma|\.ts:\d+|node_modules|Unexpected error/i);
}

/** POSTs a document as a client would, with the response's status and parsed body. */
async function post(server: TestServer, query: string, accept = 'application/graphql-response+json') {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept, ...bearer() },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, body: (await response.json()) as GraphQLResponse };
}

/** Runs `work` and returns what it logged through console.error. */
async function errorsLogged(work: () => Promise<void>): Promise<string[]> {
  const logged = vi.spyOn(console, 'error');
  try {
    await work();
    return logged.mock.calls.map((args) => args.map(String).join(' '));
  } finally {
    logged.mockRestore();
  }
}

/** The one error of an answer refused by the response budget: its setting and value, and the alternatives it names. */
function expectOverBudget(response: GraphQLResponse, setting: 'MAX_RESPONSE_ROWS' | 'MAX_RESPONSE_BYTES', max: number) {
  expect(response.errors, JSON.stringify(response).slice(0, 500)).toHaveLength(1);
  expect(response.data ?? null).toBeNull();
  const [error] = response.errors!;
  expect(error!.extensions).toMatchObject({ code: 'QUERY_LIMIT_EXCEEDED', limit: setting, max });
  expect(error!.message).toContain(`${setting}=${max}`);
  expect(error!.message).toContain('Trace.spanConnection');
  expect(error!.message).toContain('@stream');
  expectNothingInternal(response);
}

/** A chain of `length` spans, each the only child of the one before. */
async function chain(server: TestServer, length: number) {
  const traceId = uid('chain');
  const ids = Array.from({ length }, (_, level) => `${traceId}-${level}`);
  await server.gql(CREATE_SPANS, {
    input: ids.map((id, level) => ({ id, traceId, parentId: level ? ids[level - 1] : undefined, name: `level-${level}`, startTime: at(level) })),
  });
  return { traceId, ids };
}

const ANCESTORS = `query($id: ID!) { trace(id: $id) { spans(order: TREE) { id ancestors { id } } } }`;

describe('finding 1: the ancestors of every span of a deep chain', () => {
  const server = useTestServer({ MAX_RESPONSE_ROWS: '5000' });

  it('are refused with QUERY_LIMIT_EXCEEDED (MAX_RESPONSE_ROWS) once they pass the budget, on HTTP, WebSocket and SSE', async () => {
    // 300 spans: 44,850 ancestor rows, against 5,000 (the 2,000-span chain: 2,001,000 against 200,000).
    const { traceId } = await chain(server(), 300);
    let refused: GraphQLResponse | undefined;
    const statements = await server().statementsOf(async () => {
      refused = await server().request(ANCESTORS, { id: traceId });
    });
    expectOverBudget(refused!, 'MAX_RESPONSE_ROWS', 5000);
    // Refused from the tree (the sum of the depths), before any ancestor's row is read by id.
    expect(statements.map((statement) => statement.sql).filter((sql) => /[`"]id[`"] IN/.test(sql))).toEqual([]);
    for (const transport of ['ws', 'sse'] as const) {
      const client = connect(transport, server().url);
      clients.push(client);
      const results = await client.subscribe(ANCESTORS, { id: traceId }).waitFor(1);
      expectOverBudget(results[0], 'MAX_RESPONSE_ROWS', 5000);
    }
    // The server goes on serving.
    expect((await server().gql(`query($id: ID!) { trace(id: $id) { spanCount } }`, { id: traceId })).trace.spanCount).toBe(300);
  });

  it('within the budget, every span lists its ancestors root first, read in a constant number of statements', async () => {
    const { traceId, ids } = await chain(server(), 60);
    const { data, statements } = await server().gqlWithStatements(ANCESTORS, { id: traceId });
    expect(data.trace.spans.map((span: { id: string }) => span.id)).toEqual(ids);
    data.trace.spans.forEach((span: { ancestors: { id: string }[] }, level: number) => {
      expect(span.ancestors.map((ancestor) => ancestor.id)).toEqual(ids.slice(0, level));
    });
    // The trace, its spans, its skeleton and the ancestors' rows: not a statement per level.
    expect(statements.length).toBeLessThanOrEqual(5);
  });

  it(`the spans of a trace read in pieces (2,000 or more) count as they come; @stream sends them past the budget`, async () => {
    const traceId = uid('wide');
    for (let batch = 0; batch < 2; batch++) {
      await server().gql(CREATE_SPANS, {
        input: Array.from({ length: 1000 }, (_, index) => ({ id: `${traceId}-${batch}-${index}`, traceId, name: 'step', startTime: at(batch * 1000 + index) })),
      });
    }
    const one = await server().gql(`query($id: ID!) { trace(id: $id) { spans { id } } }`, { id: traceId });
    expect(one.trace.spans).toHaveLength(2000);
    // Three aliases: 6,000 rows.
    const three = `query($id: ID!) { trace(id: $id) { a: spans { id } b: spans { id } c: spans { id } } }`;
    expectOverBudget(await server().request(three, { id: traceId }), 'MAX_RESPONSE_ROWS', 5000);

    // With @stream, the budget applies to what is built and not yet sent: all 6,000 rows arrive.
    const client = connect('sse', server().url);
    clients.push(client);
    const streamed = client.subscribe(three.replace(/spans \{/g, 'spans @stream(initialCount: 10) {'), { id: traceId });
    await streamed.ended;
    const results = streamed.results;
    expect(results.flatMap((result) => result.errors ?? [])).toEqual([]);
    const ids = (alias: string) => [
      ...results[0].data.trace[alias],
      ...results.slice(1).flatMap((result) => (result.incremental ?? []).filter((part: any) => part.path[1] === alias).flatMap((part: any) => part.items)),
    ];
    for (const alias of ['a', 'b', 'c']) expect(new Set(ids(alias).map((span: { id: string }) => span.id)).size).toBe(2000);
  });
});

describe('finding 2: content-heavy reads', () => {
  const server = useTestServer({ MAX_RESPONSE_BYTES: '3000000' });
  const CONTENT = 60_000;

  async function contentTrace(spans: number) {
    const traceId = uid('content');
    const all = Array.from({ length: spans }, (_, index) => ({
      id: `${traceId}-${index}`,
      traceId,
      name: 'call',
      startTime: at(index),
      input: { messages: [{ role: 'user', content: `${index}:`.padEnd(CONTENT, 'x') }] },
    }));
    // 20 at a time: CREATE_SPANS answers with the spans' content, and its answer has the budget too.
    for (let at = 0; at < spans; at += 20) await server().gql(CREATE_SPANS, { input: all.slice(at, at + 20) });
    return traceId;
  }

  it('six aliases of a trace\'s content are refused by MAX_RESPONSE_BYTES with a small answer, not built whole', async () => {
    // 20 spans of 60 KB: 1.2 MB an alias, 7.2 MB for six, against 3 MB.
    const traceId = await contentTrace(20);
    const aliases = Array.from({ length: 6 }, (_, index) => `t${index}: trace(id: $id) { spans { id input } }`).join(' ');
    const response = await fetch(server().url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...bearer() },
      body: JSON.stringify({ query: `query($id: ID!) { ${aliases} }`, variables: { id: traceId } }),
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text.length).toBeLessThan(2_000);
    expectOverBudget(JSON.parse(text) as GraphQLResponse, 'MAX_RESPONSE_BYTES', 3_000_000);

    // Over WebSocket too.
    const client = connect('ws', server().url);
    clients.push(client);
    const [overWs] = await client.subscribe(`query($id: ID!) { ${aliases} }`, { id: traceId }).waitFor(1);
    expectOverBudget(overWs, 'MAX_RESPONSE_BYTES', 3_000_000);
  });

  it('content past the budget is never read: its sizes are asked, not its text; content within it is read in pieces', async () => {
    // 60 spans of 60 KB: 3.6 MB, against 3 MB. (Of several aliases, those read before the budget
    // was passed are read: what is read never passes the budget.)
    const traceId = await contentTrace(60);
    const readsText = (statement: { sql: string }) => /[`"]input[`"]/.test(statement.sql.replace(/octet_length\([^)]*\)( AS [`"]\w+[`"])?/gi, ''));
    let refused: GraphQLResponse | undefined;
    const statements = await server().statementsOf(async () => {
      refused = await server().request(`query($id: ID!) { trace(id: $id) { spans { id input } } }`, { id: traceId });
    });
    expectOverBudget(refused!, 'MAX_RESPONSE_BYTES', 3_000_000);
    expect(statements.filter((statement) => /octet_length/i.test(statement.sql))).not.toEqual([]);
    expect(statements.filter(readsText).map((s) => s.sql)).toEqual([]);
    // Refused from the trace's sum, before its rows are read at all.
    expect(statements.map((statement) => statement.sql).filter((sql) => /FROM [`"](main|public)[`"]\.[`"]Span[`"]/.test(sql))).toEqual([]);

    // Three aliases of 1.2 MB each fit alone, not together: refused, and no text is read either.
    const small = await contentTrace(20);
    let together: GraphQLResponse | undefined;
    const aliases = Array.from({ length: 3 }, (_, index) => `t${index}: trace(id: $id) { spans { id input } }`).join(' ');
    const aliased = await server().statementsOf(async () => {
      together = await server().request(`query($id: ID!) { ${aliases} }`, { id: small });
    });
    expectOverBudget(together!, 'MAX_RESPONSE_BYTES', 3_000_000);
    expect(aliased.filter(readsText).map((statement) => statement.sql)).toEqual([]);

    // 40 spans of 60 KB (2.4 MB) fit the budget, and their text comes in more than one statement.
    const larger = await contentTrace(40);
    let whole: GraphQLResponse | undefined;
    const reads = await server().statementsOf(async () => {
      whole = await server().request(`query($id: ID!) { trace(id: $id) { spans { id input } } }`, { id: larger });
    });
    expect(whole!.errors).toBeUndefined();
    const spans = (whole!.data as { trace: { spans: { id: string; input: { messages: { content: string }[] } }[] } }).trace.spans;
    expect(spans.map((span) => span.input.messages[0]!.content.length)).toEqual(Array(40).fill(CONTENT));
    expect(reads.filter(readsText).length).toBeGreaterThan(1);
  });

  it('one alias (1.2 MB in 20 spans) is served whole, and written in pieces as it is serialized though it has few items', async () => {
    const traceId = await contentTrace(20);
    const response = await fetch(server().url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer() },
      body: JSON.stringify({ query: `query($id: ID!) { trace(id: $id) { spans { id input } } }`, variables: { id: traceId } }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBeNull();
    const text = await response.text();
    expect(text).toBe(JSON.stringify(JSON.parse(text)));
    const spans = JSON.parse(text).data.trace.spans as { id: string; input: { messages: { content: string }[] } }[];
    expect(spans).toHaveLength(20);
    expect(spans.every((span) => span.input.messages[0]!.content.length === CONTENT)).toBe(true);
  });

  it('a subscription\'s budget is per event: an event over it is refused alone and the live view goes on', async () => {
    const traceId = uid('live');
    const client = connect('ws', server().url);
    clients.push(client);
    const live = client.subscribe(`subscription($id: ID!) { traceSpans(traceId: $id, replay: true) { span { id input } } }`, { id: traceId });
    // The write's own answer is only the id: the content would be over the budget there too.
    const write = (id: string, size: number) =>
      server().gql(`mutation($input: [CreateSpanInput!]!) { createSpans(input: $input) { id } }`, {
        input: [{ id, traceId, name: 'live', startTime: at(0), input: { text: 'y'.repeat(size) } }],
      });
    // Replayed if the subscription starts after it, sent live otherwise: either way once, and first.
    await write(`${traceId}-small-1`, 10);
    await live.waitFor(1);
    await write(`${traceId}-big`, 3_100_000);
    await write(`${traceId}-small-2`, 10);
    const results = await live.waitFor(3);
    expect(results[0].data.traceSpans.span.id).toBe(`${traceId}-small-1`);
    expectOverBudget(results[1], 'MAX_RESPONSE_BYTES', 3_000_000);
    expect(results[2].data.traceSpans.span).toEqual({ id: `${traceId}-small-2`, input: { text: 'y'.repeat(10) } });
  });
});

describe('finding 10: list and object literals nested thousands of levels deep', () => {
  const server = useTestServer();

  it('are refused with BAD_USER_INPUT before parsing (no 500, no stack trace in the log); 64-deep JSON in a literal still works', async () => {
    const logged = await errorsLogged(async () => {
      for (const depth of [2_000, 100_000]) {
        const list = '['.repeat(depth) + ']'.repeat(depth);
        const object = '{a:'.repeat(depth) + '1' + '}'.repeat(depth);
        for (const literal of [list, object]) {
          // As a JSON filter (a scalar that takes any value), and where no value may nest at all.
          for (const query of [`{ spans(filter: { meta: ${literal} }) { totalCount } }`, `{ viewer(x: ${literal}) { scopes } }`]) {
            for (const accept of ['application/graphql-response+json', 'application/json']) {
              const { status, body } = await post(server(), query, accept);
              // graphql-http: a request error is 400 with the GraphQL media type, 200 with application/json.
              expect(status, JSON.stringify(body).slice(0, 300)).toBe(accept === 'application/json' ? 200 : 400);
              expect(body.errors).toHaveLength(1);
              expect(body.errors![0]!.extensions?.code).toBe('BAD_USER_INPUT');
              expect(body.errors![0]!.message).toMatch(/nests \d+ levels deep; values may nest at most 80 levels/);
              expectNothingInternal(body);
            }
          }
        }
      }
      // A selection set nested as deep: refused by the depth limit, also before parsing.
      const selections = `{ ${'viewer { '.repeat(20_000)}${'} '.repeat(20_000)}}`;
      const { status, body } = await post(server(), selections);
      expect(status).toBe(400);
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_LIMIT_EXCEEDED', limit: 'MAX_QUERY_DEPTH' });
      expectNothingInternal(body);
    });
    expect(logged.filter((line) => /RangeError|call stack|Error:/.test(line))).toEqual([]);

    // Over WebSocket, where the server parses operations with its own code.
    const client = connect('ws', server().url);
    clients.push(client);
    const deep = client.subscribe(`{ spans(filter: { meta: ${'['.repeat(5_000)}${']'.repeat(5_000)} }) { totalCount } }`);
    const ended = (await deep.ended) as GraphQLResponse['errors'];
    expect(ended?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    // The deepest JSON a field may hold, written as a literal inside an input object: stored and read back.
    const deepest = '['.repeat(64) + '1' + ']'.repeat(64);
    const written = await server().gql(`mutation { createSpan(input: { name: "deepest", output: ${deepest} }) { id output } }`);
    expect(written.createSpan.output).toEqual(JSON.parse(deepest));
  });
});

describe('finding 11: infinities in filters', () => {
  const server = useTestServer();

  it('cost: { gte: -1e400 } is refused with BAD_USER_INPUT instead of silently matching nothing; finite bounds still match', async () => {
    const traceId = uid('finite');
    await server().gql(CREATE_SPANS, { input: [{ id: `${traceId}-root`, traceId, name: 'root', startTime: at(0), cost: 0.5, score: 0.25 }] });
    for (const query of [
      `{ traces(filter: { cost: { gte: -1e400 } }) { edges { node { id } } } }`,
      `{ traces(filter: { cost: { lte: 1e400 } }) { edges { node { id } } } }`,
      `{ spans(filter: { score: { gte: -1${'0'.repeat(400)} } }) { totalCount } }`,
      `{ spans(filter: { durationMs: { lte: 2e308 } }) { totalCount } }`,
    ]) {
      const response = await server().request(query);
      expect(response.data ?? null, query).toBeNull();
      expect(response.errors).toHaveLength(1);
      expect(response.errors![0]!.extensions?.code).toBe('BAD_USER_INPUT');
      expect(response.errors![0]!.message).toMatch(/must be a finite number/);
    }
    // The same bound in a variable (JSON.parse makes it -Infinity too).
    const response = await fetch(server().url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...bearer() },
      body: `{"query":"query($r: FloatRange) { traces(filter: { cost: $r }) { edges { node { id } } } }","variables":{"r":{"gte":-1e400}}}`,
    });
    const body = (await response.json()) as GraphQLResponse;
    expect(body.data ?? null).toBeNull();
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    // A write with the same number is refused with the same words.
    const write = await server().request(`mutation { createSpan(input: { name: "x", cost: -1e400 }) { id } }`);
    expect(write.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(write.errors?.[0]?.message).toMatch(/must be a finite number/);

    const matched = await server().gql(`{ traces(filter: { cost: { gte: -1e300, lte: 1e300 } }) { edges { node { id } } } }`);
    expect(matched.traces.edges.map((edge: { node: { id: string } }) => edge.node.id)).toContain(traceId);
    const spans = await server().gql(`query($t: ID!) { spans(filter: { traceId: $t, score: { gte: -1.5e308 } }) { totalCount } }`, { t: traceId });
    expect(spans.spans.totalCount).toBe(1);
  });
});
