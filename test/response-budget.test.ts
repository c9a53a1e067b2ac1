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
