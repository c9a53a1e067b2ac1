/**
 * The raw baseline of the live workloads: a hand-written `ws` broadcast server, in a process of its
 * own (as Spantree's is), so that its CPU and memory are read the same way (/proc/<pid>).
 *
 * It speaks just enough of graphql-transport-ws for the benchmark's subscriber process to use the very
 * same client code as for Spantree: connection_init -> connection_ack, ping -> pong, subscribe
 * (registered under a topic: `variables.traceId`, or "ERROR" for any other subscription, which is
 * the benchmark's traceUpdated(filter: { status: [ERROR] })), complete. Nothing is parsed, validated,
 * authenticated or stored.
 *
 * POST /publish {"topic": "...", "payload": "<JSON text>"} (or an array of them): the JSON of a `next` message's payload,
 * built by the benchmark from a `next` message captured from Spantree. It is sent to every subscription
 * of the topic, one `ws.send` each, the message text assembled around the subscription's id: what a
 * hand-written broadcast does. Answers after the sends were queued.
 *
 * Plain JavaScript, no loader: the process measured holds nothing but the broadcast.
 */
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

/** topic -> the subscriptions on it, as { ws, id } */
const topics = new Map();

function subscribers(topic) {
  let set = topics.get(topic);
  if (!set) topics.set(topic, (set = new Set()));
  return set;
}

const http = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    return;
  }
  if (req.method === 'POST' && req.url === '/publish') {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      let sent = 0;
      for (const { topic, payload } of Array.isArray(body) ? body : [body]) {
        const set = topics.get(topic);
        if (!set) continue;
        for (const sub of set) {
          sub.ws.send(`{"id":"${sub.id}","type":"next","payload":${payload}}`);
          sent++;
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(`{"sent":${sent}}`);
    });
    return;
  }
  res.writeHead(404).end();
});

const wss = new WebSocketServer({ server: http, path: '/graphql' });
wss.on('connection', (ws) => {
  /** id -> its entry, to remove on complete or close */
  const mine = new Map();
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString());
    switch (message.type) {
      case 'connection_init':
        ws.send('{"type":"connection_ack"}');
        break;
      case 'ping':
        ws.send('{"type":"pong"}');
        break;
      case 'subscribe': {
        const topic = message.payload?.variables?.traceId ?? 'ERROR';
        const entry = { ws, id: message.id, topic };
        mine.set(message.id, entry);
        subscribers(topic).add(entry);
        break;
      }
      case 'complete': {
        const entry = mine.get(message.id);
        if (entry) {
          mine.delete(message.id);
          topics.get(entry.topic)?.delete(entry);
        }
        break;
      }
    }
  });
  ws.on('close', () => {
    for (const entry of mine.values()) topics.get(entry.topic)?.delete(entry);
    mine.clear();
  });
});

http.listen(0, '127.0.0.1', () => {
  console.log(`raw ws server at http://127.0.0.1:${http.address().port}/graphql`);
});
process.on('SIGTERM', () => {
  for (const ws of wss.clients) ws.terminate();
  http.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
});
