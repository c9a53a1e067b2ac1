/**
 * Typed channels that carry committed changes to subscribers: in-process by default, through Redis
 * (@graphql-yoga/redis-event-target on ioredis) when REDIS_URL is set, so a subscriber on one server
 * instance sees writes made through another. Nothing else in Spantree knows which one is in use.
 */
import { setMaxListeners } from 'node:events';
import { createPubSub, type PubSub as YogaPubSub } from 'graphql-yoga';
import type { Redis } from 'ioredis';
import type { EventRow, SpanRow, TraceRow } from './db/rows.js';

/**
 * The columns a span change is published without: content can be megabytes, travels through Redis
 * to every instance, and most live views never select it. A subscriber that does gets it read once
 * per change for all its executions (`spanContent` in src/spans/span.schema.ts).
 */
export const CONTENT_COLUMNS = ['input', 'output', 'instructions', 'observations', 'scorerContext'] as const;
export type ContentColumn = (typeof CONTENT_COLUMNS)[number];
/** CONTENT_COLUMNS as a Prisma `select` or `omit`, so every read that leaves content out (or only reads it) follows the list. */
export const CONTENT_FLAGS = Object.fromEntries(CONTENT_COLUMNS.map((column) => [column, true])) as { [Column in ContentColumn]: true };

/**
 * A span created, updated or deleted (with the state it was deleted in), numbered in its trace's
 * commit order; without its CONTENT_COLUMNS.
 */
export interface SpanChangeMessage {
  op: 'CREATED' | 'UPDATED' | 'DELETED';
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

/**
 * A trace created or whose rollups changed, with the span changes of this write that changed it (in
 * seq order, the last at `trace.spanSeq`), so that the live explorer can check conditions on spans
 * against them in memory. A write of more than CARRIED_SPAN_CHANGES spans of one trace carries none
 * (`spans: null`): they would double what it sends through Redis, and the explorer asks SQL instead.
 */
export interface TraceUpdate {
  trace: TraceRow;
  spans: SpanChangeMessage[] | null;
}

/** The most span changes a TraceUpdate carries. */
export const CARRIED_SPAN_CHANGES = 200;

export type Channels = {
  /** Span changes of one trace; key `${projectId}/${traceId}`. */
  'trace:spans': [traceKey: string, change: SpanChangeMessage | TraceDeletion];
  /** Traces created or whose rollups changed, per project, with the span changes that changed them. */
  'trace:updated': [projectId: string, update: TraceUpdate];
  /** Events (feedback included) of one trace; key `${projectId}/${traceId}`. */
  'trace:events': [traceKey: string, event: EventRow | TraceDeletion];
  /** API keys revoked, on every instance: their cached entries and open subscriptions end. Key `all`. */
  'apiKey:revoked': [all: 'all', keyId: string];
  /** A retention rule changed in this organization: instances drop the rules they cached. Key `all`. */
  'retention:changed': [all: 'all', organizationId: string];
  /** A project's model prices changed: instances drop the prices they cached. Key `all`. */
  'prices:changed': [all: 'all', projectId: string];
};

export function traceKey(projectId: string, traceId: string): string {
  return `${projectId}/${traceId}`;
}

/** What follows a topic in this pub/sub: its handlers, and the one listener they share. */
interface Topic {
  handlers: Set<(message: unknown) => void>;
  stop(): void;
}

/** The pub/sub of one application object; open it with `openPubSub`. */
export class PubSub {
  private readonly topics = new Map<string, Topic>();
  private closed = false;

  constructor(
    private readonly pubsub: YogaPubSub<Channels>,
    private readonly target: EventTarget,
    private readonly closeTransport: () => Promise<void>,
  ) {}

  /**
   * Publishes a committed change. After stop has closed the pub/sub there is no subscriber left to
   * tell, and the write it follows has committed: nothing to do, and no error for the writer.
   */
  publish<Channel extends keyof Channels>(channel: Channel, ...args: Channels[Channel]): void {
    if (!this.closed) this.pubsub.publish(channel, ...args);
  }

