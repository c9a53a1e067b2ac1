/**
 * Typed channels that carry committed changes to subscribers: in-process by default, through Redis
 * (@graphql-yoga/redis-event-target on ioredis) when REDIS_URL is set, so a subscriber on one server
 * instance sees writes made through another. Nothing else in Spantree knows which one is in use.
 */
import { setMaxListeners } from 'node:events';
import { createPubSub, type PubSub } from 'graphql-yoga';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { Redis } from 'ioredis';
import type { EventRow, SpanRow, TraceRow } from './db/rows.js';

/**
 * The columns a span change is published without: content can be megabytes, travels through Redis
 * to every instance, and most live views never select it. A subscriber that does gets it read once
 * per change for all its executions (`spanContent` in src/spans/span.schema.ts).
 */
export const CONTENT_COLUMNS = ['input', 'output', 'instructions'] as const;

/** A span created or updated, numbered in its trace's commit order; without its CONTENT_COLUMNS. */
export interface SpanChangeMessage {
  op: 'CREATED' | 'UPDATED';
  span: SpanRow;
}

/**
 * The last message of a trace's channels: the trace was deleted (deleteTrace or its trace TTL).
 * Sent on the channels its subscribers already listen to, after everything else about the trace.
 */
export interface TraceDeletion {
  deletedTraceId: string;
}

export function isTraceDeletion(message: object): message is TraceDeletion {
  return 'deletedTraceId' in message;
}

export type Channels = {
  /** Span changes of one trace; key `${projectId}/${traceId}`. */
  'trace:spans': [traceKey: string, change: SpanChangeMessage | TraceDeletion];
  /** Traces created or whose rollups changed, per project. */
  'trace:updated': [projectId: string, trace: TraceRow];
  /** Events (feedback included) of one trace; key `${projectId}/${traceId}`. */
  'trace:events': [traceKey: string, event: EventRow | TraceDeletion];
  /** API keys revoked, on every instance: their cached entries and open subscriptions end. Key `all`. */
  'apiKey:revoked': [all: 'all', keyId: string];
  /** A retention rule changed in this organization: instances drop the rules they cached. Key `all`. */
  'retention:changed': [all: 'all', organizationId: string];
  /** A project's model prices changed: instances drop the prices they cached. Key `all`. */
  'prices:changed': [all: 'all', projectId: string];
};

export type SpantreePubSub = PubSub<Channels>;

export function traceKey(projectId: string, traceId: string): string {
  return `${projectId}/${traceId}`;
}

let current: { pubsub: SpantreePubSub; target: EventTarget; close(): Promise<void> } | undefined;

/** The pub/sub this process opened. */
export function pubsub(): SpantreePubSub {
  if (!current) throw new Error('The pub/sub is not open: start the server first');
  return current.pubsub;
}

/**
 * Publishes a committed change. After shutdown has closed the pub/sub there is no subscriber left
 * to tell, and the write it follows has committed: nothing to do, and no error for the writer.
 */
export function publish<Channel extends keyof Channels>(channel: Channel, ...args: Channels[Channel]): void {
  current?.pubsub.publish(channel, ...args);
}

/** What follows a topic in this process: its handlers, and the one pub/sub listener they share. */
interface Topic {
  handlers: Set<(message: unknown) => void>;
  stop(): void;
}
const topics = new Map<string, Topic>();

/**
 * Calls `handle` with every message of a topic from now on, until the returned function is called.
 * All the followers of a topic in this process share one listener on the pub/sub's event target (one
 * Redis SUBSCRIBE), and each message is decoded once and handed to all of them as the same object,
 * synchronously: a thousand subscribers of one trace cost one listener, and what they execute on a
 * message can be shared (see src/subscriptions/shared-execution.ts). The listener is registered
 * before this returns, so a read made afterwards cannot miss a change published after it.
 *
 * Over Redis, messages arrive as JSON: the rows' dates are turned back into Dates here, by name, so
 * JSON the writers sent (input, output, meta, event data) is never touched.
 */
