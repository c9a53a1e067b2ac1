/**
 * The playground's security: provider keys encrypted at rest (read off the database itself), the key
 * file, rotation; addresses the server refuses to call; scopes; another project's providers and runs
 * as unknown ids; bad input refused before anything reaches the provider; the per-key run limit;
 * cancellation and the timeout.
 */
import { readFile, stat } from 'node:fs/promises';
import { lookup } from 'node:dns/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlitePathOf } from '../src/db/database-url.js';
import { createTestDatabase, databaseKind, type TestDatabase } from './helpers/databases.js';
import { startFakeOpenAI, type FakeProvider } from './helpers/fake-providers.js';
import { bearer, startTestServer, startTestServerOn, TEST_API_KEY, type TestServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const PROVIDER_KEY = 'sk-live-AT-REST-check-5f0e2d9c8b7a6';
const HEADER_SECRET = 'gateway-token-77a1b2c3d4e5';
const CREATE = `mutation($input: CreateModelProviderInput!) { createModelProvider(input: $input) { id hasApiKey } }`;
const RUN = `mutation($input: PlaygroundRunInput!) { runPlayground(input: $input) { id traceId error output { content } } }`;
const hello = [{ role: 'USER', content: 'Hi' }];

let openai: FakeProvider;
beforeAll(async () => {
  openai = await startFakeOpenAI();
});
afterAll(() => openai?.stop());

/** Everything the database holds on disk (SQLite: the file and its WAL) or in its rows (PostgreSQL), as text. */
async function storedText(db: TestDatabase): Promise<string> {
  if (databaseKind === 'sqlite') {
    const path = sqlitePathOf(db.url);
    const parts = await Promise.all([path, `${path}-wal`].map((file) => readFile(file).catch(() => Buffer.alloc(0))));
    return Buffer.concat(parts).toString('latin1');
  }
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT row_to_json(p)::text AS text FROM "ModelProvider" p`);
    return rows.map((row) => row.text).join('\n');
  } finally {
    await client.end();
  }
}

describe('secrets at rest', () => {
  let db: TestDatabase;
  const keyFile = join(tmpdir(), `spantree-secret-key-test-${process.pid}-${Date.now()}`);
  const env = { PLAYGROUND_ALLOW_PRIVATE_NETWORKS: 'true', SPANTREE_SECRET_KEY_FILE: keyFile };
  let providerId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  it('stores the key and header values only encrypted, under a key generated into a 0600 file at first start', async () => {
    const server = await startTestServerOn(db.url, env);
    try {
      const created = await server.gql(CREATE, {
        input: { name: 'at rest', kind: 'OPENAI_COMPATIBLE', baseUrl: openai.baseUrl, apiKey: PROVIDER_KEY, headers: { 'X-Gateway': HEADER_SECRET } },
      });
      providerId = created.createModelProvider.id;
      expect(created.createModelProvider.hasApiKey).toBe(true);
      const { runPlayground } = await server.gql(RUN, { input: { providerId, model: 'gpt-4o', messages: hello } });
      expect(runPlayground.error).toBeNull();
      expect(openai.modelCalls().at(-1)!.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
      expect(openai.modelCalls().at(-1)!.headers['x-gateway']).toBe(HEADER_SECRET);
    } finally {
      await server.stop();
    }
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const stored = await storedText(db);
    expect(stored).toContain('at rest'); // the row is there, readable...
    expect(stored).not.toContain(PROVIDER_KEY); // ...but not its secrets
    expect(stored).not.toContain(HEADER_SECRET);
    expect(stored).not.toContain(Buffer.from(PROVIDER_KEY).toString('base64').slice(0, 24));
  });

  it('after a rotation, re-encrypts under the new key at start (the old one as SPANTREE_SECRET_KEY_PREVIOUS)', async () => {
    const oldKey = (await readFile(keyFile, 'utf8')).split('\n')[0]!;
    const newKey = Buffer.alloc(32, 7).toString('base64');
    const rotated = await startTestServerOn(db.url, { ...env, SPANTREE_SECRET_KEY: newKey, SPANTREE_SECRET_KEY_PREVIOUS: oldKey });
    try {
      const { runPlayground } = await rotated.gql(RUN, { input: { providerId, model: 'gpt-4o', messages: hello } });
      expect(runPlayground.error).toBeNull();
      expect(openai.modelCalls().at(-1)!.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    } finally {
      await rotated.stop();
    }
    // Re-encrypted: the new key alone now opens it.
    const after = await startTestServerOn(db.url, { ...env, SPANTREE_SECRET_KEY: newKey });
    try {
      const { runPlayground } = await after.gql(RUN, { input: { providerId, model: 'gpt-4o', messages: hello } });
      expect(runPlayground.error).toBeNull();
    } finally {
      await after.stop();
    }
  });

  it('a provider whose secrets no configured key opens gives a clear error, and nothing is sent', async () => {
    const calls = openai.modelCalls().length;
    const lost = await startTestServerOn(db.url, { ...env, SPANTREE_SECRET_KEY: Buffer.alloc(32, 9).toString('base64') });
    try {
      const response = await lost.request(RUN, { input: { providerId, model: 'gpt-4o', messages: hello } });
      expect(response.errors![0]!.extensions!.code).toBe('PROVIDER_ERROR');
      expect(response.errors![0]!.message).toMatch(/cannot be read.*another SPANTREE_SECRET_KEY.*SPANTREE_SECRET_KEY_PREVIOUS/);
      expect(openai.modelCalls().length).toBe(calls);
    } finally {
      await lost.stop();
    }
  });
});

describe('with private networks refused (the default)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  it.each([
    ['http://169.254.169.254/latest', /link-local/],
    ['http://[fd00:ec2::254]/v1', /metadata/],
    ['http://[::ffff:169.254.169.254]/v1', /link-local/],
    ['http://127.0.0.1:11434/v1', /PLAYGROUND_ALLOW_PRIVATE_NETWORKS/],
    ['http://10.1.2.3/v1', /PLAYGROUND_ALLOW_PRIVATE_NETWORKS/],
    ['http://localhost:11434/v1', /PLAYGROUND_ALLOW_PRIVATE_NETWORKS/],
  ])('refuses a provider at %s when it is created', async (baseUrl, reason) => {
    const response = await server.request(CREATE, { input: { name: 'refused', kind: 'OPENAI_COMPATIBLE', baseUrl } });
    expect(response.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.baseUrl' });
    expect(response.errors![0]!.message).toMatch(reason);
  });

  it('refuses a host name that resolves to a loopback address, when the run connects', async () => {
    // The machine's own name resolves to a loopback address here (/etc/hosts), and no check on the
    // name alone could tell: only the lookup at connection time does.
    const name = hostname();
    expect((await lookup(name)).address).toMatch(/^127\./);
    const port = new URL(openai.url).port;
    const { createModelProvider } = await server.gql(CREATE, { input: { name: 'by name', kind: 'OPENAI_COMPATIBLE', baseUrl: `http://${name}:${port}/v1` } });
    const calls = openai.requests.length;
    const response = await server.request(RUN, { input: { providerId: createModelProvider.id, model: 'gpt-4o', messages: hello } });
    expect(response.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect(response.errors![0]!.message).toMatch(/loopback or private network/);
    expect(openai.requests.length).toBe(calls);
  });
});

