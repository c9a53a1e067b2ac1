/**
 * Two server processes on one PostgreSQL database, with Redis between them: a subscriber on one sees
 * spans written through the other, in commit order, replay included, while both take writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { post, spawnServer, type ServerProcess } from '../helpers/process.js';
import { connect, untilLive, type SubscriptionClient } from '../helpers/clients.js';
import { at } from '../helpers/operations.js';

let db: TestDatabase;
let a: ServerProcess;
let b: ServerProcess;
const clients: SubscriptionClient[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  const env = { DATABASE_URL: db.url, REDIS_URL: process.env.SPANTREE_TEST_REDIS_URL! };
  a = await spawnServer(env);
  b = await spawnServer(env);
});

afterAll(async () => {
  for (const client of clients) await client.dispose();
  await a?.kill();
  await b?.kill();
  await db?.drop();
});

async function gql(server: ServerProcess, query: string, variables?: Record<string, unknown>) {
  const reply = await post(server.url, query, variables);
  if (reply.errors) throw new Error(JSON.stringify(reply.errors));
  return reply.data;
}

const CREATE = `mutation($input: CreateSpanInput!) { createSpan(input: $input) { id traceId } }`;

describe('two instances with Redis', () => {
  it('a subscriber on one instance receives spans written through the other', async () => {
    const root = (await gql(a, CREATE, { input: { name: 'cross-instance', startTime: at(0) } })).createSpan;
    const client = connect('ws', a.url);
    clients.push(client);
    const tail = client.subscribe(`subscription($t: ID!) { traceSpans(traceId: $t) { op seq span { name } } }`, { t: root.traceId });
    await untilLive(tail, () => gql(b, CREATE, { input: { parentId: root.id, name: 'probe' } }));
    await gql(b, CREATE, { input: { parentId: root.id, name: 'written-on-b' } });
    await tail.until((results) => results.some((result) => result.data.traceSpans.span.name === 'written-on-b'));
    expect(tail.results.find((result) => result.data.traceSpans.span.name === 'written-on-b').data.traceSpans.op).toBe('CREATED');

    const events = client.subscribe(`subscription($t: ID!) { spanEvents(traceId: $t) { kind source } }`, { t: root.traceId });
    const event = `mutation($id: ID!) { submitFeedback(spanId: $id, input: { thumbs: DOWN, source: "via-b" }) { id } }`;
    await untilLive(events, () => gql(b, event, { id: root.id }));
    expect(events.results[0].data.spanEvents).toEqual({ kind: 'FEEDBACK', source: 'via-b' });
    await tail.stop();
    await events.stop();
  });

  it('replay on one instance while both take writes: every span once, live changes in commit order, final state exact', async () => {
    const root = (await gql(a, CREATE, { input: { name: 'busy-cross', startTime: at(0) } })).createSpan;
    let written = 0;
    const writer = async (server: ServerProcess, w: number) => {
      for (let i = 0; i < 25; i++) {
        const span = (await gql(server, CREATE, { input: { parentId: root.id, name: `w${w}-${i}`, startTime: at(1 + i) } })).createSpan;
        written++;
        await gql(server, `mutation($id: ID!) { updateSpan(id: $id, input: { output: "done" }) { id } }`, { id: span.id });
      }
    };
    const writers = Promise.all([writer(a, 0), writer(b, 1), writer(a, 2), writer(b, 3)]);
    while (written < 10) await new Promise((resolve) => setTimeout(resolve, 5));
    const client = connect('ws', b.url);
    clients.push(client);
    const tail = client.subscribe(`subscription($t: ID!) { traceSpans(traceId: $t, replay: true) { op seq replayed span { id output } } }`, { t: root.traceId });
    await writers;
    await gql(a, `mutation($id: ID!) { updateSpan(id: $id, input: { output: "sentinel" }) { id } }`, { id: root.id });
    const deadline = Date.now() + 20_000;
    while (!tail.results.some((result) => result.data?.traceSpans?.span.output === 'sentinel')) {
      await tail.waitFor(tail.results.length + 1, Math.max(1, deadline - Date.now()));
    }
    await tail.stop();
    const received = tail.results.map((result) => result.data.traceSpans);
    const created = received.filter((change: any) => change.op === 'CREATED').map((change: any) => change.span.id);
    expect(new Set(created).size).toBe(created.length);
    const live = received.filter((change: any) => !change.replayed);
    for (let i = 1; i < live.length; i++) expect(live[i].seq).toBeGreaterThan(live[i - 1].seq);
    const { trace } = await gql(b, `query($id: ID!) { trace(id: $id) { spans { id output } } }`, { id: root.traceId });
    const last = new Map(received.map((change: any) => [change.span.id, change.span.output]));
    expect(Object.fromEntries(last)).toEqual(Object.fromEntries(trace.spans.map((span: any) => [span.id, span.output])));
  });
});
