/**
 * Keys and rules across instances (PostgreSQL + Redis): a revocation through one instance stops the
 * key on the other and ends its subscriptions there; a rule changed through one governs writes through
 * the other; instances started together on an empty database create one first key; several
 * instances sweep at once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { post, spawnServer, type ServerProcess } from '../helpers/process.js';
import { uid } from '../helpers/operations.js';
import { eventually } from '../helpers/wait.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Two instances on one new database with Redis between them; the key re-check is far away, so only the message can explain a prompt revocation. */
async function twoInstances(env: Record<string, string> = {}): Promise<[ServerProcess, ServerProcess, TestDatabase]> {
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  const shared = { DATABASE_URL: db.url, REDIS_URL: process.env.SPANTREE_TEST_REDIS_URL!, API_KEY_RECHECK_MS: '600000', ...env };
  const a = await spawnServer(shared);
  const b = await spawnServer(shared);
  cleanups.push(() => a.kill(), () => b.kill());
  return [a, b, db];
}

async function as(url: string, key: string, query: string, variables?: Record<string, unknown>) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: await response.json() };
}

describe('across instances', () => {
  it('a key revoked through one instance is refused by the other, and its subscriptions there end', async () => {
    const [a, b] = await twoInstances();
    const created = (await post(a.url, `mutation { createApiKey(input: { name: "k", scopes: [READ, INGEST] }) { key apiKey { id } } }`)).data.createApiKey;
    const root = (await as(b.url, created.key, `mutation { createSpan(input: { name: "r" }) { id traceId } }`)).body.data.createSpan;
    // B knows the key (cached) and holds a subscription opened with it.
    const socket = new WebSocket(b.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    const messages: any[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${created.key}` } }));
    await eventually(async () => messages.some((message) => message.type === 'connection_ack'), 'connection_ack');
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: `subscription { traceSpans(traceId: "${root.traceId}") { op } }` } }));
    await eventually(async () => {
      await as(a.url, created.key, `mutation { createSpan(input: { parentId: "${root.id}", name: "${uid('probe')}" }) { id } }`);
      return messages.some((message) => message.type === 'next');
    }, 'the subscription on B to go live');

    await post(a.url, `mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: created.apiKey.id });
    expect(await closed).toBe(4403);
    await eventually(async () => (await as(b.url, created.key, '{ viewer { scopes } }')).status === 401, 'B to refuse the key');
    expect((await as(a.url, created.key, '{ viewer { scopes } }')).status).toBe(401);
  });

  it('a rule changed through one instance governs writes through the other', async () => {
    const [a, b] = await twoInstances();
    // Both start keeping content (the test servers' setting); B has the rule cached from its writes.
    const kept = (await post(b.url, `mutation { createSpan(input: { name: "before", output: "visible" }) { output } }`)).data.createSpan;
    expect(kept.output).toBe('visible');
    await post(a.url, `mutation { setRetentionRule(input: { mode: METADATA_ONLY }) { mode } }`);
    await eventually(async () => (await post(b.url, `mutation { createSpan(input: { name: "after", output: "secret" }) { output } }`)).data.createSpan.output === null, 'B to apply the new rule');
    const stored = await post(a.url, `{ spans(filter: { name: "after" }) { edges { node { output retained } } } }`);
    expect(stored.data.spans.edges.map((edge: any) => edge.node).at(-1)).toEqual({ output: null, retained: false });
  });

  it('instances started together on an empty database create exactly one first key', async () => {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const env = { DATABASE_URL: db.url, SPANTREE_INIT_API_KEY: '' };
    const [one, two] = await Promise.all([spawnServer(env, { retention: 'METADATA_ONLY' }), spawnServer(env, { retention: 'METADATA_ONLY' })]);
    cleanups.push(() => one.kill(), () => two.kill());
    const printed = [one, two].map((server) => /\n\s+(st_[A-Za-z0-9_-]{32})\n/.exec(server.output())?.[1]).filter(Boolean);
    expect(printed).toHaveLength(1);
    const keys = await as(two.url, printed[0]!, '{ apiKeys { name } }');
    expect(keys.body.data.apiKeys).toEqual([{ name: 'first start' }]);
  });

  it('several instances sweep at once, and every expired trace goes, with no sweep failing', async () => {
    const [a, b] = await twoInstances({ RETENTION_SWEEP_MS: '50' });
    const old = new Date(Date.now() - 50 * 24 * 60 * 60 * 1000).toISOString();
    const spans = Array.from({ length: 300 }, (_, i) => ({ traceId: `old-${i % 30}`, name: `s${i}`, startTime: old, output: 'x' }));
    for (let i = 0; i < spans.length; i += 100) {
      const reply = await post(a.url, `mutation($input: [CreateSpanInput!]!) { createSpans(input: $input) { id } }`, { input: spans.slice(i, i + 100) });
      expect(reply.errors).toBeUndefined();
    }
    const fresh = (await post(b.url, `mutation { createSpan(input: { name: "fresh", output: "x" }) { traceId } }`)).data.createSpan;
    await post(a.url, `mutation { setRetentionRule(input: { mode: FULL, traceTtlDays: 30 }) { mode } }`);
    await eventually(async () => (await post(b.url, `{ traces(first: 0) { totalCount } }`)).data.traces.totalCount === 1, 'every old trace to be deleted');
    expect((await post(a.url, `{ traces { edges { node { id } } } spans(first: 0) { totalCount } }`)).data).toEqual({
      traces: { edges: [{ node: { id: fresh.traceId } }] },
      spans: { totalCount: 1 },
    });
    for (const server of [a, b]) expect(server.output()).not.toMatch(/Retention sweep failed|Unexpected|ERR/);
  });
});
