/**
 * What one subscriber is owed, held in a bounded queue. The publisher side pushes and never waits or
 * fails; the subscriber side pulls at its own pace. A subscriber that falls more than `limit` items
 * behind is closed: its queue is dropped and it receives one SUBSCRIBER_TOO_SLOW error, then the end
 * of the stream. So a stalled client costs at most `limit` items of memory and never slows anyone.
 */
import { SpantreeError } from '../errors.js';
import type { Channels, PubSub } from '../pubsub.js';
import type { Context } from '../schema/context.js';

declare module '../services.js' {
  interface Services {
    /** Every live feed of the server: ended together when it stops. */
    readonly feeds: LiveFeeds;
  }
}

/** The item a feed yields in place of data to end a subscription with an error. */
export class FeedFailure {
  constructor(readonly error: SpantreeError) {}
}

/** Throws the error a feed ended with; resolvers call it on each item. */
export function unlessFailed<T>(item: T | FeedFailure): T {
  if (item instanceof FeedFailure) throw item.error;
  return item;
}

/** What every feed is opened with: the server's feeds, its bound, and the signal of its key's revocation. */
export interface FeedOptions {
  /** The server's live feeds, which the new one joins (and leaves when it ends). */
  feeds: LiveFeeds;
  /** How many items the subscriber may fall behind (SUBSCRIPTION_BUFFER). */
  bufferLimit: number;
  /** Aborted when the API key the subscription was opened with is revoked: the feed ends at once. */
  revoked?: AbortSignal;
}

/** How a subscription's feed is bounded and when it must end, for this request. */
export function feedOptionsOf(ctx: Context): FeedOptions {
  return { feeds: ctx.services.feeds, bufferLimit: ctx.limits.subscriptionBuffer, revoked: ctx.principal.revoked };
}

/**
 * The live feeds of one server. When it stops, every feed ends (SSE responses complete, WebSocket
 * subscribers get their final messages, sockets can close), and a feed opened after that ends at once.
 */
export class LiveFeeds {
  private readonly open = new Set<BoundedFeed<unknown>>();
  private ended = false;
  /**
   * The most items any feed has held at once, over the server's life: what SUBSCRIPTION_BUFFER bounds
   * (a snapshot being replayed counts only the page it has out).
   */
  mostHeld = 0;

  /** How many feeds are open now. */
  get size(): number {
    return this.open.size;
  }

  join(feed: BoundedFeed<unknown>): void {
    if (this.ended) return feed.end();
    this.open.add(feed);
    feed.onEnd(() => this.open.delete(feed));
  }

  /** Ends every feed: the server is stopping. */
  endAll(): void {
    this.ended = true;
    for (const feed of [...this.open]) feed.end();
  }
}

/**
 * Subscribers woken per turn of the event loop. A change for a thousand subscribers wakes them in
 * batches with I/O in between: each woken subscriber executes, serializes and writes synchronously,
 * so waking them all at once would keep the process from reading sockets (pongs, other requests)
 * until every one had been served.
 */
const WAKES_PER_TURN = 32;
/** Items one subscriber takes in a row before the others get a turn. */
const ITEMS_PER_TURN = 8;
let waking: (() => void)[] = [];
let wakeScheduled = false;

/**
 * Resolves in a later turn of the event loop, among at most WAKES_PER_TURN others: for work that
 * arrives in bursts (a thousand clients connecting and subscribing at once), so that it is done a
 * batch at a time with the other requests served in between.
 */
export function turnSlot(): Promise<void> {
  return new Promise((resolve) => wakeSoon(resolve));
}

function wakeSoon(wake: () => void) {
  waking.push(wake);
  if (!wakeScheduled) {
    wakeScheduled = true;
    setImmediate(wakeBatch);
  }
}

function wakeBatch() {
  // Taken out of the queue before they run: under steady load the queue never empties, and what it
  // has woken must not stay in it.
  const batch = waking.length > WAKES_PER_TURN ? waking.splice(0, WAKES_PER_TURN) : waking;
  if (batch === waking) waking = [];
  for (const wake of batch) wake();
  if (waking.length) setImmediate(wakeBatch);
  else wakeScheduled = false;
}

