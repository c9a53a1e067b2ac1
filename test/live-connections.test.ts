/** Idle live connections are kept alive; a dead one is dropped; stopping the server ends them all cleanly. */
import { afterAll, describe, expect, it } from 'vitest';
import { useTestServer, bearer, TEST_API_KEY } from './helpers/server.js';
import { connect } from './helpers/clients.js';
import { rawWs, type RawWs } from './helpers/raw-ws.js';
import { spawnServer, post } from './helpers/process.js';
import { createTestDatabase } from './helpers/databases.js';
import { CREATE_SPAN, uid } from './helpers/operations.js';
import { eventually } from './helpers/wait.js';

// Short enough to see several pings in a test, long enough that a busy machine still answers each in time.
const KEEPALIVE_MS = 500;
const server = useTestServer({ KEEPALIVE_MS: String(KEEPALIVE_MS) });
const sockets: RawWs[] = [];
afterAll(() => {
  for (const socket of sockets) socket.socket.terminate();
});

const TAIL = `subscription($traceId: ID!, $replay: Boolean) { traceSpans(traceId: $traceId, replay: $replay) { op span { id } } }`;

async function newTrace() {
  return (await server().gql(CREATE_SPAN, { input: { id: uid('root'), name: 'idle' } })).createSpan as { traceId: string };
}

describe('keep-alive', () => {
  it('pings WebSocket clients every KEEPALIVE_MS, and keeps a client that answers', async () => {
    const socket = await rawWs(server().url);
    sockets.push(socket);
    socket.subscribe('k', TAIL, { traceId: (await newTrace()).traceId, replay: true });
    await socket.waitFor((messages) => messages.some((message) => message.type === 'next'));
    await socket.untilPinged(3, 60_000);
    // Answered (ws pongs by itself), so still connected and subscribed: nothing ended the subscription.
    expect(socket.socket.readyState).toBe(socket.socket.OPEN);
    expect(socket.messages.filter((message) => message.type !== 'next')).toEqual([{ type: 'connection_ack' }]);
  });

  it('keeps a client whose pong the server could not read in time because the server itself was busy', async () => {
    const socket = await rawWs(server().url);
    sockets.push(socket);
    const { traceId } = await newTrace();
    socket.subscribe('k', TAIL, { traceId, replay: true });
    await socket.waitFor((messages) => messages.some((message) => message.type === 'next'));
    // The client (ws) answers the ping at once; then this process, the server's too, is busy for
    // three keep-alive periods, so the pong is still unread when the server's next check is due.
    const busy = () => {
      socket.socket.off('ping', busy);
      const until = Date.now() + 3 * KEEPALIVE_MS;
      while (Date.now() < until);
    };
    socket.socket.on('ping', busy);
    await socket.untilPinged(socket.pings + 3, 60_000);
    expect(socket.socket.readyState).toBe(socket.socket.OPEN);
    // Still subscribed: a change written now arrives.
    const before = socket.messages.length;
    await server().gql(CREATE_SPAN, { input: { traceId, name: 'after-busy' } });
    await socket.waitFor((messages) => messages.slice(before).some((message) => message.type === 'next'));
    expect(socket.messages.filter((message) => message.type === 'error' || message.type === 'complete')).toEqual([]);
  });

  it('drops a client that stops answering pings, and frees its subscriptions', async () => {
    const before = server().services.pubsub.followerCount;
    const socket = await rawWs(server().url);
    socket.subscribe('k', TAIL, { traceId: (await newTrace()).traceId, replay: true });
    await socket.waitFor((messages) => messages.some((message) => message.type === 'next'));
    expect(server().services.pubsub.followerCount).toBe(before + 1);
    socket.stall(); // no ping is read, no pong goes back
    // The server gives up on it after one unanswered ping and frees what it held.
    await eventually(async () => server().services.pubsub.followerCount === before, 'the stalled client\'s listener to be freed', 60_000);
    expect(server().services.pubsub.followerCount).toBe(before);
    socket.resume();
    expect((await socket.closed).code).toBe(1006); // terminated, without a close frame
  });

  it('sends SSE comment pings while a subscription is idle', async () => {
    const controller = new AbortController();
    const response = await fetch(server().url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...bearer() },
      body: JSON.stringify({ query: TAIL, variables: { traceId: (await newTrace()).traceId } }),
      signal: controller.signal,
    });
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const pings = () => text.match(/^:$/gm)?.length ?? 0;
    // yoga pings every 12 s in production, every 300 ms under NODE_ENV=test: read until three came.
    const deadline = Date.now() + 60_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), 60_000)));
    try {
      while (pings() < 3 && Date.now() < deadline) {
        const chunk = await Promise.race([reader.read(), timedOut]);
        if (!chunk || chunk.done) break;
        text += decoder.decode(chunk.value, { stream: true });
      }
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
    expect(pings(), text).toBeGreaterThanOrEqual(3);
    // Only pings: the subscription stayed idle and open.
    expect(text.replace(/^:$/gm, '').trim()).toBe('');
  });
});

describe('stopping the server', () => {
  it('closes WebSocket subscribers with 1001 Going away and completes SSE subscriptions', async () => {
    const db = await createTestDatabase();
    const stopping = await spawnServer({ DATABASE_URL: db.url });
    try {
      const created = await post(stopping.url, `mutation { createSpan(input: { name: "about-to-stop" }) { traceId } }`);
      const traceId = created.data.createSpan.traceId;
      const socket = await rawWs(stopping.url);
      socket.subscribe('s', TAIL, { traceId, replay: true });
      await socket.waitFor((messages) => messages.some((message) => message.type === 'next'));
      const sse = connect('sse', stopping.url);
      const tail = sse.subscribe(TAIL, { traceId, replay: true });
      await tail.waitFor(1);
      expect(await stopping.kill('SIGTERM')).toBe(0);
      expect(await socket.closed).toEqual({ code: 1001, reason: 'Going away' });
      expect(await tail.ended).toBeUndefined(); // completed, not failed
      await sse.dispose();
    } finally {
      await stopping.kill('SIGTERM');
      await db.drop();
    }
  }, 300_000);
});

describe('GraphiQL', () => {
  it('is served at /graphql for browsers, subscribing over SSE (which sends the headers pane), and the page carries no key', async () => {
    const response = await fetch(server().url, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toMatch(/<title>Spantree<\/title>|"title":"Spantree"/);
    expect(html).toContain('"subscriptionsProtocol":"SSE"');
    const options = JSON.parse(/<script type="application\/json" id="graphiql-options">(.*?)<\/script>/s.exec(html)![1]!);
    // The page's script fills in the key this browser keeps (test/web/graphiql.test.ts); the page holds a placeholder.
    expect(JSON.parse(options.headers)).toEqual({ Authorization: 'Bearer <your API key>' });
    expect(html).not.toContain(TEST_API_KEY);
  });
});
