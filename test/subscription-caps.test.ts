/**
 * Caps on open subscriptions (issue 22, finding 8: one socket held 16,000): per connection
 * (MAX_SUBSCRIPTIONS_PER_CONNECTION) and per API key on the instance (MAX_SUBSCRIPTIONS_PER_KEY),
 * each refused with QUERY_LIMIT_EXCEEDED while the socket and the other subscriptions go on; a
 * subscription that ends, however it ends, gives its slot back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { useTestServer } from './helpers/server.js';
import { connect, endedWithError, type Subscription, type SubscriptionClient } from './helpers/clients.js';
import { at, CREATE_SPAN, uid } from './helpers/operations.js';

const PER_CONNECTION = 3;
const PER_KEY = 5;
const server = useTestServer({ MAX_SUBSCRIPTIONS_PER_CONNECTION: String(PER_CONNECTION), MAX_SUBSCRIPTIONS_PER_KEY: String(PER_KEY) });

const TAIL = `subscription($traceId: ID!) { traceSpans(traceId: $traceId, replay: true) { op span { id name } } }`;

let clients: SubscriptionClient[] = [];
function client(transport: 'ws' | 'sse', key?: string): SubscriptionClient {
  const opened = connect(transport, server().url, key);
  clients.push(opened);
  return opened;
}
afterEach(async () => {
  for (const opened of clients) await opened.dispose();
  clients = [];
  // Every slot comes back once the clients have gone: none leaks into the next test.
  await heldBecomes(0);
});

/** Subscriptions held open on the server now, over every key. */
const held = () => server().services.subscriptionSlots.held;

