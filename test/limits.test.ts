/**
 * docs/limits-and-network.md, "Limits", as a client meets them: a whole span tree fits in one request, while what would
 * make the server work for minutes or hold gigabytes is refused before anything runs, with a code and
 * the setting that refused it; per-key rate limits; no GraphiQL or schema hints when turned off; and
 * no work going on for a client that has left.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bearer, startTestServer, TEST_API_KEY, useTestServer, type GraphQLResponse, type TestServer } from './helpers/server.js';
import { connect, type SubscriptionClient } from './helpers/clients.js';
import { rawWs, type RawWs } from './helpers/raw-ws.js';
import { createTestDatabase, databaseKind, type TestDatabase } from './helpers/databases.js';
import { post, spawnServer, type ServerProcess } from './helpers/process.js';
import { at, CREATE_SPAN, CREATE_SPANS, uid } from './helpers/operations.js';

const clients: SubscriptionClient[] = [];
const sockets: RawWs[] = [];
afterAll(async () => {
  for (const client of clients) await client.dispose();
  for (const socket of sockets) socket.socket.terminate();
});

function wsClient(url: string, key?: string): SubscriptionClient {
  const client = connect('ws', url, key);
  clients.push(client);
  return client;
}

async function openRawWs(url: string, key?: string): Promise<RawWs> {
  const socket = await rawWs(url, key);
  sockets.push(socket);
  return socket;
}

/** Nothing internal reaches a client: no stack, no SQL, no Prisma, no source file. */
function expectNothingInternal(body: unknown) {
  expect(JSON.stringify(body)).not.toMatch(/stack|SELECT |INSERT |prisma|\.ts:\d+|node_modules/i);
}

/** The one error of a refused operation: its code, and for query limits the setting and its value. */
function expectRefused(response: GraphQLResponse, code: string, limit?: { setting: string; max: number }) {
  expect(response.errors, JSON.stringify(response).slice(0, 500)).toHaveLength(1);
  expect(response.data ?? null).toBeNull();
  const [error] = response.errors!;
  expect(error!.extensions?.code).toBe(code);
  if (limit) {
    expect(error!.extensions).toMatchObject({ limit: limit.setting, max: limit.max });
    expect(error!.message).toContain(`${limit.setting}=${limit.max}`);
  }
  expectNothingInternal(response);
  return error!;
}

/** SQL statements `work` sent that touch trace data (key bookkeeping, such as lastUsedAt, is not counted). */
async function traceDataStatements(server: TestServer, work: () => Promise<unknown>): Promise<string[]> {
  const statements: string[] = [];
  const stop = server.onQuery((sql) => {
    if (/\b(Span|Trace|Event|Metric)\b/.test(sql)) statements.push(sql);
  });
  try {
    await work();
  } finally {
    stop();
  }
  return statements;
}

/** A chain of `length` spans, each the only child of the one before: a tree `length` levels deep. */
async function chain(server: TestServer, length: number) {
  const traceId = uid('chain');
  const ids = Array.from({ length }, (_, level) => `${traceId}-level-${level}`);
  await server.gql(CREATE_SPANS, {
    input: ids.map((id, level) => ({ id, traceId, parentId: level ? ids[level - 1] : undefined, name: `level-${level}`, startTime: at(level) })),
  });
  return { traceId, ids };
}

/** `trace(id) { rootSpan { ... } }` with `children` nested `levels` times under the root span. */
function treeQuery(levels: number): string {
  let selection = 'id name';
  for (let level = 0; level < levels; level++) selection = `id name children { ${selection} }`;
  return `query Tree($id: ID!) { trace(id: $id) { id rootSpan { ${selection} } } }`;
}

/** The ids along the tree's only branch, checking that every level has exactly one child but the last. */
function branch(root: any): string[] {
  const ids: string[] = [];
  for (let span = root; span; span = span.children?.[0]) {
    ids.push(span.id);
    if (span.children) expect(span.children.length).toBeLessThanOrEqual(1);
  }
  return ids;
}

async function countAll(server: TestServer) {
  const data = await server.gql(`{ traces(first: 0) { totalCount } spans(first: 0) { totalCount } }`);
  return { traces: data.traces.totalCount, spans: data.spans.totalCount };
}

