/** Subscription clients as users run them: graphql-ws over a real WebSocket, graphql-sse over HTTP. */
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { createClient as createSseClient, type Client as SseClient } from 'graphql-sse';
import WebSocket from 'ws';
import { TEST_API_KEY } from './server.js';

export type Transport = 'ws' | 'sse';

export interface SubscriptionClient {
  /** Starts a subscription; its results arrive in `results` until it ends. */
  subscribe(query: string, variables?: Record<string, unknown>): Subscription;
  dispose(): Promise<void>;
}

export interface Subscription {
  results: any[];
  /** Resolves once `count` results have arrived (or rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<any[]>;
  /** Resolves once the results satisfy `done` (or rejects after `timeoutMs`). */
  until(done: (results: any[]) => boolean, timeoutMs?: number): Promise<any[]>;
  /** Resolves when the server ends the subscription, with the error that ended it if any. */
  ended: Promise<unknown>;
  stop(): Promise<void>;
}

/** A client of `transport`, authenticated with `key` (the suite's key unless given). */
export function connect(transport: Transport, httpUrl: string, key: string = TEST_API_KEY): SubscriptionClient {
  const authorization = `Bearer ${key}`;
  if (transport === 'ws') {
    const client: WsClient = createWsClient({
      url: httpUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: true,
      connectionParams: { authorization },
    });
    return { subscribe: (query, variables) => track(client.iterate({ query, variables })), dispose: async () => client.dispose() };
  }
  const client: SseClient = createSseClient({ url: httpUrl, retryAttempts: 0, headers: { authorization } });
  return { subscribe: (query, variables) => track(client.iterate({ query, variables })), dispose: async () => client.dispose() };
}

function track(iterator: AsyncIterableIterator<any>): Subscription {
  const results: any[] = [];
  const waiters: (() => void)[] = [];
  let finished = false;
  const ended = (async () => {
    try {
      for await (const result of iterator) {
        results.push(result);
        for (const wake of waiters.splice(0)) wake();
      }
      return undefined;
    } catch (error) {
      return error;
    } finally {
      finished = true;
      for (const wake of waiters.splice(0)) wake();
    }
  })();
  const until = async (satisfied: (all: any[]) => boolean, timeoutMs = 20_000, expected = 'the awaited') => {
    const deadline = Date.now() + timeoutMs;
    while (!satisfied(results)) {
      const seen = `${results.length} results (waiting for ${expected}): ${JSON.stringify(results.slice(-3))}`;
      if (finished) throw new Error(`subscription ended after ${seen}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out with ${seen}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return results;
  };
  return {
    results,
    ended,
    waitFor: (count, timeoutMs) => until(() => results.length >= count, timeoutMs, `${count}`),
    until: (satisfied, timeoutMs) => until(satisfied, timeoutMs),
    async stop() {
      await iterator.return?.();
    },
  };
}

/**
 * Waits until a subscription is live on the server: repeats `probe` (a write the subscription will
 * see) until a first result arrives. Deterministic where a fixed sleep would race a loaded machine.
 */
export async function untilLive(subscription: Subscription, probe: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    await probe();
    try {
      await subscription.waitFor(1, 100 + attempt * 20);
      return;
    } catch (error) {
      if (/subscription ended/.test(String(error))) throw error;
    }
  }
  throw new Error('the subscription never went live');
}

/** The error a subscription ended with: sent as a result, or thrown by the client. Fails if it ended without one. */
export async function endedWithError(subscription: Subscription): Promise<{ message: string; extensions?: Record<string, any> }> {
  const thrown = await subscription.ended;
  const sent = subscription.results.find((result) => result.errors?.length)?.errors[0];
  const error = sent ?? (thrown as { errors?: any[] } | undefined)?.errors?.[0] ?? (Array.isArray(thrown) ? thrown[0] : undefined);
  if (!error) throw new Error(`the subscription ended without an error: ${JSON.stringify(subscription.results)} ${String(thrown)}`);
  return error;
}
