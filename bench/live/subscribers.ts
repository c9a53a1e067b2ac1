/**
 * The subscriber side of the live workloads, in a process of its own (forked by bench/live/processes.ts,
 * run with `node --import tsx`), so that the server's CPU and memory are its own. Driven over IPC by
 * the benchmark: open sockets and subscriptions, report readiness, record every delivery, report.
 *
 * WebSocket: a minimal graphql-transport-ws client on `ws` (connection_init with
 * `{ authorization }`, subscribe, next, error, complete, ping/pong), the same code for Spantree and
 * the raw broadcast server. Not graphql-ws's createClient: at 100,000 messages a second into one
 * process the client's own cost would be what is measured; this one does per message a JSON.parse and
 * a few array writes. SSE: fetch with `accept: text/event-stream` (yoga's distinct-connections mode),
 * one request per subscription, the event stream parsed by hand.
 *
 * Names tell what a delivery is: `w:<write index>:<send time, µs of CLOCK_MONOTONIC>` is a measured
 * write (latency = receive time - send time; both processes read the same system-wide monotonic clock),
 * `s:<n>` a sentinel the benchmark writes until every subscription has seen one (it is then live).
 */
import WebSocket from 'ws';
import { serveCommands } from '../worker.js';

interface Operation {
  query: string;
  variables: Record<string, unknown>;
  /** What the subscription follows: a trace id, or "ERROR" for traceUpdated(status ERROR). */
  topic: string;
}

interface Subscription {
  topic: string;
  ready: boolean;
  /** Per measured write index: how many times it arrived (saturating at 255). */
  counts: Uint8Array;
  /** The extensions.code of an error that ended it (e.g. SUBSCRIBER_TOO_SLOW). */
  endedWith?: string;
  completed: boolean;
  /** All `next` messages, measured or not (the replay workload counts these). */
  nexts: number;
  firstNext?: () => void;
}

interface Socket {
  ws?: WebSocket;
  abort?: AbortController;
  open: boolean;
  closeCode?: number;
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

let subs: Subscription[] = [];
let sockets: Socket[] = [];
let measuredWrites = 0;
let latencies = new Float64Array(1 << 16);
let latencyCount = 0;
let received = 0;
let others = 0;
let sample: string | undefined;
const errorCodes: Record<string, number> = {};

function recordLatency(ms: number) {
  if (latencyCount === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[latencyCount++] = ms;
}

/** A `next` payload ({ data } or { errors }) for subscription `sub`, received at `at` (µs). */
function onPayload(sub: Subscription | undefined, payload: any, at: number, text: string) {
  if (!sub) return; // a subscription already forgotten (closed by the benchmark)
  if (payload.errors) {
    const code = payload.errors[0]?.extensions?.code ?? 'UNKNOWN';
    errorCodes[code] = (errorCodes[code] ?? 0) + 1;
    sub.endedWith ??= code;
    sub.firstNext?.();
    return;
  }
  sub.nexts++;
  sub.firstNext?.();
  const data = payload.data;
  const item = data.traceSpans ? data.traceSpans.span : data.traceUpdated;
  const name: string | undefined = item?.name;
  if (!name) return void others++;
  if (name.charCodeAt(0) === 115 /* s */ && name.charCodeAt(1) === 58) {
    sub.ready = true;
    return;
  }
  if (name.charCodeAt(0) !== 119 /* w */ || name.charCodeAt(1) !== 58) return void others++;
  const colon = name.indexOf(':', 2);
  const index = Number(name.slice(2, colon));
  if (!(index < measuredWrites)) return void others++;
  const count = sub.counts[index]!;
  if (count === 0) {
    recordLatency((at - Number(name.slice(colon + 1))) / 1000);
    received++;
    sample ??= text;
  }
  if (count < 255) sub.counts[index] = count + 1;
}

function newSubscription(topic: string): Subscription {
  return { topic, ready: false, counts: new Uint8Array(measuredWrites), completed: false, nexts: 0 };
}

/** Opens one graphql-transport-ws socket carrying `ops.length` subscriptions, ids = their indexes in subs. */
function openWs(url: string, key: string, ids: number[], ops: Operation[], socket: Socket): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, 'graphql-transport-ws');
    socket.ws = ws;
    const timer = setTimeout(() => resolve(false), 30_000);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } })));
    ws.on('message', (data: Buffer) => {
      const at = nowUs();
      const text = data.toString();
      const message = JSON.parse(text);
      switch (message.type) {
        case 'next':
          onPayload(subs[Number(message.id)], message.payload, at, text);
          break;
        case 'error': {
          const sub = subs[Number(message.id)];
          if (!sub) break;
          const code = message.payload?.[0]?.extensions?.code ?? 'UNKNOWN';
          errorCodes[code] = (errorCodes[code] ?? 0) + 1;
          sub.endedWith ??= code;
          sub.completed = true;
          sub.firstNext?.();
          break;
        }
        case 'complete':
          if (subs[Number(message.id)]) subs[Number(message.id)]!.completed = true;
          break;
        case 'ping':
          ws.send('{"type":"pong"}');
          break;
        case 'connection_ack':
          socket.open = true;
          ids.forEach((id, i) => ws.send(JSON.stringify({ id: String(id), type: 'subscribe', payload: { query: ops[i]!.query, variables: ops[i]!.variables } })));
          clearTimeout(timer);
          resolve(true);
          break;
      }
    });
    ws.on('error', () => undefined);
    ws.on('close', (code) => {
      socket.open = false;
      socket.closeCode = code;
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/** One SSE subscription: a POST with accept: text/event-stream, the stream parsed as it comes. */
function openSse(url: string, key: string, id: number, op: Operation, socket: Socket): Promise<boolean> {
  const abort = new AbortController();
  socket.abort = abort;
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: op.query, variables: op.variables }),
    signal: abort.signal,
  }).then(
    (response) => {
      if (!response.ok || !response.body) return false;
      socket.open = true;
      void (async () => {
        const decoder = new TextDecoder();
        let buffer = '';
        try {
          for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
            const at = nowUs();
            buffer += decoder.decode(chunk, { stream: true });
            let end: number;
            while ((end = buffer.indexOf('\n\n')) >= 0) {
              const event = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              let type = 'message';
              let data = '';
              for (const line of event.split('\n')) {
                if (line.startsWith('event:')) type = line.slice(6).trim();
                else if (line.startsWith('data:')) data += line.slice(5).trim();
              }
              if (type === 'next' && data) onPayload(subs[id], JSON.parse(data), at, data);
              else if (type === 'complete' && subs[id]) subs[id]!.completed = true;
            }
          }
        } catch {
          // aborted by us, or the server went away
        }
        socket.open = false;
        socket.closeCode ??= abort.signal.aborted ? 1000 : 1006;
      })();
      return true;
    },
    () => false,
  );
}