/** Mistakes graphql-js answers with "Did you mean ...?" (with what was mistyped). */
const MISTAKES: [string, Record<string, unknown> | undefined, string][] = [
  [`{ viewer { scopez } }`, undefined, 'scopez'],
  [`{ traces(frist: 1) { totalCount } }`, undefined, 'frist'],
  [`{ trace(id: "x") { ... on Spann { id } } }`, undefined, 'Spann'],
  [`query($type: [SpanType!]) { spans(first: 1, filter: { type: $type }) { totalCount } }`, { type: ['GENERATON'] }, 'GENERATON'],
];
const SCHEMA_QUERY = `{ __schema { types { name } } }`;

async function page(url: string) {
  const response = await fetch(url, { headers: { accept: 'text/html' } });
  return { status: response.status, type: response.headers.get('content-type') ?? '', body: await response.text() };
}

describe('query limits, at their defaults', () => {
  const server = useTestServer();

  it('by default GraphiQL is served, the schema can be introspected and mistakes get suggestions', async () => {
    const served = await page(server().url);
    expect(served.status).toBe(200);
    expect(served.type).toMatch(/text\/html/);
    expect(served.body).toMatch(/graphiql/i);
    expect((await server().gql(SCHEMA_QUERY)).__schema.types.length).toBeGreaterThan(10);
    for (const [query, variables] of MISTAKES) {
      expect(JSON.stringify((await server().request(query, variables)).errors), query).toMatch(/Did you mean/);
    }
  });

  it('a 25-level span tree comes back whole in one request, over HTTP and over WebSocket', async () => {
    const { traceId, ids } = await chain(server(), 25);
    // rootSpan, then children 25 times: the 25th span's (empty) children are selected too, so the
    // answer shows the tree ends there rather than being cut off.
    const query = treeQuery(25);
    const data = await server().gql(query, { id: traceId });
    expect(branch(data.trace.rootSpan)).toEqual(ids);
    let last = data.trace.rootSpan;
    while (last.children?.length) last = last.children[0];
    expect(last).toEqual({ id: ids[24], name: 'level-24', children: [] });

    const overWs = await wsClient(server().url).subscribe(query, { id: traceId }).waitFor(1);
    expect(overWs[0]).toEqual({ data });
  });

  it('a 200-level children query is refused by MAX_QUERY_DEPTH before anything runs, also when fragments hide its depth', async () => {
    const { traceId } = await chain(server(), 3);
    let response!: GraphQLResponse;
    const statements = await traceDataStatements(server(), async () => {
      response = await server().request(treeQuery(200), { id: traceId });
    });
    const error = expectRefused(response, 'QUERY_LIMIT_EXCEEDED', { setting: 'MAX_QUERY_DEPTH', max: 40 });
    expect(error.message).toMatch(/depth/i);
    expect(statements).toEqual([]);

    // The same depth spread over 200 fragments, each nesting the next.
    const fragments = Array.from({ length: 200 }, (_, level) =>
      level < 199 ? `fragment L${level} on Span { id children { ...L${level + 1} } }` : `fragment L${level} on Span { id }`,
    );
    const hidden = `query Hidden($id: ID!) { trace(id: $id) { rootSpan { ...L0 } } } ${fragments.join(' ')}`;
    expectRefused(await server().request(hidden, { id: traceId }), 'QUERY_LIMIT_EXCEEDED', { setting: 'MAX_QUERY_DEPTH', max: 40 });

    // Over WebSocket too, where operations are parsed and validated by the server's own code.
    const overWs = wsClient(server().url).subscribe(treeQuery(200), { id: traceId });
    const ended = (await overWs.ended) as GraphQLResponse['errors'];
    expect(ended?.[0]?.extensions).toMatchObject({ code: 'QUERY_LIMIT_EXCEEDED', limit: 'MAX_QUERY_DEPTH', max: 40 });
  });

  it('thousands of aliases of traces(first: 500) are refused by MAX_ALIASES; 50 aliases are served', async () => {
    const aliases = Array.from({ length: 1500 }, (_, i) => `t${i}: traces(first: 500) { totalCount }`).join(' ');
    let response!: GraphQLResponse;
    const statements = await traceDataStatements(server(), async () => {
      response = await server().request(`{ ${aliases} }`);
    });
    expectRefused(response, 'QUERY_LIMIT_EXCEEDED', { setting: 'MAX_ALIASES', max: 50 });
    expect(statements).toEqual([]);

    const cheap = (count: number) => `{ ${Array.from({ length: count }, (_, i) => `v${i}: viewer { scopes }`).join(' ')} }`;
    const fifty = await server().gql(cheap(50));
    expect(Object.keys(fifty)).toHaveLength(50);
    expectRefused(await server().request(cheap(51)), 'QUERY_LIMIT_EXCEEDED', { setting: 'MAX_ALIASES', max: 50 });
  });

  it('a huge document is refused by MAX_TOKENS while it is parsed, over HTTP and over WebSocket', async () => {
    const huge = `{ viewer { ${'scopes '.repeat(25_000)} } }`;
    let response!: GraphQLResponse;
    const statements = await traceDataStatements(server(), async () => {
      response = await server().request(huge);
    });
    expectRefused(response, 'QUERY_LIMIT_EXCEEDED', { setting: 'MAX_TOKENS', max: 20_000 });
    expect(statements).toEqual([]);

    const ended = (await wsClient(server().url).subscribe(huge).ended) as GraphQLResponse['errors'];
    expect(ended?.[0]?.extensions).toMatchObject({ code: 'QUERY_LIMIT_EXCEEDED', limit: 'MAX_TOKENS', max: 20_000 });
    // The server goes on serving.
    expect((await server().gql(`{ viewer { scopes } }`)).viewer.scopes).toContain('READ');
  });

  it('more than 50 directives are refused by MAX_DIRECTIVES', async () => {
    const directives = (count: number) => `{ viewer { ${'scopes @include(if: true) '.repeat(count)} } }`;
    expect((await server().gql(directives(50))).viewer.scopes).toContain('READ');
    expectRefused(await server().request(directives(51)), 'QUERY_LIMIT_EXCEEDED', { setting: 'MAX_DIRECTIVES', max: 50 });
  });

  it('list fan-out is refused by MAX_COMPLEXITY, with the page size from the variables; explorer rows are served', async () => {
    await server().gql(CREATE_SPAN, { input: { name: 'explorer-row', startTime: at(0) } });
    const fanOut = `{ traces(first: 500) { edges { node { spans { events { id } } } } } }`;
    let response!: GraphQLResponse;
    const statements = await traceDataStatements(server(), async () => {
      response = await server().request(fanOut);
    });
    const error = expectRefused(response, 'QUERY_LIMIT_EXCEEDED', { setting: 'MAX_COMPLEXITY', max: 20_000 });
    expect(error.message).toMatch(/estimated cost is \d+/);
    expect(statements).toEqual([]);

    const explorer = `{ traces(first: 50) { totalCount edges { node {
      id name status startTime durationMs summary cost totalTokens inputPreview outputPreview } } } }`;
    const rows = await server().gql(explorer);
    expect(rows.traces.edges.length).toBeGreaterThan(0);
    expect(rows.traces.edges.length).toBeLessThanOrEqual(50);

    // Cost is worked out with each request's own variables: the same document is served with a small
    // page, refused with a large one, and served again with a small one.
    const paged = `query Paged($n: Int) { traces(first: $n) { edges { node { spans { events { id } } } } } }`;
    expect((await server().request(paged, { n: 1 })).errors).toBeUndefined();
    expectRefused(await server().request(paged, { n: 500 }), 'QUERY_LIMIT_EXCEEDED', { setting: 'MAX_COMPLEXITY', max: 20_000 });
    expect((await server().request(paged, { n: 1 })).errors).toBeUndefined();

    const [overWs] = await wsClient(server().url).subscribe(fanOut).waitFor(1);
    expect(overWs.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_LIMIT_EXCEEDED', limit: 'MAX_COMPLEXITY', max: 20_000 });
    expect(overWs.data ?? null).toBeNull();
  });

  it('a page larger than 500 is refused with BAD_USER_INPUT', async () => {
    for (const field of ['traces', 'spans']) {
      const error = expectRefused(await server().request(`{ ${field}(first: 100000) { totalCount } }`), 'BAD_USER_INPUT');
      expect(error.message).toMatch(/first: must be a whole number from 0 to 500/);
      expect((await server().gql(`{ ${field}(first: 500) { totalCount } }`))[field].totalCount).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('MAX_BODY_BYTES', () => {
  const MAX = 65_536;
  const server = useTestServer({ MAX_BODY_BYTES: String(MAX) });

  function createSpanBody(id: string, inputLength: number) {
    return JSON.stringify({ query: CREATE_SPAN, variables: { input: { id, name: 'sized', input: 'x'.repeat(inputLength) } } });
  }

  async function stored(id: string) {
    return (await server().gql(`query($id: ID!) { span(id: $id) { id } }`, { id })).span;
  }

  it('a body over the cap gets HTTP 413 and writes nothing, sent whole or streamed; one under it is served', async () => {
    const before = await countAll(server());
    const whole = uid('too-big');
    const response = await fetch(server().url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer() },
      body: createSpanBody(whole, MAX + 10_000),
    });
    expect(response.status).toBe(413);
    const body = await response.json();
    expect(body.errors?.[0]?.extensions?.code).toBe('REQUEST_ENTITY_TOO_LARGE');
    expect(body.errors[0].message).toMatch(new RegExp(`the limit is ${MAX} \\(setting MAX_BODY_BYTES\\)$`));
    expectNothingInternal(body);

    // Without a Content-Length, the body is counted as it arrives.
    const streamed = uid('too-big-streamed');
    const bytes = new TextEncoder().encode(createSpanBody(streamed, MAX + 10_000));
    const chunked = await fetch(server().url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer() },
      body: new ReadableStream({
        start(controller) {
          for (let offset = 0; offset < bytes.length; offset += 8192) controller.enqueue(bytes.slice(offset, offset + 8192));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    await chunked.body?.cancel();

    expect(await stored(whole)).toBeNull();
    expect(await stored(streamed)).toBeNull();
    expect(await countAll(server())).toEqual(before);

    const fits = uid('fits');
    const served = await fetch(server().url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer() },
      body: createSpanBody(fits, MAX - 10_000),
    });
    expect(served.status).toBe(200);
    expect((await served.json()).data.createSpan.id).toBe(fits);
  });

  it('a WebSocket message over the cap closes the socket with 1009 and writes nothing; one under it is served', async () => {
    const before = await countAll(server());
    const tooBig = uid('ws-too-big');
    const socket = await openRawWs(server().url);
    socket.subscribe('big', CREATE_SPAN, { input: { id: tooBig, name: 'sized', input: 'x'.repeat(MAX + 10_000) } });
    expect((await socket.closed).code).toBe(1009);
    expect(await stored(tooBig)).toBeNull();
    expect(await countAll(server())).toEqual(before);

    const fits = uid('ws-fits');
    const other = await openRawWs(server().url);
    other.subscribe('fits', CREATE_SPAN, { input: { id: fits, name: 'sized', input: 'x'.repeat(MAX - 10_000) } });
    await other.waitFor((messages) => messages.some((message) => message.id === 'fits' && message.type === 'complete'));
    expect(other.messages.find((message) => message.id === 'fits' && message.type === 'next')?.payload.data.createSpan.id).toBe(fits);
  });
});

describe('rate limits per API key', () => {
  const LIMIT = 10;
  const server = useTestServer({ RATE_LIMIT_PER_SECOND: String(LIMIT) });
  const keys: Record<'burst' | 'other' | 'ws', string> = { burst: '', other: '', ws: '' };

  beforeAll(async () => {
    for (const name of Object.keys(keys) as (keyof typeof keys)[]) {
      const { createApiKey } = await server().gql(
        `mutation($name: String!) { createApiKey(input: { name: $name, scopes: [READ, INGEST] }) { key } }`,
        { name: uid(name) },
      );
      keys[name] = createApiKey.key;
    }
  });

  async function viewer(key: string) {
    const response = await fetch(server().url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(key) },
      body: JSON.stringify({ query: '{ viewer { scopes } }' }),
    });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.json() };
  }

  it(`requests beyond ${LIMIT} a second get HTTP 429 with Retry-After and RATE_LIMITED; another key is unaffected`, async () => {
    // Bursts of 4 x LIMIT at once, until one is refused (the first is, unless the machine is so slow
    // that a burst spreads over four seconds).
    const started = Date.now();
    const answers: Awaited<ReturnType<typeof viewer>>[] = [];
    for (let burst = 0; burst < 10 && !answers.some((answer) => answer.status === 429); burst++) {
      answers.push(...(await Promise.all(Array.from({ length: 4 * LIMIT }, () => viewer(keys.burst)))));
    }
    // Windows are whole seconds: however slow the machine, at most LIMIT answers per second it took.
    const windows = Math.floor(Date.now() / 1000) - Math.floor(started / 1000) + 1;
    const served = answers.filter((answer) => answer.status === 200);
    const refused = answers.filter((answer) => answer.status === 429);
    expect(served.length + refused.length).toBe(answers.length);
    expect(served.length).toBeGreaterThan(0);
    expect(served.length).toBeLessThanOrEqual(LIMIT * windows);
    expect(refused.length).toBeGreaterThan(0);
    for (const answer of refused) {
      expect(answer.retryAfter).toMatch(/^[1-9]\d*$/);
      expect(answer.body.errors).toHaveLength(1);
      expect(answer.body.errors[0].extensions.code).toBe('RATE_LIMITED');
      expect(answer.body.errors[0].message).toMatch(/rate limit/);
      expectNothingInternal(answer.body);
    }
    for (const answer of served) expect(answer.body.data.viewer.scopes).toEqual(['INGEST', 'READ']);

    // Another key has a budget of its own.
    const other = await viewer(keys.other);
    expect(other.status).toBe(200);
    expect(other.body.data.viewer.scopes).toEqual(['INGEST', 'READ']);

    // And the refused key is served again in a later window.
    const deadline = Date.now() + 20_000;
    let again = await viewer(keys.burst);
    while (again.status === 429 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      again = await viewer(keys.burst);
    }
    expect(again.status).toBe(200);
  });

  it('over WebSocket, operations beyond the limit get RATE_LIMITED and the connection goes on', async () => {
    const socket = await openRawWs(server().url, keys.ws);
    const settled = (id: string) => socket.messages.some((message) => message.id === id && (message.type === 'complete' || message.type === 'error'));
    const started = Date.now();
    // Bursts of 4 x LIMIT operations at once, until one is refused.
    for (let burst = 0; burst < 10 && !socket.messages.some((message) => message.type === 'error'); burst++) {
      const ids = Array.from({ length: 4 * LIMIT }, (_, i) => `op-${burst}-${i}`);
      for (const id of ids) socket.subscribe(id, '{ viewer { scopes } }');
      await socket.waitFor(() => ids.every(settled));
    }
    const windows = Math.floor(Date.now() / 1000) - Math.floor(started / 1000) + 1;
    const errors = socket.messages.filter((message) => message.type === 'error');
    const served = socket.messages.filter((message) => message.type === 'next');
    expect(errors.length).toBeGreaterThan(0);
    expect(served.length).toBeGreaterThan(0);
    expect(served.length).toBeLessThanOrEqual(LIMIT * windows);
    for (const error of errors) {
      expect(error.payload[0].extensions.code).toBe('RATE_LIMITED');
      expectNothingInternal(error.payload);
    }
    expect(socket.socket.readyState).toBe(socket.socket.OPEN);
  });
});

const redisUrl = process.env.SPANTREE_TEST_REDIS_URL;
// Only with a Redis server to share (SPANTREE_TEST_REDIS_URL), and on PostgreSQL, the database several
// instances serve side by side (docs/postgresql.md); nothing is registered otherwise.
if (redisUrl && databaseKind === 'postgresql') {
  describe('rate limits shared through Redis', () => {
    const LIMIT = 5;
    let db: TestDatabase;
    const servers: ServerProcess[] = [];

    beforeAll(async () => {
      db = await createTestDatabase();
      for (let i = 0; i < 2; i++) {
        servers.push(await spawnServer({ DATABASE_URL: db.url, REDIS_URL: redisUrl, RATE_LIMIT_PER_SECOND: String(LIMIT) }));
      }
    });
    afterAll(async () => {
      for (const server of servers) await server.kill('SIGTERM');
      await db?.drop();
    });

    /** A new key, made through the first server (retrying while the suite's own key is over its limit). */
    async function newKey(): Promise<string> {
      for (let attempt = 0; attempt < 100; attempt++) {
        const reply = await post(servers[0]!.url, `mutation($name: String!) { createApiKey(input: { name: $name, scopes: [READ] }) { key } }`, {
          name: uid('shared'),
        });
        if (reply.data?.createApiKey) return reply.data.createApiKey.key;
        expect(reply.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error('could not create a key');
    }

    async function status(url: string, key: string): Promise<number> {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(key) },
        body: JSON.stringify({ query: '{ viewer { scopes } }' }),
      });
      await response.arrayBuffer();
      return response.status;
    }

    it(`two server processes with REDIS_URL give one key ${LIMIT} operations a second between them`, async () => {
      // Each round sends LIMIT + 1 requests to each server at once, with a fresh key. A round that
      // fell within one second shows the budget: shared, exactly LIMIT are served; counted per
      // server, 2 x LIMIT would be. A round spanning two windows proves nothing and is repeated.
      for (let round = 0; round < 30; round++) {
        const key = await newKey();
        const started = Date.now();
        const statuses = await Promise.all(
          Array.from({ length: 2 * (LIMIT + 1) }, async (_, i) => ({ server: i % 2, status: await status(servers[i % 2]!.url, key) })),
        );
        if (Math.floor(started / 1000) !== Math.floor(Date.now() / 1000)) continue;
        expect(statuses.every(({ status: code }) => code === 200 || code === 429)).toBe(true);
        expect(statuses.filter(({ status: code }) => code === 200)).toHaveLength(LIMIT);
        for (const server of [0, 1]) expect(statuses.some((answer) => answer.server === server && answer.status === 429)).toBe(true);
        return;
      }
      throw new Error('no round of requests fell within one second');
    });
  });
}

describe('GRAPHIQL=false and INTROSPECTION=false', () => {
  const server = useTestServer({ GRAPHIQL: 'false', INTROSPECTION: 'false' });

  it('GRAPHIQL=false serves no GraphiQL page', async () => {
    const off = await page(server().url);
    expect(off.type).not.toMatch(/text\/html/);
    expect(off.body).not.toMatch(/<html|graphiql/i);
    expectNothingInternal(off.body);
  });

  it('INTROSPECTION=false refuses __schema and __type', async () => {
    for (const query of [SCHEMA_QUERY, `{ __type(name: "Span") { fields { name } } }`]) {
      const response = await server().request(query);
      expect(response.data ?? null).toBeNull();
      expect(response.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(response.errors?.[0]?.message).toMatch(/introspection/i);
      expect(JSON.stringify(response)).not.toMatch(/"fields"|"types"|CreateSpanInput/);
    }
  });

  it('INTROSPECTION=false: no error suggests a name, over HTTP or WebSocket', async () => {
    for (const [query, variables, mistake] of MISTAKES) {
      const response = await server().request(query, variables);
      expect(response.errors?.length, query).toBeGreaterThan(0);
      expect(response.errors?.[0]?.extensions?.code).toBeTruthy();
      // The error is still about the mistake, without the name it would have suggested.
      expect(JSON.stringify(response.errors)).toContain(mistake);
      expect(JSON.stringify(response)).not.toMatch(/Did you mean|"scopes"|"first"|"Span"|GENERATION/);
    }
    const overWs = (await wsClient(server().url).subscribe(`{ viewer { scopez } }`).ended) as GraphQLResponse['errors'];
    expect(overWs?.[0]?.message).toMatch(/scopez/);
    expect(JSON.stringify(overWs)).not.toMatch(/Did you mean/);
  });
});

describe('work stops when the client goes away', () => {
  const FIELDS = 40;
  /** One mutation of FIELDS createSpan fields, which GraphQL runs one after another. */
  const manySpans = (prefix: string) => {
    const fields = Array.from({ length: FIELDS }, (_, i) => `s${i}: createSpan(input: { id: "${prefix}-${i}", name: "many-${i}" }) { id }`);
    return `mutation Many { ${fields.join(' ')} }`;
  };
  const isSpanInsert = (sql: string) => /^\s*INSERT INTO\s+\S*Span[`"]?\s*\(/i.test(sql);

  /**
   * Statements (and span inserts) a mutation sends when its client leaves at the first statement;
   * `leave` is how it leaves. Counted until the server has stopped, which waits for every operation
   * still in flight: nothing can run after.
   */
  async function leavingAtFirstStatement(server: TestServer, send: (query: string) => Promise<{ leave(): void; gone: Promise<unknown> }>) {
    let statements = 0;
    let inserts = 0;
    let leave: (() => void) | undefined;
    let left = false;
    const stop = server.onQuery((sql) => {
      statements++;
      if (isSpanInsert(sql)) inserts++;
      // The first statement on trace data is the mutation's (key bookkeeping may come before it).
      if (leave && !left && /\b(Span|Trace)\b/.test(sql)) {
        left = true;
        leave();
      }
    });
    try {
      const client = await send(manySpans(uid('left')));
      leave = client.leave;
      await client.gone;
      // SHUTDOWN_TIMEOUT_MS is far beyond the test's timeout: an operation that stayed counted as in
      // flight would hold this until the test fails.
      await server.stop();
    } finally {
      stop();
    }
    expect(left).toBe(true);
    return { statements, inserts };
  }

  /** What the mutation costs when its client stays: every field runs. */
  async function whole(server: TestServer) {
    let inserts = 0;
    let data: any;
    const statements = await server.countStatements(async () => {
      const stop = server.onQuery((sql) => void (isSpanInsert(sql) && inserts++));
      try {
        data = await server.gql(manySpans(uid('stayed')));
      } finally {
        stop();
      }
    });
    expect(Object.keys(data)).toHaveLength(FIELDS);
    expect(inserts).toBe(FIELDS);
    return statements;
  }

  it('an aborted HTTP request runs none of the mutation fields it had not reached', async () => {
    const server = await startTestServer({ SHUTDOWN_TIMEOUT_MS: '600000' });
    const full = await whole(server);
    const controller = new AbortController();
    const left = await leavingAtFirstStatement(server, async (query) => {
      const gone = fetch(server.url, {
        method: 'POST',
        signal: controller.signal,
        headers: { 'content-type': 'application/json', ...bearer() },
        body: JSON.stringify({ query }),
      }).then(
        () => 'answered',
        (error: Error) => error.name,
      );
      return { leave: () => controller.abort(), gone };
    });
    expect(left.inserts).toBeGreaterThanOrEqual(1);
    expect(left.inserts).toBeLessThan(FIELDS / 4);
    expect(left.statements).toBeLessThan(full / 4);
  });

  it('a WebSocket that closes runs none of the mutation fields it had not reached, and that is no server error', async () => {
    const server = await startTestServer({ SHUTDOWN_TIMEOUT_MS: '600000' });
    const full = await whole(server);
    const logged = vi.spyOn(console, 'error');
    try {
      const left = await leavingAtFirstStatement(server, async (query) => {
        const socket = await rawWs(server.url, TEST_API_KEY);
        socket.subscribe('many', query);
        return { leave: () => socket.socket.terminate(), gone: socket.closed };
      });
      expect(left.inserts).toBeGreaterThanOrEqual(1);
      expect(left.inserts).toBeLessThan(FIELDS / 4);
      expect(left.statements).toBeLessThan(full / 4);
      expect(logged.mock.calls.map((args) => args.map(String).join(' '))).not.toContainEqual(expect.stringMatching(/Internal error|Abort/));
    } finally {
      logged.mockRestore();
    }
  });

  it('operations that have finished on a long-lived WebSocket stay attached to nothing', async () => {
    // Node warns (MaxListenersExceededWarning) once more than 10 listeners wait on one signal: a
    // finished operation still listening for its socket to close would be kept, with its whole
    // context, for as long as the socket stays open.
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const server = await startTestServer();
    try {
      const socket = await openRawWs(server.url);
      for (let i = 0; i < 30; i++) {
        socket.subscribe(`q${i}`, '{ viewer { scopes } }');
        await socket.waitFor((messages) => messages.some((message) => message.id === `q${i}` && message.type === 'complete'));
      }
      expect(socket.messages.filter((message) => message.type === 'next')).toHaveLength(30);
    } finally {
      await server.stop();
      process.off('warning', onWarning);
    }
    expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning').map(String)).toEqual([]);
  });
});
