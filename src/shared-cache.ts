/**
 * A cache of what the database says, kept by each instance and invalidated on every instance at once:
 * the API keys requests authenticate with, the retention rule and the model prices a write applies.
 * Built on lru-cache: at most `max` entries (the least recently used go first), each trusted for `ttlMs`
 * at most, which bounds the harm of an invalidation lost between instances. `invalidate` drops what a
 * change covers here, at once (the writer reads its own write), and publishes it on the cache's
 * channel, so every other instance drops it too.
 */
import { LRUCache } from 'lru-cache';
import type { Channels, PubSub } from './pubsub.js';

/** The channels that carry invalidations; their key is always `all`. */
export type InvalidationChannel = 'apiKey:revoked' | 'retention:changed' | 'prices:changed';

export interface SharedCacheOptions<Value, Channel extends InvalidationChannel> {
  channel: Channel;
  /** Entries kept at most; past it, the least recently used are dropped (and read again when needed). */
  max: number;
  /** How long an entry is trusted; left out, until it is invalidated or dropped. */
  ttlMs?: number;
  /** Whether an invalidation message covers this entry. */
  covers(message: Channels[Channel][1], key: string, value: Value): boolean;
  /** Called with each entry an invalidation drops (not with those dropped for size or age). */
  onInvalidated?(value: Value): void;
}

export class SharedCache<Value extends object, Channel extends InvalidationChannel> {
  private readonly entries: LRUCache<string, Value>;
  private readonly stopFollowing: () => void;

  constructor(
    private readonly pubsub: PubSub,
    private readonly options: SharedCacheOptions<Value, Channel>,
  ) {
    this.entries = new LRUCache<string, Value>({ max: options.max, ...(options.ttlMs ? { ttl: options.ttlMs } : {}) });
    this.stopFollowing = pubsub.follow(options.channel, 'all', (message) => this.drop(message));
  }

  /** The entry of `key`, or what `read` finds (kept unless it is undefined: nothing found is not cached). */
  async get(key: string, read: () => Promise<Value | undefined>): Promise<Value | undefined> {
    const hit = this.entries.get(key);
    if (hit) return hit;
    const value = await read();
    if (value === undefined) return undefined;
    // Another request may have read it meanwhile: everyone shares the entry that was kept first.
    const kept = this.entries.get(key);
    if (kept) return kept;
    this.entries.set(key, value);
    return value;
  }

  /** The entries held now. */
  values(): Value[] {
    return [...this.entries.values()];
  }

  /** After a change commits: drops what it covers here, at once, and on every other instance. */
  invalidate(message: Channels[Channel][1]): void {
    this.drop(message);
    this.pubsub.publish(this.options.channel, ...(['all', message] as unknown as Channels[Channel]));
  }

  /** Drops what `message` covers on this instance only. */
  drop(message: Channels[Channel][1]): void {
    for (const [key, value] of [...this.entries.entries()]) {
      if (!this.options.covers(message, key, value)) continue;
      this.entries.delete(key);
      this.options.onInvalidated?.(value);
    }
  }

  /** Stops following invalidations and drops every entry, as an invalidation would. */
  close(): void {
    this.stopFollowing();
    const values = [...this.entries.values()];
    this.entries.clear();
    for (const value of values) this.options.onInvalidated?.(value);
  }
}
