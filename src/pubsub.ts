/**
 * Typed channels that carry committed changes to subscribers: in-process by default, through Redis
 * (@graphql-yoga/redis-event-target on ioredis) when REDIS_URL is set, so a subscriber on one server
 * instance sees writes made through another. Nothing else in Spantree knows which one is in use.
 */
import { setMaxListeners } from 'node:events';
import { createPubSub, type PubSub } from 'graphql-yoga';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { Redis } from 'ioredis';
import type { Span, Trace, Event as EventRow } from './generated/sqlite/client.js';

/** A span created or updated, numbered in its trace's commit order. */
export interface SpanChangeMessage {
  op: 'CREATED' | 'UPDATED';
  span: Span;
}

export type Channels = {
  /** Span changes of one trace; key `${projectId}/${traceId}`. */
  'trace:spans': [traceKey: string, change: SpanChangeMessage];
  /** Traces created or whose rollups changed, per project. */
  'trace:updated': [projectId: string, trace: Trace];
  /** Events (feedback included) of one trace; key `${projectId}/${traceId}`. */
  'trace:events': [traceKey: string, event: EventRow];
};

export type SpantreePubSub = PubSub<Channels>;

export function traceKey(projectId: string, traceId: string): string {
  return `${projectId}/${traceId}`;
}

/** Event listeners currently registered, per topic: how the leak tests see that disconnects free everything. */
const listeners = new Map<string, number>();

let current: { pubsub: SpantreePubSub; close(): Promise<void> } | undefined;

/** The pub/sub this process opened. */
export function pubsub(): SpantreePubSub {
  if (!current) throw new Error('The pub/sub is not open: start the server first');
  return current.pubsub;
}

/** How many listeners are registered now (all topics), for the leak checks. */
export function listenerCount(): number {
  let total = 0;
  for (const count of listeners.values()) total += count;
  return total;
}

export async function openPubSub(redisUrl?: string): Promise<SpantreePubSub> {
  if (current) throw new Error('A pub/sub is already open in this process');
  let close = async () => {};
  let target: EventTarget;
  if (redisUrl) {
    const publishClient = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
    const subscribeClient = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
    await Promise.all([publishClient.connect(), subscribeClient.connect()]);
    target = createRedisEventTarget({ publishClient, subscribeClient, serializer: datePreservingJson }) as unknown as EventTarget;
    close = async () => {
      await Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
    };
  } else {
    target = new EventTarget();
    // One listener per subscriber on a topic: many subscribers to one trace is normal, not a leak.
    setMaxListeners(0, target);
  }
  const pubsub = createPubSub<Channels>({ eventTarget: counting(target) as never });
  current = { pubsub, close };
  return pubsub;
}

export async function closePubSub(): Promise<void> {
  const closing = current;
  current = undefined;
  listeners.clear();
  await closing?.close();
}

function counting(target: EventTarget): EventTarget {
  return {
    addEventListener(type: string, callback: EventListenerOrEventListenerObject | null) {
      listeners.set(type, (listeners.get(type) ?? 0) + 1);
      target.addEventListener(type, callback);
    },
    removeEventListener(type: string, callback: EventListenerOrEventListenerObject | null) {
      const left = (listeners.get(type) ?? 0) - 1;
      if (left > 0) listeners.set(type, left);
      else listeners.delete(type);
      target.removeEventListener(type, callback);
    },
    dispatchEvent: (event: Event) => target.dispatchEvent(event),
  } as EventTarget;
}

/** Rows carry Dates; plain JSON would turn them into strings on the far side of Redis. */
const datePreservingJson = {
  stringify(message: unknown): string {
    return JSON.stringify(message, function (this: Record<string, unknown>, key, value) {
      const original = this[key];
      return original instanceof Date ? { $date: original.toISOString() } : value;
    });
  },
  parse(message: string): unknown {
    return JSON.parse(message, (_key, value) =>
      value !== null && typeof value === 'object' && typeof value.$date === 'string' && Object.keys(value).length === 1
        ? new Date(value.$date)
        : value,
    );
  },
};