export class BoundedFeed<T> implements AsyncIterableIterator<T | FeedFailure> {
  private queue: (T | FeedFailure)[] = [];
  /** Items at the head of the queue that were preloaded (a replayed snapshot), not fallen behind on. */
  private preloaded = 0;
  private wake?: () => void;
  private ended = false;
  /** Items taken without waiting, since this subscriber last gave others a turn. */
  private streak = 0;
  /** Called when the subscriber has read down to `lowWater` items: a replay sends its next page. */
  private low?: () => void;
  private lowWater = 0;
  private readonly cleanups: (() => void)[] = [];

  private readonly limit: number;
  private readonly feeds: LiveFeeds;

  constructor(options: FeedOptions) {
    this.limit = options.bufferLimit;
    this.feeds = options.feeds;
    const { revoked } = options;
    if (revoked) {
      const onRevoked = () => this.fail(new SpantreeError('UNAUTHENTICATED', 'The API key of this subscription was revoked'));
      if (revoked.aborted) onRevoked();
      else {
        revoked.addEventListener('abort', onRevoked, { once: true });
        this.cleanups.push(() => revoked.removeEventListener('abort', onRevoked));
      }
    }
    options.feeds.join(this as BoundedFeed<unknown>);
  }

  /** Runs `cleanup` once, when the feed ends for any reason (client gone, overflow, shutdown). */
  onEnd(cleanup: () => void): void {
    if (this.ended) cleanup();
    else this.cleanups.push(cleanup);
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Calls `low` whenever the subscriber has read its queue down to `lowWater` items. */
  whenLow(lowWater: number, low: (() => void) | undefined): void {
    this.lowWater = lowWater;
    this.low = low;
  }

  /** How many items wait to be read. */
  get length(): number {
    return this.queue.length;
  }

  /** Queues a page of a snapshot the subscriber asked for; it does not count as falling behind. */
  preload(items: T[]): void {
    if (this.ended) return;
    for (const item of items) this.queue.push(item);
    this.preloaded += items.length;
    this.feeds.mostHeld = Math.max(this.feeds.mostHeld, this.queue.length);
    this.signal();
  }

  /**
   * Sends `snapshot` (what a replay read) a page of at most `pageLimit` at a time, as the subscriber
   * reads: what it holds unread never exceeds its bound, and a subscriber that left stops costing
   * anything at once. `then` runs once all of it is out (the live items held meanwhile follow).
   */
  preloadInPages(snapshot: T[], pageLimit: number, then: () => void): void {
    const pageSize = Math.max(1, Math.min(pageLimit, Math.floor(this.limit * 0.8)));
    // Let go of the snapshot once it is out (or the subscriber has left).
    let rest: T[] | undefined = snapshot;
    let sent = 0;
    const sendPage = () => {
      if (this.ended || !rest) return;
      this.preload(rest.slice(sent, sent + pageSize));
      sent += pageSize;
      if (sent < rest.length) return;
      rest = undefined;
      this.whenLow(0, undefined);
      then();
    };
    this.whenLow(this.limit - pageSize, sendPage);
    sendPage();
  }

  push(item: T): void {
    if (this.ended) return;
    if (this.queue.length - this.preloaded >= this.limit) return this.failTooSlow();
    this.queue.push(item);
    this.feeds.mostHeld = Math.max(this.feeds.mostHeld, this.queue.length);
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
    // A subscriber with a backlog takes a few items, then lets the others (and I/O) have a turn.
    if (++this.streak > ITEMS_PER_TURN) {
      this.streak = 0;
      await turnSlot();
    }
    for (;;) {
      if (this.queue.length) {
        if (this.preloaded > 0) this.preloaded--;
        const value = this.queue.shift()!;
        if (this.queue.length <= this.lowWater && this.low && !this.ended) this.low();
        return { done: false, value };
      }
      if (this.ended) return { done: true, value: undefined };
      this.streak = 0;
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
    if (wake) wakeSoon(wake);
  }
}

/**
 * Hands every message of a pub/sub topic to `onMessage` from now on, until the feed ends: the
 * listener is registered before this returns, so a read made afterwards cannot miss a change
 * published after it. All the feeds of one topic share one listener and receive the same message
 * objects (see `PubSub.follow`).
 */
export function listen<Channel extends keyof Channels>(
  pubsub: PubSub,
  channel: Channel,
  key: Channels[Channel][0],
  feed: BoundedFeed<unknown>,
  onMessage: (message: Channels[Channel][1]) => void,
): void {
  const stop = pubsub.follow(channel, key, (message) => feed.closed || onMessage(message));
  feed.onEnd(stop);
}