export function onEveryMessage<Channel extends keyof Channels>(
  channel: Channel,
  key: Channels[Channel][0],
  handle: (message: Channels[Channel][1]) => void,
): () => void {
  const open = current;
  if (!open) throw new Error('The pub/sub is not open: start the server first');
  // graphql-yoga's pub/sub dispatches `${channel}:${key}` on its event target.
  const name = `${channel}:${key}`;
  let topic = topics.get(name);
  if (!topic) {
    const handlers = new Set<(message: unknown) => void>();
    const revive = REVIVERS[channel] as (message: unknown) => unknown;
    const listener = (event: Event) => {
      const message = revive((event as CustomEvent).detail);
      for (const handler of handlers) {
        try {
          handler(message);
        } catch (error) {
          // One follower's failure must not keep the message from the others, nor escape as uncaught.
          console.error(`Delivering a ${channel} message failed:`, error);
        }
      }
    };
    open.target.addEventListener(name, listener);
    topic = { handlers, stop: () => open.target.removeEventListener(name, listener) };
    topics.set(name, topic);
  }
  const handler = handle as (message: unknown) => void;
  topic.handlers.add(handler);
  const following = topic;
  return () => {
    if (!following.handlers.delete(handler) || following.handlers.size > 0) return;
    following.stop();
    if (topics.get(name) === following) topics.delete(name);
  };
}

const ROW_DATES = ['startTime', 'endTime', 'createdAt', 'updatedAt'] as const;

function withDates<Row extends object>(row: Row): Row {
  const revived = { ...row } as Record<string, unknown>;
  for (const field of ROW_DATES) {
    const value = revived[field];
    if (typeof value === 'string') revived[field] = new Date(value);
  }
  return revived as Row;
}

const REVIVERS: { [Channel in keyof Channels]: (message: Channels[Channel][1]) => Channels[Channel][1] } = {
  'trace:spans': (change) => (isTraceDeletion(change) ? change : { ...change, span: withDates(change.span) }),
  'trace:updated': (trace) => withDates(trace),
  'trace:events': (event) => (isTraceDeletion(event) ? event : withDates(event)),
  'apiKey:revoked': (keyId) => keyId,
  'retention:changed': (organizationId) => organizationId,
  'prices:changed': (projectId) => projectId,
};

/** How many followers topics have now (all topics), for the leak checks. */
export function listenerCount(): number {
  let total = 0;
  for (const topic of topics.values()) total += topic.handlers.size;
  return total;
}

export async function openPubSub(redisUrl?: string): Promise<SpantreePubSub> {
  if (current) throw new Error('A pub/sub is already open in this process');
  let close = async () => {};
  let target: EventTarget;
  if (redisUrl) {
    const publishClient = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
    const subscribeClient = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
    // Until connected, an error means Redis cannot be reached: the start fails with that reason.
    let startError: (Error & { code?: string }) | undefined;
    const onStartError = (error: Error) => (startError ??= error);
    for (const client of [publishClient, subscribeClient]) client.on('error', onStartError);
    try {
      await Promise.all([publishClient.connect(), subscribeClient.connect()]);
    } catch (error) {
      publishClient.disconnect();
      subscribeClient.disconnect();
      const reason = startError ?? (error as Error);
      throw new Error(
        `Redis (REDIS_URL) is unreachable: ${reason.message}; check that it is running and that the URL is right`,
      );
    }
    for (const client of [publishClient, subscribeClient]) {
      client.off('error', onStartError);
      client.on('error', reportRedisError);
    }
    target = createRedisEventTarget({
      publishClient: failSoft(publishClient),
      subscribeClient: failSoft(subscribeClient),
    }) as unknown as EventTarget;
    close = async () => {
      await Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
    };
  } else {
    target = new EventTarget();
    // One listener per subscriber on a topic: many subscribers to one trace is normal, not a leak.
    setMaxListeners(0, target);
  }
  const pubsub = createPubSub<Channels>({ eventTarget: target as never });
  current = { pubsub, target, close };
  return pubsub;
}

export async function closePubSub(): Promise<void> {
  const closing = current;
  current = undefined;
  for (const topic of topics.values()) topic.stop();
  topics.clear();
  await closing?.close();
}

/**
 * redis-event-target fires PUBLISH, SUBSCRIBE and UNSUBSCRIBE without handling their failure; with
 * Redis down, that would be an unhandled rejection, and the process would exit after a write had
 * committed. The write stands; the change is logged as not delivered, and live subscribers fill the
 * gap from the database on the next change they receive.
 */
function failSoft(client: Redis): Redis {
  return new Proxy(client, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== 'publish' && property !== 'subscribe' && property !== 'unsubscribe') return value;
      return (...args: unknown[]) => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args).catch(reportRedisError);
    },
  });
}

let lastReport = 0;
function reportRedisError(error: unknown) {
  // Once a second at most: an outage fails every publish.
  if (Date.now() - lastReport < 1000) return;
  lastReport = Date.now();
  console.error(`Redis: ${(error as Error)?.message ?? error} (live updates between instances are delayed until it is back)`);
}