describe('with private networks allowed', () => {
  let server: TestServer;
  let providerId: string;
  let keyOf: (scopes: string[], projectId?: string) => Promise<string>;

  beforeAll(async () => {
    server = await startTestServer({ PLAYGROUND_ALLOW_PRIVATE_NETWORKS: 'true', PLAYGROUND_MAX_TOKENS: '1000' });
    providerId = (await server.gql(CREATE, { input: { name: 'local', kind: 'OPENAI_COMPATIBLE', baseUrl: openai.baseUrl, apiKey: PROVIDER_KEY } })).createModelProvider.id;
    keyOf = async (scopes, projectId) =>
      (await server.gql(`mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }`, { input: { name: scopes.join('+') || 'none', scopes, projectId } }))
        .createApiKey.key;
  });
  afterAll(() => server?.stop());

  it('still refuses link-local addresses, and a redirect to one', async () => {
    const refused = await server.request(CREATE, { input: { name: 'metadata', kind: 'OPENAI_COMPATIBLE', baseUrl: 'http://169.254.169.254/v1' } });
    expect(refused.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    openai.redirect('http://169.254.169.254/latest/meta-data/iam');
    const redirected = await server.request(RUN, { input: { providerId, model: 'gpt-4o', messages: hello } });
    expect(redirected.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect(redirected.errors![0]!.message).toMatch(/169\.254\.169\.254.*link-local/);
  });

  it('needs PLAYGROUND (or ADMIN) to run, READ to read providers and runs, ADMIN to manage providers', async () => {
    const readOnly = await keyOf(['READ']);
    const playgroundOnly = await keyOf(['PLAYGROUND']);
    const run = { input: { providerId, model: 'gpt-4o', messages: hello } };
    const asRead = await server.request(RUN, run, bearer(readOnly));
    expect(asRead.errors![0]!.extensions).toMatchObject({ code: 'FORBIDDEN', neededScopes: ['PLAYGROUND', 'ADMIN'] });
    const asPlayground = await server.request(RUN, run, bearer(playgroundOnly));
    expect(asPlayground.errors).toBeUndefined();
    expect(asPlayground.data.runPlayground.output.content).toBeTruthy();
    expect((await server.request(`{ playgroundRuns { edges { node { id } } } }`, undefined, bearer(playgroundOnly))).errors![0]!.extensions!.code).toBe('FORBIDDEN');
    expect((await server.request(`{ modelProviders { id } }`, undefined, bearer(readOnly))).errors).toBeUndefined();
    const asReadCreate = await server.request(CREATE, { input: { name: 'x', kind: 'ANTHROPIC' } }, bearer(readOnly));
    expect(asReadCreate.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    const asReadDelete = await server.request(`mutation($id: ID!) { deleteModelProvider(id: $id) }`, { id: providerId }, bearer(readOnly));
    expect(asReadDelete.errors![0]!.extensions!.code).toBe('FORBIDDEN');
  });

  it("another project's providers and runs look like unknown ids", async () => {
    const { gql } = server;
    const { runPlayground: runOfA } = await gql(RUN, { input: { providerId, model: 'gpt-4o', messages: hello, label: 'secret run of A' } });
    const project = (await gql(`mutation { createProject(input: { name: "playground-b" }) { id } }`)).createProject;
    const keyB = await keyOf(['READ', 'PLAYGROUND', 'INGEST'], project.id);
    const asB = (query: string, variables?: Record<string, unknown>) => server.request(query, variables, bearer(keyB));
    const onA = await asB(RUN, { input: { providerId, model: 'gpt-4o', messages: hello } });
    const onMissing = await asB(RUN, { input: { providerId: 'no-such-provider', model: 'gpt-4o', messages: hello } });
    expect(onA.errors![0]!.extensions!.code).toBe('NOT_FOUND');
    expect(onA.errors![0]!.message.replace(providerId, '<id>')).toBe(onMissing.errors![0]!.message.replace('no-such-provider', '<id>'));
    const lists = await asB(`{ modelProviders { id } playgroundRuns { edges { node { id label } } } traces(filter: { origin: [PLAYGROUND] }) { edges { node { id } } } }`);
    expect(lists.data).toEqual({ modelProviders: [], playgroundRuns: { edges: [] }, traces: { edges: [] } });
    expect((await asB(`query($id: ID!) { trace(id: $id) { id } }`, { id: runOfA.traceId })).data).toEqual({ trace: null });
    const sourced = await asB(RUN, { input: { providerId: 'x', model: 'gpt-4o', messages: hello, sourceTraceId: runOfA.traceId } });
    expect(sourced.errors![0]!.extensions!.code).toBe('NOT_FOUND');
  });

  it.each([
    ['10,000 messages', { messages: Array.from({ length: 10_000 }, () => ({ role: 'USER', content: 'x' })) }, /at most 2000 messages/],
    ['a 5 MB message', { messages: [{ role: 'USER', content: 'x'.repeat(5 * 1024 * 1024) }] }, /at most/],
    ['deeply nested tool JSON', { tools: [JSON.parse('{"a":'.repeat(200) + '1' + '}'.repeat(200))] }, /nests deeper/],
    ['maxTokens above PLAYGROUND_MAX_TOKENS', { parameters: { maxTokens: 5000 } }, /at most 1000 \(PLAYGROUND_MAX_TOKENS\)/],
    ['max_tokens through extra', { parameters: { extra: { max_tokens: 100000 } } }, /may not set/],
    ['no messages', { messages: [] }, /at least one message/],
    ['a temperature of 9', { parameters: { temperature: 9 } }, /from 0 to 2/],
  ])('refuses %s with BAD_USER_INPUT, before anything reaches the provider', async (_what, change, message) => {
    const calls = openai.modelCalls().length;
    const response = await server.request(RUN, { input: { providerId, model: 'gpt-4o', messages: hello, ...change } });
    expect(response.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect(response.errors![0]!.message).toMatch(message);
    expect(openai.modelCalls().length).toBe(calls);
  });

  it('allows 4 runs at once per key: the fifth is RATE_LIMITED, and a run is allowed again once one ends', async () => {
    const key = await keyOf(['PLAYGROUND', 'READ']);
    // The requests of this test only: the fake has served the tests before it.
    const from = openai.requests.length;
    const mine = (outcome: string) => openai.requests.slice(from).filter((request) => request.outcome === outcome).length;
    openai.hang({ afterTokens: 1 }, { times: 4 });
    const controllers = Array.from({ length: 4 }, () => new AbortController());
    const running = controllers.map((controller) =>
      fetch(server.url, {
        method: 'POST',
        signal: controller.signal,
        headers: { 'content-type': 'application/json', ...bearer(key) },
        body: JSON.stringify({ query: RUN, variables: { input: { providerId, model: 'gpt-4o', messages: hello } } }),
      }).catch(() => undefined),
    );
    await eventually(async () => mine('open') === 4, 'the four runs to reach the provider and hang there', 60_000);
    const fifth = await server.request(RUN, { input: { providerId, model: 'gpt-4o', messages: hello } }, bearer(key));
    expect(fifth.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 4 });
    // Another key is not held up by this one.
    expect((await server.request(RUN, { input: { providerId, model: 'gpt-4o', messages: hello } }, bearer(TEST_API_KEY))).errors).toBeUndefined();
    // An HTTP client that leaves aborts its provider request at once.
    controllers[0]!.abort();
    await eventually(async () => mine('client-closed') === 1, 'the provider to see the client that left close its request', 60_000);
    // Its slot comes back once the stopped run is recorded.
    let again: any;
    await eventually(
      async () => {
        again = await server.request(RUN, { input: { providerId, model: 'gpt-4o', messages: hello } }, bearer(key));
        if (again.errors) expect(again.errors[0].extensions.code).toBe('RATE_LIMITED');
        return !again.errors;
      },
      'a fifth run to be allowed once one of the four ended',
      60_000,
    );
    for (const controller of controllers) controller.abort();
    await Promise.all(running);
    await eventually(async () => mine('client-closed') === 4, 'every run of this test to be closed at the provider', 60_000);
  });
});

describe('PLAYGROUND_TIMEOUT_MS', () => {
  it('aborts a provider that does not finish in time, with PROVIDER_ERROR saying so', async () => {
    const server = await startTestServer({ PLAYGROUND_ALLOW_PRIVATE_NETWORKS: 'true', PLAYGROUND_TIMEOUT_MS: '300' });
    try {
      const { createModelProvider } = await server.gql(CREATE, { input: { name: 'slow', kind: 'OPENAI_COMPATIBLE', baseUrl: openai.baseUrl } });
      openai.hang({ afterTokens: 1 });
      const response = await server.request(RUN, { input: { providerId: createModelProvider.id, model: 'gpt-4o', messages: hello } });
      expect(response.errors![0]!.extensions!.code).toBe('PROVIDER_ERROR');
      expect(response.errors![0]!.message).toMatch(/did not finish within 300 ms \(PLAYGROUND_TIMEOUT_MS\)/);
      await openai.waitForAbortedRequest(20_000);
    } finally {
      await server.stop();
    }
  });
});
