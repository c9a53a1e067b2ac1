/**
 * GraphQL over WebSocket: graphql-ws's protocol server (`makeServer`) on `ws` sockets. graphql-ws's
 * own binding for `ws` (graphql-ws/use/ws) is ~100 lines; this one differs in two ways a live view at
 * scale needs:
 *
 * - **One serialized payload for many sockets.** Subscribers with the same operation get the same
 *   result object (src/subscriptions/shared-execution.ts). It is turned into JSON once and written
 *   to every socket as is, inside each subscriber's own `next` message.
 * - **One system call per socket per turn.** What a turn writes to a socket is sent together, and a
 *   message does not wait for the previous one's write unless the client has stopped reading.
 * - **Keep-alive that blames only the client.** graphql-ws terminates a socket whose pong has not
 *   been *read* within the keep-alive period; when the server itself is busy (a burst of changes for
 *   a thousand subscribers), the pongs of healthy clients sit unread and every socket is dropped at
 *   once. Here a socket is dropped only when its pong is missing after the process has read its
 *   sockets, and never in a round when the process itself was late.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, handleProtocols, makeServer, MessageType, type ServerOptions } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import { serializedResult } from '../subscriptions/shared-execution.js';

/** The extra that every graphql-ws hook gets in `ctx.extra`. */
export interface SocketExtra {
  socket: WebSocket;
  request: IncomingMessage;
}

/** Stands for the payload in the message JSON.stringify builds; replaced by the serialized payload. */
const PLACEHOLDER = '\u0000payload';
const QUOTED_PLACEHOLDER = `${JSON.stringify(PLACEHOLDER)}}`;
/** The payload the last `next` message stands for, handed from the replacer to `send` (synchronously). */
let handedOver: string | undefined;

/**
 * Keeps a `next` message's payload out of JSON.stringify's walk: graphql-ws stringifies each message
 * with this replacer and calls `send` with the result at once, before anything else can run.
 */
function payloadReplacer(this: unknown, key: string, value: unknown): unknown {
  if (key !== 'payload' || (this as { type?: unknown }).type !== MessageType.Next || typeof value !== 'object' || value === null) return value;
  handedOver = serializedResult(value);
  return PLACEHOLDER;
}

function withPayload(data: string): string {
  const payload = handedOver;
  handedOver = undefined;
  if (payload === undefined || !data.endsWith(QUOTED_PLACEHOLDER)) return data;
  return `${data.slice(0, data.length - QUOTED_PLACEHOLDER.length)}${payload}}`;
}

/** Bytes a socket may hold unsent before each further message waits for its write. */
const SEND_HIGH_WATER = 64 * 1024;

/**
 * Sockets written to in this turn of the event loop, corked: what a turn sends to one socket (a
 * subscriber catching up, ten subscriptions of one page) leaves in one system call, not one each.
 */
const corked = new Set<Duplex>();

function gatherWrites(raw: Duplex) {
  if (corked.has(raw)) return;
  raw.cork();
  corked.add(raw);
  // After everything this turn runs (the deliveries are promise jobs): then the writes go out.
  if (corked.size === 1) process.nextTick(releaseWrites);
}

function releaseWrites() {
  for (const raw of corked) raw.uncork();
  corked.clear();
}

/** Serves graphql-ws on `wsServer`; `dispose` closes every socket with 1001 and the server. */
export function serveGraphqlWs<Extra extends object>(
  options: ServerOptions<Record<string, unknown>, SocketExtra & Extra>,
  wsServer: WebSocketServer,
  keepAliveMs: number,
): { dispose(): Promise<void> } {
  const server = makeServer<Record<string, unknown>, SocketExtra & Extra>({
    ...options,
    // The result as execution produced it (shared), not a copy per subscriber: see payloadReplacer.
    onNext: (ctx, id, payload, args, result) => options.onNext?.(ctx, id, payload, args, result) ?? result,
    jsonMessageReplacer: payloadReplacer,
  });
  wsServer.options.handleProtocols = handleProtocols;
  wsServer.on('error', (error) => {
    console.error('WebSocket server error:', error);
    for (const client of wsServer.clients) client.close(CloseCode.InternalServerError, 'Internal server error');
  });
  wsServer.on('connection', (socket, request) => {
    socket.once('error', (error) => {
      console.error('WebSocket error:', error);
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    });
    const stopKeepAlive = keepAlive(socket, keepAliveMs);
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) => {
          const message = withPayload(data);
          if (socket.readyState !== socket.OPEN) return;
          gatherWrites(request.socket);
          // A client that reads keeps little buffered: the next message goes into the same system
          // call. One that does not is made to wait for its writes, so its subscriptions fall behind
          // their bound and end with SUBSCRIBER_TOO_SLOW, rather than the process buffering for it.
          if (socket.bufferedAmount < SEND_HIGH_WATER) return void socket.send(message);
          return new Promise<void>((resolve, reject) => socket.send(message, (error) => (error ? reject(error) : resolve())));
        },
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', async (data) => {
            try {
              await handle(String(data));
            } catch (error) {
              console.error('WebSocket message handling failed:', error);
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            }
          }),
      },
      { socket, request } as SocketExtra & Extra,
    );
    socket.once('close', (code, reason) => {
      stopKeepAlive();
      void closed(code, String(reason));
    });
  });
  return {
    dispose: async () => {
      for (const client of wsServer.clients) client.close(1001, 'Going away');
      wsServer.removeAllListeners();
      await new Promise<void>((resolve, reject) => wsServer.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/**
 * Pings every `intervalMs`; a socket that has not answered the previous ping (nor sent anything) by
 * the next is terminated, unless the process was itself late: then the client gets another round.
 */
function keepAlive(socket: WebSocket, intervalMs: number): () => void {
  if (!(intervalMs > 0 && Number.isFinite(intervalMs))) return () => {};
  let answered = true;
  let due = Date.now() + intervalMs;
  const heard = () => (answered = true);
  socket.on('pong', heard);
  socket.on('message', heard);
  const timer = setInterval(() => {
    const late = Date.now() - due;
    due = Date.now() + intervalMs;
    // Decided after the next poll phase: a pong that arrived while the process was busy is read by then.
    setImmediate(() => {
      if (socket.readyState !== socket.OPEN) return;
      if (!answered && late < intervalMs / 2) return socket.terminate();
      answered = false;
      socket.ping();
    });
  }, intervalMs);
  return () => clearInterval(timer);
}