  /**
   * Calls `handle` with every message of a topic from now on, until the returned function is called.
   * All the followers of a topic share one listener on the pub/sub's event target (one Redis
   * SUBSCRIBE), and each message is decoded once and handed to all of them as the same object,
   * synchronously: a thousand subscribers of one trace cost one listener, and what they execute on a
   * message can be shared (see src/subscriptions/shared-execution.ts). The listener is registered
   * before this returns, so a read made afterwards cannot miss a change published after it.
   *
   * Over Redis, messages arrive as JSON: the rows' dates are turned back into Dates here, by name, so
   * JSON the writers sent (input, output, meta, event data) is never touched.
   */
  follow<Channel extends keyof Channels>(channel: Channel, key: Channels[Channel][0], handle: (message: Channels[Channel][1]) => void): () => void {
    if (this.closed) throw new Error('The pub/sub is closed: the server is stopping');
    // graphql-yoga's pub/sub dispatches `${channel}:${key}` on its event target.
    const name = `${channel}:${key}`;
    let topic = this.topics.get(name);
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
      const target = this.target;
      target.addEventListener(name, listener);
      topic = { handlers, stop: () => target.removeEventListener(name, listener) };
      this.topics.set(name, topic);
    }
    const handler = handle as (message: unknown) => void;
    topic.handlers.add(handler);
    const following = topic;
    return () => {
      if (!following.handlers.delete(handler) || following.handlers.size > 0) return;
      following.stop();
      if (this.topics.get(name) === following) this.topics.delete(name);
    };
  }

  /** How many followers the topics have now, over all topics: what live views hold open. */
  get followerCount(): number {
    let total = 0;
    for (const topic of this.topics.values()) total += topic.handlers.size;
    return total;
  }

  /** Stops every topic's listener and closes the connections to Redis, if any. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const topic of this.topics.values()) topic.stop();
    this.topics.clear();
    await this.closeTransport();
  }
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
  'trace:updated': (update) => ({
    trace: withDates(update.trace),
    spans: update.spans?.map((change) => ({ ...change, span: withDates(change.span) })) ?? null,
  }),
  'trace:events': (event) => (isTraceDeletion(event) ? event : withDates(event)),
  'apiKey:revoked': (keyId) => keyId,
  'retention:changed': (organizationId) => organizationId,
  'prices:changed': (projectId) => projectId,
};

/** Opens the pub/sub: through Redis when `redisUrl` is given, else within this process. */
export async function openPubSub(redisUrl?: string): Promise<PubSub> {
  let close = async () => {};
  let target: EventTarget;
  if (redisUrl) {
    // Loaded only when used: a server without Redis starts without loading its client.
    const [{ Redis }, { createRedisEventTarget }] = await Promise.all([import('ioredis'), import('@graphql-yoga/redis-event-target')]);
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
    const report = reportOnceASecond();
    for (const client of [publishClient, subscribeClient]) {
      client.off('error', onStartError);
      client.on('error', report);
    }
    target = createRedisEventTarget({
      publishClient: failSoft(publishClient, report),
      subscribeClient: failSoft(subscribeClient, report),
    }) as unknown as EventTarget;
    close = async () => {
      await Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
    };
  } else {
    target = new EventTarget();
    // One listener per topic is the rule, but many topics share the target: not a leak.
    setMaxListeners(0, target);
  }
  return new PubSub(createPubSub<Channels>({ eventTarget: target as never }), target, close);
}

/**
 * redis-event-target fires PUBLISH, SUBSCRIBE and UNSUBSCRIBE without handling their failure; with
 * Redis down, that would be an unhandled rejection, and the process would exit after a write had
 * committed. The write stands; the change is logged as not delivered, and live subscribers fill the
 * gap from the database on the next change they receive.
 */
function failSoft(client: Redis, report: (error: unknown) => void): Redis {
  return new Proxy(client, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== 'publish' && property !== 'subscribe' && property !== 'unsubscribe') return value;
      return (...args: unknown[]) => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args).catch(report);
    },
  });
}

/** Logs Redis errors once a second at most: an outage fails every publish. */
function reportOnceASecond(): (error: unknown) => void {
  let lastReport = 0;
  return (error) => {
    if (Date.now() - lastReport < 1000) return;
    lastReport = Date.now();
    console.error(`Redis: ${(error as Error)?.message ?? error} (live updates between instances are delayed until it is back)`);
  };
}