/** Waits (generously) for the server to hold `expected` subscriptions: a client's stop reaches it asynchronously. */
async function heldBecomes(expected: number) {
  const deadline = Date.now() + 20_000;
  while (held() !== expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(held()).toBe(expected);
}

async function newTrace(): Promise<{ id: string; traceId: string }> {
  return (await server().gql(CREATE_SPAN, { input: { id: uid('root'), name: 'capped', startTime: at(0) } })).createSpan;
}

/** A tail of `traceId` on `on`, once live (its replay of the root has arrived). */
async function liveTail(on: SubscriptionClient, traceId: string): Promise<Subscription> {
  const tail = on.subscribe(TAIL, { traceId });
  await tail.waitFor(1);
  return tail;
}

async function expectRefused(subscription: Subscription, setting: string, max: number) {
  const error = await endedWithError(subscription);
  expect(error.extensions).toMatchObject({ code: 'QUERY_LIMIT_EXCEEDED', limit: setting, max });
  expect(error.message).toContain(`${setting}=${max}`);
  expect(subscription.results.filter((result) => result.data)).toEqual([]);
}

async function newKey(): Promise<string> {
  const { createApiKey } = await server().gql(`mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }`, {
    input: { name: uid('other'), scopes: ['READ', 'INGEST'] },
  });
  return createApiKey.key;
}

describe('MAX_SUBSCRIPTIONS_PER_CONNECTION', () => {
  it(`refuses the ${PER_CONNECTION + 1}th subscription on one socket; the others keep their events, and completing one lets a new one in`, async () => {
    const root = await newTrace();
    const socket = client('ws');
    const tails = [];
    for (let index = 0; index < PER_CONNECTION; index++) tails.push(await liveTail(socket, root.traceId));
    expect(held()).toBe(PER_CONNECTION);

    await expectRefused(socket.subscribe(TAIL, { traceId: root.traceId }), 'MAX_SUBSCRIPTIONS_PER_CONNECTION', PER_CONNECTION);
    expect(held()).toBe(PER_CONNECTION);

    // The socket stays open and its subscriptions live: a new span reaches all three.
    const child = await server().gql(CREATE_SPAN, { input: { id: uid('child'), parentId: root.id, name: 'after-refusal', startTime: at(1) } });
    for (const tail of tails) {
      await tail.until((results) => results.some((result) => result.data?.traceSpans.span.id === child.createSpan.id));
    }

    await tails[0]!.stop();
    await heldBecomes(PER_CONNECTION - 1);
    const replacement = await liveTail(socket, root.traceId);
    expect(replacement.results[0].data.traceSpans.span.id).toBe(root.id);
    expect(held()).toBe(PER_CONNECTION);
  });

  it('gives the slot back however a subscription ends: stopped, ended by the server, or refused by another check', async () => {
    const socket = client('ws');
    // Many more subscribe/stop cycles than the cap, on one socket.
    const root = await newTrace();
    for (let round = 0; round < 4 * PER_CONNECTION; round++) {
      const tail = await liveTail(socket, root.traceId);
      await tail.stop();
      await heldBecomes(0);
    }
    // Ended by the server: deleting the trace ends its tails with NOT_FOUND.
    const doomed = await newTrace();
    const tails = [];
    for (let index = 0; index < PER_CONNECTION; index++) tails.push(await liveTail(socket, doomed.traceId));
    await server().gql(`mutation($id: ID!) { deleteTrace(id: $id) }`, { id: doomed.traceId });
    for (const tail of tails) expect((await endedWithError(tail)).extensions?.code).toBe('NOT_FOUND');
    await heldBecomes(0);
    // Refused before it started (a variable of the wrong type): never counted.
    for (let index = 0; index < PER_CONNECTION + 1; index++) {
      const bad = socket.subscribe(TAIL, { traceId: { not: 'an id' } });
      expect((await endedWithError(bad)).extensions?.code).toBe('BAD_USER_INPUT');
    }
    expect(held()).toBe(0);
    // All the cap is still there.
    for (let index = 0; index < PER_CONNECTION; index++) await liveTail(socket, root.traceId);
    expect(held()).toBe(PER_CONNECTION);
  });
});

describe('MAX_SUBSCRIPTIONS_PER_KEY', () => {
  it(`counts a key's subscriptions over all its sockets; another key is not affected; a closed socket frees its slots`, async () => {
    const root = await newTrace();
    const first = client('ws');
    const second = client('ws');
    for (let index = 0; index < PER_CONNECTION; index++) await liveTail(first, root.traceId);
    for (let index = PER_CONNECTION; index < PER_KEY; index++) await liveTail(second, root.traceId);
    expect(held()).toBe(PER_KEY);

    // The second socket is under its own cap, but the key is at its cap.
    await expectRefused(second.subscribe(TAIL, { traceId: root.traceId }), 'MAX_SUBSCRIPTIONS_PER_KEY', PER_KEY);

    const otherKey = client('ws', await newKey());
    const other = await liveTail(otherKey, root.traceId);
    expect(other.results[0].data.traceSpans.span.id).toBe(root.id);

    // Closing a socket gives back every slot it held.
    await first.dispose();
    await heldBecomes(PER_KEY - PER_CONNECTION + 1);
    await liveTail(second, root.traceId);
  });

  it('applies over SSE too, where each subscription is a request of its own', async () => {
    const root = await newTrace();
    const sse = client('sse');
    const tails = [];
    for (let index = 0; index < PER_KEY; index++) tails.push(await liveTail(sse, root.traceId));
    await expectRefused(sse.subscribe(TAIL, { traceId: root.traceId }), 'MAX_SUBSCRIPTIONS_PER_KEY', PER_KEY);
    // A WebSocket of the same key is refused as well: one count per key over every transport.
    await expectRefused(client('ws').subscribe(TAIL, { traceId: root.traceId }), 'MAX_SUBSCRIPTIONS_PER_KEY', PER_KEY);

    const child = await server().gql(CREATE_SPAN, { input: { id: uid('child'), parentId: root.id, name: 'sse-after-refusal', startTime: at(1) } });
    for (const tail of tails) {
      await tail.until((results) => results.some((result) => result.data?.traceSpans.span.id === child.createSpan.id));
    }
    await tails[0]!.stop();
    await heldBecomes(PER_KEY - 1);
    await liveTail(sse, root.traceId);
  });
});