async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) await task(next++);
  }));
}

const commands: Record<string, (args: any) => Promise<unknown> | unknown> = {
  /** `sockets` connections with `perSocket` subscriptions each; subscription i runs ops[i % ops.length]. */
  async open({ kind, url, key, sockets: count, perSocket, ops, concurrency = 50 }: { kind: 'ws' | 'sse'; url: string; key: string; sockets: number; perSocket: number; ops: Operation[]; concurrency?: number }) {
    const began = performance.now();
    const first = subs.length;
    const firstSocket = sockets.length;
    for (let i = 0; i < count * perSocket; i++) subs.push(newSubscription(ops[i % ops.length]!.topic));
    for (let s = 0; s < count; s++) sockets.push({ open: false });
    let failed = 0;
    await pool(count, concurrency, async (s) => {
      const ids = Array.from({ length: perSocket }, (_, j) => first + s * perSocket + j);
      const socketOps = ids.map((id) => ops[(id - first) % ops.length]!);
      const ok = kind === 'ws' ? await openWs(url.replace(/^http/, 'ws'), key, ids, socketOps, sockets[firstSocket + s]!) : await openSse(url, key, ids[0]!, socketOps[0]!, sockets[firstSocket + s]!);
      if (!ok) failed++;
    });
    return { opened: count - failed, failed, ms: performance.now() - began };
  },
  ready() {
    return { ready: subs.filter((sub) => sub.ready).length, total: subs.length };
  },
  /** Starts recording writes 0 .. writes-1 afresh. */
  measure({ writes }: { writes: number }) {
    measuredWrites = writes;
    for (const sub of subs) sub.counts = new Uint8Array(writes);
    latencyCount = 0;
    received = 0;
    others = 0;
    for (const key of Object.keys(errorCodes)) delete errorCodes[key];
    return {};
  },
  progress() {
    let nexts = 0;
    let ended = 0;
    for (const sub of subs) {
      nexts += sub.nexts;
      if (sub.endedWith || sub.completed) ended++;
    }
    return { received, nexts, ended };
  },
  /**
   * What each subscription got of the writes that were acknowledged, given as [index, topic] pairs:
   * lost (expected, never came), duplicated, unexpected (came, but not for its topic), and whether a
   * subscription that lost some was told why (an error that ended it, e.g. SUBSCRIBER_TOO_SLOW).
   */
  collect({ writes }: { writes: [number, string][] }) {
    const byTopic = new Map<string, number[]>();
    for (const [index, topic] of writes) {
      let list = byTopic.get(topic);
      if (!list) byTopic.set(topic, (list = []));
      list.push(index);
    }
    let expected = 0;
    let lost = 0;
    let lostUntold = 0;
    let duplicated = 0;
    let unexpected = 0;
    let subscribersLosing = 0;
    const endedWith: Record<string, number> = {};
    for (const sub of subs) {
      const mine = byTopic.get(sub.topic) ?? [];
      const isMine = new Uint8Array(sub.counts.length);
      let subLost = 0;
      for (const index of mine) {
        isMine[index] = 1;
        expected++;
        const count = sub.counts[index]!;
        if (count === 0) subLost++;
        else if (count > 1) duplicated += count - 1;
      }
      for (let index = 0; index < sub.counts.length; index++) if (!isMine[index] && sub.counts[index]) unexpected += sub.counts[index]!;
      lost += subLost;
      if (subLost) subscribersLosing++;
      if (subLost && !sub.endedWith) lostUntold += subLost;
      if (sub.endedWith) endedWith[sub.endedWith] = (endedWith[sub.endedWith] ?? 0) + 1;
    }
    const samples = latencies.slice(0, latencyCount).sort();
    return {
      latencies: samples,
      expected,
      received,
      lost,
      lostUntold,
      duplicated,
      unexpected,
      others,
      subscribersLosing,
      endedWith,
      errorCodes: { ...errorCodes },
      /** Sockets the server closed (or that broke, 1006), by close code. */
      closeCodes: sockets.reduce<Record<string, number>>((codes, socket) => {
        if (socket.closeCode !== undefined) codes[socket.closeCode] = (codes[socket.closeCode] ?? 0) + 1;
        return codes;
      }, {}),
      openSockets: sockets.filter((socket) => socket.open).length,
      sockets: sockets.length,
      sample,
    };
  },
  /** Closes every socket (and SSE request) and forgets every subscription. */
  async close() {
    const closing = sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          if (socket.abort) {
            socket.abort.abort();
            return resolve();
          }
          const ws = socket.ws;
          if (!ws || ws.readyState === WebSocket.CLOSED) return resolve();
          const timer = setTimeout(() => (ws.terminate(), resolve()), 5000);
          ws.once('close', () => (clearTimeout(timer), resolve()));
          ws.close(1000);
        }),
    );
    await Promise.all(closing);
    subs = [];
    sockets = [];
    return {};
  },
  /**
   * `pairs` subscribe + unsubscribe pairs over `concurrency` sockets: subscribe, wait for the first
   * message (or an error, or 10 s), send complete. Returns how long each first message took.
   */
  async churn({ url, key, pairs, concurrency, op }: { url: string; key: string; pairs: number; concurrency: number; op: Operation }) {
    const firsts: number[] = [];
    let timeouts = 0;
    let done = 0;
    const opened: Socket[] = [];
    await Promise.all(
      Array.from({ length: concurrency }, async (_, c) => {
        const socket: Socket = { open: false };
        opened.push(socket);
        if (!(await openWs(url.replace(/^http/, 'ws'), key, [], [], socket))) return;
        const ws = socket.ws!;
        for (let k = c; k < pairs; k += concurrency) {
          const id = subs.length;
          const sub = newSubscription(op.topic);
          subs.push(sub);
          const began = performance.now();
          const first = new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), 10_000);
            sub.firstNext = () => (clearTimeout(timer), (sub.firstNext = undefined), resolve(true));
          });
          ws.send(JSON.stringify({ id: String(id), type: 'subscribe', payload: { query: op.query, variables: op.variables } }));
          if (await first) firsts.push(performance.now() - began);
          else timeouts++;
          ws.send(JSON.stringify({ id: String(id), type: 'complete' }));
          done++;
        }
      }),
    );
    await Promise.all(
      opened.map(
        (socket) =>
          new Promise<void>((resolve) => {
            const ws = socket.ws;
            if (!ws || ws.readyState === WebSocket.CLOSED) return resolve();
            const timer = setTimeout(() => (ws.terminate(), resolve()), 5000);
            ws.once('close', () => (clearTimeout(timer), resolve()));
            ws.close(1000);
          }),
      ),
    );
    subs = [];
    return { done, timeouts, firsts, errorCodes: { ...errorCodes } };
  },
};

serveCommands(commands);
