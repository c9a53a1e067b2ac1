/**
 * No key, no data: every entry point (HTTP, SSE, WebSocket) with no key, an unknown key, a revoked
 * key and a key lacking the scope; keys shown once and stored as a hash; revocation at once.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { bearer, TEST_API_KEY, useTestServer } from './helpers/server.js';
import { connect, endedWithError, untilLive } from './helpers/clients.js';
import { rawWs } from './helpers/raw-ws.js';
import { CREATE_SPAN, uid } from './helpers/operations.js';

const server = useTestServer();

const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { id name prefix scopes createdAt lastUsedAt revokedAt } } }`;
const REVOKE_KEY = `mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`;
const TAIL = `subscription($traceId: ID!) { traceSpans(traceId: $traceId) { op span { name } } }`;

async function newKey(scopes: string[], projectId?: string): Promise<{ key: string; id: string }> {
  const { createApiKey } = await server().gql(CREATE_KEY, { input: { name: uid('key'), scopes, projectId } });
  return { key: createApiKey.key, id: createApiKey.apiKey.id };
}

async function newTrace(): Promise<{ id: string; traceId: string }> {
  return (await server().gql(CREATE_SPAN, { input: { name: uid('root') } })).createSpan;
}

/** What a plain HTTP client gets for `query` with these headers: status and body. */
async function http(query: string, headers: Record<string, string>, accept = 'application/json') {
  const response = await fetch(server().url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept, ...headers },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

/** The close code of a graphql-ws connection whose connection_init carries `payload`. */
async function wsCloseCode(payload: Record<string, unknown> | undefined): Promise<number> {
  const socket = new WebSocket(server().url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ type: 'connection_init', payload }));
  return closed;
}


