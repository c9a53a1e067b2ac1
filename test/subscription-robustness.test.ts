/**
 * What live views must survive: a stalled subscriber, thousands of subscribe/unsubscribe cycles,
 * idle connections, lost or reordered messages, and the server stopping.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { useTestServer, bearer } from './helpers/server.js';
import { connect, type SubscriptionClient } from './helpers/clients.js';
import { rawWs, type RawWs } from './helpers/raw-ws.js';
import { losing } from './helpers/lost-changes.js';
import { at, CREATE_SPAN, UPDATE_SPAN, uid } from './helpers/operations.js';

const BUFFER = 50;
// Pings would cut the stalled client off before it falls behind (see live-connections.test.ts).
const server = useTestServer({ SUBSCRIPTION_BUFFER: String(BUFFER), KEEPALIVE_MS: '600000' });
const clients: SubscriptionClient[] = [];
const sockets: RawWs[] = [];
afterAll(async () => {
  for (const client of clients) await client.dispose();
  for (const socket of sockets) socket.socket.terminate();
});

const TAIL = `subscription($traceId: ID!, $replay: Boolean) { traceSpans(traceId: $traceId, replay: $replay) { op seq span { id output } } }`;

async function newTrace() {
  return (await server().gql(CREATE_SPAN, { input: { id: uid('root'), name: 'robust', startTime: at(0) } })).createSpan as { id: string; traceId: string };
}

/** A new trace, tailed over WebSocket with replay, once its stored root span has arrived. */
async function tailNewTrace() {
  const root = await newTrace();
  const client = connect('ws', server().url);
  clients.push(client);
  const tail = client.subscribe(TAIL, { traceId: root.traceId, replay: true });
  await tail.waitFor(1);
  return { root, tail };
}

/** How many pub/sub followers the server's live views hold now. */
const listenerCount = () => server().services.pubsub.followerCount;

