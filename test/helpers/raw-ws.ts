/**
 * A bare graphql-transport-ws client on `ws`, for what graphql-ws's client hides on purpose: pings,
 * close codes, and a client that stops reading.
 */
import WebSocket from 'ws';
import { TEST_API_KEY } from './server.js';

export interface RawWs {
  socket: WebSocket;
  messages: any[];
  pings: number;
  closed: Promise<{ code: number; reason: string }>;
  subscribe(id: string, query: string, variables?: Record<string, unknown>): void;
  /** Stops reading from the TCP socket, as a stalled browser tab would. */
  stall(): void;
  resume(): void;
  /** Resolves once `predicate` holds for the messages received so far (checked on each message, ping and close). */
  waitFor(predicate: (messages: any[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Resolves once the server has pinged `count` times in all. */
  untilPinged(count: number, timeoutMs?: number): Promise<void>;
}

export async function rawWs(httpUrl: string, key: string = TEST_API_KEY): Promise<RawWs> {
  const socket = new WebSocket(httpUrl.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const messages: any[] = [];
  const listeners: (() => void)[] = [];
  const client: RawWs = {
    socket,
    messages,
    pings: 0,
    closed: new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: String(reason) }))),
    subscribe(id, query, variables) {
      socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
    },
    stall() {
      (socket as unknown as { _socket: { pause(): void } })._socket.pause();
    },
    resume() {
      (socket as unknown as { _socket: { resume(): void } })._socket.resume();
    },
    async waitFor(predicate, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(messages)) {
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(`timed out after ${client.pings} pings; last messages: ${JSON.stringify(messages.slice(-2)).slice(0, 500)}`);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          listeners.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    untilPinged(count, timeoutMs) {
      return client.waitFor(() => client.pings >= count, timeoutMs);
    },
  };
  const wake = () => {
    for (const listener of listeners.splice(0)) listener();
  };
  socket.on('message', (data) => {
    messages.push(JSON.parse(String(data)));
    wake();
  });
  socket.on('ping', () => {
    client.pings++;
    wake();
  });
  socket.on('close', wake);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } }));
  await client.waitFor((all) => all.some((message) => message.type === 'connection_ack'));
  return client;
}