describe('no key, an unknown key, a revoked key', () => {
  it('HTTP: 401 UNAUTHENTICATED, saying how to send a key, before anything runs', async () => {
    const before = await server().countStatements(async () => {
      const none = await http('{ traces { totalCount } }', {});
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer');
      expect(none.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
      expect(none.body.errors[0].message).toMatch(/Authorization: Bearer <key>/);
      expect(none.body.data).toBeUndefined();
    });
    expect(before).toBe(0);
    const unknown = await http('{ traces { totalCount } }', bearer('st_not-a-key-that-exists-anywhere'));
    expect(unknown.status).toBe(401);
    expect(unknown.body.errors[0]).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' }, message: 'This API key is unknown or has been revoked' });
    const malformed = await http('{ traces { totalCount } }', { authorization: `Basic ${TEST_API_KEY}` });
    expect(malformed.status).toBe(401);
  });

  it('SSE: the same 401 for a subscription without a key', async () => {
    const trace = await newTrace();
    const response = await http(`subscription { traceSpans(traceId: "${trace.traceId}") { op } }`, {}, 'text/event-stream');
    expect(response.status).toBe(401);
    expect(response.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('WebSocket: connection_init without a valid key closes the socket with 4403 Forbidden', async () => {
    expect(await wsCloseCode(undefined)).toBe(4403);
    expect(await wsCloseCode({ authorization: 'Bearer st_unknown-key-unknown-key-unknown' })).toBe(4403);
    expect(await wsCloseCode({ authorization: TEST_API_KEY })).toBe(4403); // no "Bearer"
    const ok = await rawWs(server().url, TEST_API_KEY);
    expect(ok.messages.some((message) => message.type === 'connection_ack')).toBe(true);
    ok.socket.close();
  });

  it('a revoked key is refused on every transport', async () => {
    const { key, id } = await newKey(['READ', 'INGEST']);
    const trace = await newTrace();
    expect((await http('{ viewer { scopes } }', bearer(key))).status).toBe(200);
    const revoked = (await server().gql(REVOKE_KEY, { id })).revokeApiKey;
    expect(revoked.revokedAt).not.toBeNull();
    const again = await http('{ viewer { scopes } }', bearer(key));
    expect(again.status).toBe(401);
    expect(again.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await http(`subscription { traceSpans(traceId: "${trace.traceId}") { op } }`, bearer(key), 'text/event-stream')).status).toBe(401);
    expect(await wsCloseCode({ authorization: `Bearer ${key}` })).toBe(4403);
    // Revoking again changes nothing.
    expect((await server().gql(REVOKE_KEY, { id })).revokeApiKey.revokedAt).toBe(revoked.revokedAt);
  });
});

describe('scopes', () => {
  it('an INGEST key writes, gets back what it wrote, and reads nothing else', async () => {
    const { key } = await newKey(['INGEST']);
    const { request } = server();
    const root = await newTrace();
    const written = await request(`mutation { createSpan(input: { parentId: "${root.id}", name: "from-sdk", model: "m" }) { id traceId name model } }`, undefined, bearer(key));
    expect(written.errors).toBeUndefined();
    expect(written.data.createSpan).toMatchObject({ traceId: root.traceId, name: 'from-sdk', model: 'm' });
    // Relations, stored content and what the write derived (a type from the model) are reading.
    for (const selection of ['trace { name }', 'parent { name }', 'input', 'events { id }', 'json', 'type']) {
      const reply = await request(`mutation { createSpan(input: { name: "${uid('x')}" }) { id ${selection} } }`, undefined, bearer(key));
      expect(reply.errors?.[0]?.extensions?.code, selection).toBe('FORBIDDEN');
      expect(reply.errors![0]!.message).toMatch(/needs an API key with the READ scope; this key has INGEST/);
    }
    const feedback = await request(`mutation { submitFeedback(spanId: "${root.id}", input: { thumbs: UP }) { id kind } }`, undefined, bearer(key));
    expect(feedback.data.submitFeedback.kind).toBe('FEEDBACK');
    for (const query of ['{ traces { totalCount } }', `{ trace(id: "${root.traceId}") { id } }`, `{ span(id: "${root.id}") { id } }`, '{ spans { totalCount } }']) {
      const reply = await request(query, undefined, bearer(key));
      expect(reply.errors?.[0]?.extensions?.code, query).toBe('FORBIDDEN');
      expect(Object.values(reply.data ?? {}).every((value) => value === null), query).toBe(true);
    }
    // It may always ask who it is.
    expect((await request('{ viewer { scopes project { id } } }', undefined, bearer(key))).data.viewer).toEqual({ scopes: ['INGEST'], project: { id: 'default' } });
  });

  it('an INGEST key cannot subscribe, over WebSocket or SSE', async () => {
    const { key } = await newKey(['INGEST']);
    const trace = await newTrace();
    for (const transport of ['ws', 'sse'] as const) {
      const client = connect(transport, server().url, key);
      try {
        const error = await endedWithError(client.subscribe(TAIL, { traceId: trace.traceId }));
        expect(error.extensions?.code, transport).toBe('FORBIDDEN');
      } finally {
        await client.dispose();
      }
    }
  });

  it('a READ key reads but does not write or administer', async () => {
    const { key } = await newKey(['READ']);
    const { request } = server();
    const trace = await newTrace();
    expect((await request(`{ trace(id: "${trace.traceId}") { id spanCount } }`, undefined, bearer(key))).data.trace).toEqual({ id: trace.traceId, spanCount: 1 });
    const before = (await server().gql('{ spans(first: 0) { totalCount } }')).spans.totalCount;
    for (const mutation of [
      'mutation { createSpan(input: { name: "nope" }) { id } }',
      `mutation { addSpanMetric(spanId: "${trace.id}", input: { dimension: "d", value: 1 }) { id } }`,
      'mutation { createApiKey(input: { name: "escalate", scopes: [ADMIN] }) { key } }',
      'mutation { setRetentionRule(input: { mode: FULL }) { mode } }',
      `mutation { deleteTrace(id: "${trace.traceId}") }`,
      'mutation { createProject(input: { name: "sneaky" }) { id } }',
    ]) {
      const reply = await request(mutation, undefined, bearer(key));
      expect(reply.errors?.[0]?.extensions?.code, mutation).toBe('FORBIDDEN');
    }
    expect((await request('{ apiKeys { id } }', undefined, bearer(key))).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await server().gql('{ spans(first: 0) { totalCount } }')).spans.totalCount).toBe(before);
    expect((await server().gql(`{ trace(id: "${trace.traceId}") { id } }`)).trace).not.toBeNull();
  });

  it('an ADMIN key administers its organization, and sees all its projects', async () => {
    const { key } = await newKey(['ADMIN']);
    const { request } = server();
    const project = (await request(`mutation { createProject(input: { name: "${uid('team')}" }) { id name } }`, undefined, bearer(key))).data.createProject;
    const created = await request(CREATE_KEY, { input: { projectId: project.id, name: 'for-team', scopes: ['READ'] } }, bearer(key));
    expect(created.data.createApiKey.apiKey.scopes).toEqual(['READ']);
    const listed = (await request(`{ projects { id } }`, undefined, bearer(key))).data.projects.map((p: { id: string }) => p.id);
    expect(listed).toEqual(expect.arrayContaining(['default', project.id]));
    // A READ key of the new project sees only its own project.
    const teamKey = created.data.createApiKey.key;
    expect((await request(`{ projects { id } viewer { project { id } } }`, undefined, bearer(teamKey))).data).toEqual({
      projects: [{ id: project.id }],
      viewer: { project: { id: project.id } },
    });
    // ADMIN alone does not read traces.
    expect((await request('{ traces { totalCount } }', undefined, bearer(key))).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it("an ADMIN key cannot reach another organization's projects or keys", async () => {
    const other = uid('org');
    await server().services.db.write(async (tx) => {
      await tx.organization.create({ data: { id: other, name: 'Another organization' } });
      await tx.project.create({ data: { id: `${other}-project`, organizationId: other, name: 'theirs' } });
    });
    const { request } = server();
    const keyThere = await request(CREATE_KEY, { input: { projectId: `${other}-project`, name: 'x', scopes: ['READ'] } });
    expect(keyThere.errors?.[0]).toMatchObject({ extensions: { code: 'NOT_FOUND' }, message: `input.projectId: project ${other}-project not found` });
    const ghost = await request(CREATE_KEY, { input: { projectId: `${other}-missing`, name: 'x', scopes: ['READ'] } });
    expect(ghost.errors?.[0]?.message).toBe(`input.projectId: project ${other}-missing not found`);
    expect((await request(`{ apiKeys(projectId: "${other}-project") { id } }`)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await request(`mutation { setRetentionRule(input: { projectId: "${other}-project", mode: FULL }) { mode } }`)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await request(`mutation { setRetentionRule(input: { organizationId: "${other}", mode: FULL }) { mode } }`)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await request('{ projects { id } }')).data.projects.map((p: { id: string }) => p.id)).not.toContain(`${other}-project`);
  });
});

describe('keys', () => {
  it('are random, shown once, stored only as a hash and listed by a prefix', async () => {
    const first = await server().gql(CREATE_KEY, { input: { name: 'one', scopes: ['READ', 'READ', 'INGEST'] } });
    const second = await server().gql(CREATE_KEY, { input: { name: 'two', scopes: ['READ'] } });
    const key: string = first.createApiKey.key;
    expect(key).toMatch(/^st_[A-Za-z0-9_-]{32}$/); // 24 random bytes
    expect(second.createApiKey.key).not.toBe(key);
    expect(first.createApiKey.apiKey).toMatchObject({ name: 'one', scopes: ['INGEST', 'READ'], lastUsedAt: null, revokedAt: null });
    const prefix: string = first.createApiKey.apiKey.prefix;
    expect(key.startsWith(prefix) && prefix.length < 16).toBe(true);
    const listed = (await server().gql('{ apiKeys { id prefix name } }')).apiKeys;
    expect(listed.find((listedKey: { id: string }) => listedKey.id === first.createApiKey.apiKey.id)).toEqual({ id: first.createApiKey.apiKey.id, prefix, name: 'one' });
    expect(JSON.stringify(listed)).not.toContain(key);
    const rows = await server().services.db.read.apiKey.findMany();
    expect(JSON.stringify(rows)).not.toContain(key);
    expect(rows.find((row) => row.id === first.createApiKey.apiKey.id)!.keyHash).toBe(createHash('sha256').update(key).digest('hex'));
  });

  it('refuse bad input with codes', async () => {
    const { request } = server();
    for (const [input, field] of [
      [{ name: 'x', scopes: [] }, 'input.scopes'],
      [{ name: '', scopes: ['READ'] }, 'input.name'],
      [{ name: 'x'.repeat(129), scopes: ['READ'] }, 'input.name'],
    ] as const) {
      const reply = await request(CREATE_KEY, { input });
      expect(reply.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    expect((await request(REVOKE_KEY, { id: 'no-such-key' })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('record when they were last used, without a database write on every request', async () => {
    const { key, id } = await newKey(['READ']);
    const lastUsed = async () => (await server().gql('{ apiKeys { id lastUsedAt } }')).apiKeys.find((k: { id: string }) => k.id === id).lastUsedAt;
    expect(await lastUsed()).toBeNull();
    await server().request('{ viewer { scopes } }', undefined, bearer(key));
    // Recorded in the background: wait for it (bounded), never for a fixed time.
    const deadline = Date.now() + 10_000;
    while ((await lastUsed()) === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const recorded = await lastUsed();
    expect(recorded).not.toBeNull();
    const writes: string[] = [];
    const stop = server().onQuery((sql) => {
      if (/UPDATE.*"ApiKey"/is.test(sql)) writes.push(sql);
    });
    try {
      for (let i = 0; i < 20; i++) await server().request('{ viewer { scopes } }', undefined, bearer(key));
    } finally {
      stop();
    }
    expect(writes).toEqual([]);
    expect(await lastUsed()).toBe(recorded);
  });
});

describe('revoking a key', () => {
  it('ends its open subscriptions at once: WebSocket closed with 4403, SSE ended with UNAUTHENTICATED', async () => {
    const { key, id } = await newKey(['READ']);
    const trace = await newTrace();
    const probe = () => server().gql(CREATE_SPAN, { input: { parentId: trace.id, name: uid('probe') } });
    const socket = await rawWs(server().url, key);
    socket.subscribe('1', TAIL, { traceId: trace.traceId });
    const sse = connect('sse', server().url, key);
    const sseTail = sse.subscribe(TAIL, { traceId: trace.traceId });
    // Another key's subscription is not touched.
    const bystander = connect('ws', server().url);
    const bystanderTail = bystander.subscribe(TAIL, { traceId: trace.traceId });
    try {
      // All three are live once they have seen a write.
      await untilLive(sseTail, probe);
      await untilLive(bystanderTail, probe);
      const sawNext = (messages: any[]) => messages.some((message) => message.type === 'next');
      for (let attempt = 0; attempt < 100 && !sawNext(socket.messages); attempt++) {
        await probe();
        await socket.waitFor(sawNext, 200 + attempt * 20).catch(() => {});
      }
      expect(sawNext(socket.messages)).toBe(true);
      await server().gql(REVOKE_KEY, { id });
      expect((await socket.closed).code).toBe(4403);
      const error = await endedWithError(sseTail);
      expect(error.extensions?.code).toBe('UNAUTHENTICATED');
      expect(error.message).toMatch(/revoked/);
      await server().gql(CREATE_SPAN, { input: { parentId: trace.id, name: 'after-revoke' } });
      await bystanderTail.until((results) => results.some((result) => result.data?.traceSpans.span.name === 'after-revoke'));
    } finally {
      await sse.dispose();
      await bystander.dispose();
    }
  });
});

describe('many subscriptions with one key', () => {
  it('all end when it is revoked, and holding them is not mistaken for a leak', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const { key, id } = await newKey(['READ']);
    const trace = await newTrace();
    const client = connect('sse', server().url, key);
    try {
      const tails = Array.from({ length: 30 }, () => client.subscribe(TAIL, { traceId: trace.traceId }));
      for (const tail of tails) await untilLive(tail, () => server().gql(CREATE_SPAN, { input: { parentId: trace.id, name: uid('probe') } }));
      await server().gql(REVOKE_KEY, { id });
      for (const tail of tails) expect((await endedWithError(tail)).extensions?.code).toBe('UNAUTHENTICATED');
    } finally {
      await client.dispose();
      process.off('warning', onWarning);
    }
    expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning').map(String)).toEqual([]);
  });
});