/** Polls until `read()` returns `expected` (cleanup after a disconnect is asynchronous), within a generous bound. */
async function eventually<T>(read: () => T, expected: T, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (read() !== expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(read()).toBe(expected);
}

describe('a slow or stalled subscriber', () => {
  it(`is closed with SUBSCRIBER_TOO_SLOW once ${BUFFER} changes behind; writers and other subscribers never wait`, async () => {
    const root = await newTrace();
    const stalled = await rawWs(server().url);
    sockets.push(stalled);
    stalled.subscribe('slow', TAIL, { traceId: root.traceId, replay: true });
    await stalled.waitFor((messages) => messages.some((message) => message.id === 'slow' && message.type === 'next'));
    stalled.stall();

    const healthy = connect('ws', server().url);
    clients.push(healthy);
    const follower = healthy.subscribe(TAIL, { traceId: root.traceId, replay: true });
    await follower.waitFor(1);

    // Enough output to fill every socket buffer between the server and the stalled client.
    const big = 'x'.repeat(64 * 1024);
    const WRITES = 400;
    const { gql } = server();
    for (let i = 0; i < WRITES; i++) await gql(CREATE_SPAN, { input: { traceId: root.traceId, name: `flood-${i}`, output: big } });

    // The healthy subscriber got every change; the server never held more than the bound for anyone.
    await follower.waitFor(1 + WRITES, 120_000);
    expect(follower.results.slice(1).map((result) => result.data.traceSpans.op)).toEqual(Array(WRITES).fill('CREATED'));
    expect(server().services.feeds.mostHeld).toBeLessThanOrEqual(BUFFER);

    // When the stalled client reads again, it finds why it was closed, and the stream's end.
    stalled.resume();
    await stalled.waitFor((messages) => messages.some((message) => message.id === 'slow' && message.type === 'complete'), 120_000);
    const last = stalled.messages.filter((message) => message.id === 'slow').slice(-2);
    expect(last[0].type).toBe('next');
    expect(last[0].payload.errors[0].extensions.code).toBe('SUBSCRIBER_TOO_SLOW');
    expect(last[0].payload.errors[0].message).toMatch(/replay: true/);
    expect(last[1].type).toBe('complete');
  }, 300_000);
});

describe('a replay to a subscriber that does not read', () => {
  it(`is read as the subscriber reads: the server holds at most ${BUFFER} spans for it, and it gets all of them once it reads`, async () => {
    const root = await newTrace();
    const SPANS = 300;
    const big = 'y'.repeat(64 * 1024); // enough to fill the socket buffers long before the replay ends
    for (let start = 0; start < SPANS; start += 50) {
      const batch = Array.from({ length: 50 }, (_, i) => ({ traceId: root.traceId, parentId: root.id, name: `stored-${start + i}`, output: big, startTime: at(10 + start + i) }));
      await server().gql(`mutation($input: [CreateSpanInput!]!) { createSpans(input: $input) { id } }`, { input: batch });
    }
    const stalled = await rawWs(server().url);
    sockets.push(stalled);
    stalled.stall();
    stalled.subscribe('replay', TAIL, { traceId: root.traceId, replay: true });
    // A healthy subscriber replays the same trace meanwhile, and then sees a live change.
    const healthy = connect('ws', server().url);
    clients.push(healthy);
    const follower = healthy.subscribe(TAIL, { traceId: root.traceId, replay: true });
    await follower.waitFor(1 + SPANS, 120_000);
    const live = (await server().gql(CREATE_SPAN, { input: { traceId: root.traceId, parentId: root.id, name: 'live', startTime: at(5000) } })).createSpan;
    await follower.waitFor(2 + SPANS, 120_000);
    expect(follower.results.at(-1).data.traceSpans.span.id).toBe(live.id);
    expect(server().services.feeds.mostHeld).toBeLessThanOrEqual(BUFFER);

    stalled.resume();
    const ofReplay = () => stalled.messages.filter((message) => message.id === 'replay' && message.type === 'next');
    await stalled.waitFor(() => ofReplay().length === 2 + SPANS, 120_000);
    const ids = ofReplay().map((message) => message.payload.data.traceSpans.span.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.at(-1)).toBe(live.id);
    expect(ofReplay().every((message) => !message.payload.errors)).toBe(true);
    // Sent with their content, read a page at a time from what the replay's snapshot left out.
    expect(ofReplay().slice(1, 1 + SPANS).every((message) => message.payload.data.traceSpans.span.output === big)).toBe(true);
  }, 300_000);
});

describe('disconnects free everything', () => {
  it('after 2,000 subscribe/unsubscribe cycles over WebSocket and 200 over SSE, listener counts are back where they started', async () => {
    const root = await newTrace();
    const before = listenerCount();
    const ws = connect('ws', server().url);
    clients.push(ws);
    for (let i = 0; i < 2000; i++) {
      const subscription = ws.subscribe(TAIL, { traceId: root.traceId, replay: true });
      await subscription.waitFor(1); // the replay arrived: the listener was registered
      await subscription.stop();
    }
    const sse = connect('sse', server().url);
    clients.push(sse);
    for (let i = 0; i < 200; i++) {
      const subscription = sse.subscribe(TAIL, { traceId: root.traceId, replay: true });
      await subscription.waitFor(1);
      await subscription.stop();
    }
    await eventually(listenerCount, before);
  }, 300_000);

  it('the same for traceUpdated and spanEvents, and for clients that just drop the connection', async () => {
    const root = await newTrace();
    const before = listenerCount();
    const ws = connect('ws', server().url);
    clients.push(ws);
    for (let i = 0; i < 100; i++) {
      const query = i % 2
        ? `subscription { traceUpdated(filter: { status: [ERROR] }) { id } }`
        : `subscription($t: ID!) { spanEvents(traceId: $t) { id } }`;
      const subscription = ws.subscribe(query, { t: root.traceId });
      await eventually(listenerCount, before + 1);
      await subscription.stop();
      await eventually(listenerCount, before);
    }
    for (let i = 0; i < 50; i++) {
      const socket = await rawWs(server().url);
      socket.subscribe('x', TAIL, { traceId: root.traceId, replay: true });
      await socket.waitFor((messages) => messages.some((message) => message.type === 'next'));
      socket.socket.terminate(); // no complete, no close frame: the connection is just gone
      await socket.closed;
    }
    await eventually(listenerCount, before);
  }, 300_000);
});

describe('lost and reordered messages', () => {
  it('a change lost between instances is filled in from the database, in order', async () => {
    const { root, tail } = await tailNewTrace();
    // Every other change of this trace is lost.
    let dropped = 0;
    const restore = losing(server(), root.traceId, (seq) => seq % 2 === 0 && ++dropped > 0);
    try {
      const { gql } = server();
      for (let i = 0; i < 10; i++) {
        const span = (await gql(CREATE_SPAN, { input: { parentId: root.id, name: `step-${i}` } })).createSpan;
        await gql(UPDATE_SPAN, { id: span.id, input: { output: `done-${i}` } });
      }
    } finally {
      restore();
    }
    expect(dropped).toBe(10);
    // Every span ends up delivered in its final state (a change superseded while it was missing is
    // not sent again: its span's later state is), in increasing change numbers, none twice.
    const outputs = () => new Map(tail.results.slice(1).map((result) => [result.data.traceSpans.span.id, result.data.traceSpans.span.output]));
    await tail.until(() => [...outputs().values()].filter(Boolean).length >= 10, 60_000);
    expect([...outputs().values()].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `done-${i}`).sort());
    const live = tail.results.slice(1).map((result) => result.data.traceSpans);
    const seqs = live.map((change: { seq: number }) => change.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    // Each span's first delivery is CREATED, whatever was lost before it; later ones UPDATED.
    const seen = new Set<string>();
    for (const change of live) {
      expect(change.op).toBe(seen.has(change.span.id) ? 'UPDATED' : 'CREATED');
      seen.add(change.span.id);
    }
    await tail.stop();
  });
});

describe('a stalled SSE reader', () => {
  it(`is closed the same way over SSE: the server holds at most ${BUFFER} changes for it`, async () => {
    const root = await newTrace();
    const controller = new AbortController();
    const response = await fetch(server().url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...bearer() },
      body: JSON.stringify({ query: TAIL, variables: { traceId: root.traceId, replay: true } }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('event: next')) text += decoder.decode((await reader.read()).value);
    // Now it reads nothing while the trace gets busy.
    const big = 'y'.repeat(64 * 1024);
    const { gql } = server();
    for (let i = 0; i < 400; i++) await gql(CREATE_SPAN, { input: { traceId: root.traceId, name: `sse-flood-${i}`, output: big } });
    expect(server().services.feeds.mostHeld).toBeLessThanOrEqual(BUFFER);
    // Reading again, it finds the reason it was closed, then the end of the stream.
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += decoder.decode(chunk.value);
    }
    controller.abort();
    const events = text.split('\n\n').filter((block) => block.startsWith('event: next'));
    const last = JSON.parse(events.at(-1)!.split('\ndata: ')[1]!);
    expect(last.errors[0].extensions.code).toBe('SUBSCRIBER_TOO_SLOW');
    expect(events.length).toBeLessThan(400);
    expect(text.trimEnd().endsWith('event: complete\ndata:')).toBe(true);
  }, 300_000);
});
