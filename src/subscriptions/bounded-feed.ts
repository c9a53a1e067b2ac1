/**
 * What one subscriber is owed, held in a bounded queue. The publisher side pushes and never waits or
 * fails; the subscriber side pulls at its own pace. A subscriber that falls more than `limit` items
 * behind is closed: its queue is dropped and it receives one SUBSCRIBER_TOO_SLOW error, then the end
 * of the stream. So a stalled client costs at most `limit` items of memory and never slows anyone.
 */
import { SpantreeError } from '../errors.js';
import { shutdownSignal } from '../shutdown.js';

/** The item a feed yields in place of data to end a subscription with an error. */
export class FeedFailure {
  constructor(readonly error: SpantreeError) {}
}

/** Throws the error a feed ended with; resolvers call it on each item. */
export function unlessFailed<T>(item: T | FeedFailure): T {
  if (item instanceof FeedFailure) throw item.error;
  return item;
}

/** What every feed is opened with: its bound, and the signal of its key's revocation. */
export interface FeedOptions {
  /** How many items the subscriber may fall behind (SUBSCRIPTION_BUFFER). */
  bufferLimit: number;
  /** Aborted when the API key the subscription was opened with is revoked: the feed ends at once. */
  revoked?: AbortSignal;
}

let highWater = 0;
/** The most items any feed in this process has held at once (for the memory-bound tests). */
export function feedHighWater(): number {
  return highWater;
}

export class BoundedFeed<T> implements AsyncIterableIterator<T | FeedFailure> {
  private queue: (T | FeedFailure)[] = [];
  /** Items at the head of the queue that were preloaded (a replayed snapshot), not fallen behind on. */
  private preloaded = 0;
  private wake?: () => void;
  private ended = false;
  private readonly cleanups: (() => void)[] = [];
  private readonly onShutdown = () => this.end();

  private readonly limit: number;

  constructor(options: FeedOptions) {
    this.limit = options.bufferLimit;
    // The server is stopping: end the stream, so SSE responses complete and sockets can close.
    shutdownSignal.signal.addEventListener('abort', this.onShutdown, { once: true });
    this.cleanups.push(() => shutdownSignal.signal.removeEventListener('abort', this.onShutdown));
    const { revoked } = options;
    if (revoked) {
      const onRevoked = () => this.fail(new SpantreeError('UNAUTHENTICATED', 'The API key of this subscription was revoked'));
      if (revoked.aborted) onRevoked();
      revoked.addEventListener('abort', onRevoked, { once: true });
      this.cleanups.push(() => revoked.removeEventListener('abort', onRevoked));
    }
  }

  /** Runs `cleanup` once, when the feed ends for any reason (client gone, overflow, shutdown). */
  onEnd(cleanup: () => void): void {
    if (this.ended) cleanup();
    else this.cleanups.push(cleanup);
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Queues a snapshot the subscriber asked for; it does not count as falling behind. */
  preload(items: T[]): void {
    if (this.ended) return;
    this.queue.push(...items);
    this.preloaded += items.length;
    this.signal();
  }

  push(item: T): void {
    if (this.ended) return;
    if (this.queue.length - this.preloaded >= this.limit) return this.failTooSlow();
    this.queue.push(item);
    highWater = Math.max(highWater, this.queue.length);
    this.signal();
  }

  /** Closes a subscriber that fell `limit` changes behind, with the error that says so. */
  failTooSlow(): void {
    this.fail(
      new SpantreeError(
        'SUBSCRIBER_TOO_SLOW',
        `This subscriber fell more than ${this.limit} changes behind and was closed; subscribe again (with replay: true to catch up)`,
      ),
    );
  }

  /** Ends the feed because what it follows was deleted (deleteTrace, or the trace's retention clock). */
  deleted(what: string): void {
    this.fail(new SpantreeError('NOT_FOUND', `${what} was deleted`));
  }

  /** Ends the feed because the server could not keep it complete (a database or Redis failure). */
  interrupt(): void {
    this.fail(
      new SpantreeError('SUBSCRIPTION_INTERRUPTED', 'Live updates were interrupted; subscribe again (with replay: true to catch up)'),
    );
  }

  /** Ends the feed with an error for the subscriber, dropping what it had not read yet. */
  fail(error: SpantreeError): void {
    if (this.ended) return;
    this.queue = [new FeedFailure(error)];
    this.preloaded = 0;
    this.end();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const cleanup of this.cleanups.splice(0)) {
      try {
        cleanup();
      } catch {
        // Releasing one resource must not keep the others held.
      }
    }
    this.signal();
  }

  async next(): Promise<IteratorResult<T | FeedFailure>> {
    for (;;) {
      if (this.queue.length) {
        if (this.preloaded > 0) this.preloaded--;
        return { done: false, value: this.queue.shift()! };
      }
      if (this.ended) return { done: true, value: undefined };
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  async return(): Promise<IteratorResult<T | FeedFailure>> {
    this.queue = [];
    this.preloaded = 0;
    this.end();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  private signal() {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/**
 * Pumps a pub/sub topic into `onMessage` from now on: the listener is registered before this
 * returns, so a read made afterwards cannot miss a change published after it.
 */
export function listen<T>(source: AsyncIterable<T>, feed: BoundedFeed<unknown>, onMessage: (message: T) => void): void {
  const iterator = source[Symbol.asyncIterator]();
  feed.onEnd(() => void iterator.return?.());
  const pump = async () => {
    for (;;) {
      const next = await iterator.next();
      if (next.done || feed.closed) return;
      onMessage(next.value);
    }
  };
  pump().catch(() => feed.interrupt());
}
