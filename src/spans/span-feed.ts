/**
 * A live view of one trace: every span change, in the order the changes were committed.
 *
 * The changes of a trace are put in order once per process (`TraceChanges`), whatever the number of
 * subscribers: one pub/sub listener, one reorder buffer, one gap fill, and one change object per
 * change, handed to every subscriber (so that subscribers with the same operation can share its
 * execution and its serialized payload: src/subscriptions/shared-execution.ts).
 *
 * Each change carries its trace-wide number (`seq`, assigned under the trace's row lock, so numbers
 * follow commit order). Change n+1 goes out only after n. A change that has not arrived in
 * GAP_WAIT_MS (reordered or lost between instances) is filled in from the database: the spans whose
 * last change is past what was sent are exactly the state the missing changes led to.
 *
 * With `replay`, the spans already stored come first, as CREATED in start order, read in pages as the
 * subscriber reads them (a 100,000-span trace is never held whole for a subscriber that stopped
 * reading). The subscriber follows the trace's changes before the first page is read; the live
 * changes wait until the replay ends, and a change already reflected by the stored state a page sent
 * is skipped, so there is no gap and no duplicate. Subscribers that join together share the pages.
 */
import { database } from '../db/database.js';
import { NotFound } from '../errors.js';
import { isTraceDeletion, onEveryMessage, traceKey, type SpanChangeMessage } from '../pubsub.js';
import { BoundedFeed, type FeedFailure, type FeedOptions } from '../subscriptions/bounded-feed.js';
import type { Scope, SpanRow } from './span.service.js';

export interface SpanChangeEvent {
  op: 'CREATED' | 'UPDATED';
  span: SpanRow;
  seq: number;
  /** Sent from the stored snapshot of a replay, rather than as a live change. */
  replayed: boolean;
}

/** How long an out-of-order change waits for the ones before it before the database fills the gap. */
const GAP_WAIT_MS = 150;
/** One catch-up read soon after following a trace covers changes published while a Redis SUBSCRIBE was in flight. */
const CATCH_UP_AFTER_MS = 500;
/** Spans per page of a replay. */
const REPLAY_PAGE = 100;
/** How long a page read stays available to the subscribers that joined before it started. */
const PAGE_SHARED_MS = 1000;

/** What follows a trace's changes: one subscriber. */
interface Follower {
  change(event: SpanChangeEvent): void;
  deleted(): void;
  interrupted(): void;
}

/** The changes of one trace, in commit order, for every subscriber of it in this process. */
class TraceChanges {
  readonly followers = new Set<Follower>();
  /** Resolves once the trace is known to exist and where its changes start; rejects with NotFound. */
  readonly ready: Promise<void>;
  private readonly pending = new Map<number, SpanChangeMessage>();
  /** The highest seq sent; undefined until the start is read. */
  private delivered: number | undefined;
  /** Spans created after this seq are new to the stream: their first change goes out as CREATED. */
  private baseline = 0;
  private readonly seenSince = new Set<string>();
  private filling = false;
  private gapTimer: NodeJS.Timeout | undefined;
  private readonly catchUp: NodeJS.Timeout;
  private readonly stopListening: () => void;
  private stopped = false;

  constructor(
    readonly projectId: string,
    readonly traceId: string,
    private readonly bufferLimit: number,
    private readonly forget: () => void,
  ) {
    this.stopListening = onEveryMessage('trace:spans', traceKey(projectId, traceId), (message) => this.arrived(message), () => this.interrupt());
    this.ready = this.start();
    this.ready.catch(() => this.stop());
    this.catchUp = setTimeout(() => void this.fill(), CATCH_UP_AFTER_MS);
  }

  private async start() {
    const trace = await database().read.trace.findUnique({
      where: { projectId_id: { projectId: this.projectId, id: this.traceId } },
      select: { spanSeq: true },
    });
    if (!trace) throw new NotFound(`trace ${this.traceId} not found`, { traceId: this.traceId });
    this.baseline = trace.spanSeq;
    this.delivered = trace.spanSeq;
    this.drain();
  }

  private arrived(message: SpanChangeMessage | { deletedTraceId: string }) {
    if (isTraceDeletion(message)) {
      for (const follower of [...this.followers]) follower.deleted();
      return this.stop();
    }
    if (this.delivered !== undefined && message.span.seq <= this.delivered) return;
    this.pending.set(message.span.seq, message);
    this.drain();
  }

  private send(span: SpanRow) {
    // A span the stream has not sent yet goes out as CREATED, whatever became of it since.
    const isNew = span.createdSeq > this.baseline && !this.seenSince.has(span.id);
    if (span.createdSeq > this.baseline) this.seenSince.add(span.id);
    const event: SpanChangeEvent = { op: isNew ? 'CREATED' : 'UPDATED', span, seq: span.seq, replayed: false };
    this.delivered = Math.max(this.delivered ?? 0, span.seq);
    for (const follower of this.followers) follower.change(event);
  }

  private drain() {
    if (this.delivered === undefined || this.filling || this.stopped) return;
    for (const seq of this.pending.keys()) if (seq <= this.delivered) this.pending.delete(seq);
    while (this.pending.has(this.delivered + 1)) {
      const message = this.pending.get(this.delivered + 1)!;
      this.pending.delete(this.delivered + 1);
      this.send(message.span);
    }
    if (this.pending.size === 0) {
      clearTimeout(this.gapTimer);
      this.gapTimer = undefined;
    } else if (this.pending.size > this.bufferLimit) {
      void this.fill(); // a long gap: no need to wait, and no need to hold more
    } else {
      // Timed from when the gap opened, not from the latest arrival: busy traces must not postpone it.
      this.gapTimer ??= setTimeout(() => {
        this.gapTimer = undefined;
        void this.fill();
      }, GAP_WAIT_MS);
    }
  }

  private async fill() {
    if (this.filling || this.stopped || this.delivered === undefined) return;
    this.filling = true;
    try {
      const rows = await database().read.span.findMany({
        where: { projectId: this.projectId, traceId: this.traceId, seq: { gt: this.delivered } },
        orderBy: { seq: 'asc' },
      });
      for (const row of rows) this.send(row);
    } catch {
      return this.interrupt();
    } finally {
      this.filling = false;
    }
    this.drain();
  }

  private interrupt() {
    for (const follower of [...this.followers]) follower.interrupted();
    this.stop();
  }

  /** The highest seq sent to the followers (once ready). */
  get sentUpTo(): number {
    return this.delivered ?? 0;
  }

  /** Stops following the trace; subscribers that come later start anew. */
  stop() {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.gapTimer);
    clearTimeout(this.catchUp);
    this.stopListening();
    this.forget();
  }
}

const traces = new Map<string, TraceChanges>();

/** Follows a trace's changes; call the returned function to stop. */
function follow(projectId: string, traceId: string, bufferLimit: number, follower: Follower): { changes: TraceChanges; leave(): void } {
  const key = traceKey(projectId, traceId);
  let changes = traces.get(key);
  if (!changes) {
    const created: TraceChanges = new TraceChanges(projectId, traceId, bufferLimit, () => {
      if (traces.get(key) === created) traces.delete(key);
    });
    traces.set(key, (changes = created));
  }
  changes.followers.add(follower);
  const following = changes;
  return {
    changes,
    leave: () => {
      following.followers.delete(follower);
      if (following.followers.size === 0) following.stop();
    },
  };
}

/**
 * Orders subscribers' joins and page reads: a page read that started after a subscriber began
 * following the trace reflects every change the subscriber was not sent live, so it may use it.
 */
let joins = 0;
const pages = new Map<string, { startedAfter: number; events: Promise<SpanChangeEvent[]> }>();

/**
 * One page of a trace's stored spans in start order, after `cursor`: the read another subscriber
 * started since `joinedAt` if there is one, else a new one. A new read starts on the next turn of the
 * event loop, so that subscribers joining together (a wall screen opening, a team following a link)
 * share it, and the change objects in it (so they share execution too).
 */
function storedPage(projectId: string, traceId: string, cursor: SpanRow | undefined, joinedAt: number): Promise<SpanChangeEvent[]> {
  const key = `${projectId}\u0000${traceId}\u0000${cursor ? `${cursor.startTime.getTime()}\u0000${cursor.id}` : ''}`;
  const shared = pages.get(key);
  if (shared && shared.startedAfter >= joinedAt) return shared.events;
  const entry = { startedAfter: Infinity, events: undefined as unknown as Promise<SpanChangeEvent[]> };
  entry.events = new Promise<SpanRow[]>((resolve, reject) =>
    setImmediate(() => {
      entry.startedAfter = joins;
      const after = cursor
        ? { OR: [{ startTime: { gt: cursor.startTime } }, { startTime: cursor.startTime, id: { gt: cursor.id } }] }
        : {};
      database()
        .read.span.findMany({
          where: { projectId, traceId, ...after },
          orderBy: [{ startTime: 'asc' }, { id: 'asc' }],
          take: REPLAY_PAGE,
        })
        .then(resolve, reject);
    }),
  ).then((rows) => rows.map((span) => ({ op: 'CREATED' as const, span, seq: span.seq, replayed: true })));
  pages.set(key, entry);
  const forget = () => {
    if (pages.get(key) === entry) pages.delete(key);
  };
  entry.events.then(
    () => setTimeout(forget, PAGE_SHARED_MS).unref(),
    forget,
  );
  return entry.events;
}

export async function openTraceSpanFeed(
  scope: Scope,
  traceId: string,
  options: FeedOptions & { replay: boolean },
): Promise<AsyncIterable<SpanChangeEvent | FeedFailure>> {
  const { projectId } = scope;
  const feed = new BoundedFeed<SpanChangeEvent>(options);
  const joinedAt = ++joins;
  /** Live changes held while the replay is sent; undefined once they flow. */
  let held: SpanChangeEvent[] | undefined = options.replay ? [] : undefined;
  /** Without replay: changes up to this seq happened before the subscriber came. */
  let baseline = 0;
  /** With replay: the seq at which the replay sent each span; changes up to it are in what it sent. */
  let replayed: Map<string, number> | undefined = options.replay ? new Map() : undefined;
  let replayedUpTo = 0;
  /** Spans this subscriber has been sent (with replay), or created since it came (without). */
  const known = new Set<string>();

  const forward = (event: SpanChangeEvent) => {
    if (event.seq <= baseline) return;
    const { id } = event.span;
    let isNew: boolean;
    if (replayed) {
      const sentAt = replayed.get(id);
      if (sentAt !== undefined && event.seq <= sentAt) return;
      if (event.seq > replayedUpTo) replayed = undefined; // past everything the replay sent
      isNew = !known.has(id);
      known.add(id);
    } else {
      isNew = event.span.createdSeq > baseline && !known.has(id);
      if (event.span.createdSeq > baseline) known.add(id);
    }
    const op = isNew ? 'CREATED' : 'UPDATED';
    // The shared change object whenever this subscriber sees it as the stream does (nearly always).
    feed.push(op === event.op ? event : { ...event, op });
  };

  const { changes, leave } = follow(projectId, traceId, options.bufferLimit, {
    change: (event) => {
      if (!held) return forward(event);
      held.push(event);
      if (held.length > options.bufferLimit) feed.failTooSlow();
    },
    deleted: () => feed.deleted(`trace ${traceId}`),
    interrupted: () => feed.interrupt(),
  });
  feed.onEnd(leave);

  try {
    await changes.ready;
  } catch (error) {
    feed.end();
    throw error;
  }
  if (!options.replay) {
    // From the changes the stream has sent so far: nothing to read.
    baseline = changes.sentUpTo;
    return feed;
  }

  // The replay: a page whenever the subscriber has read most of the previous one.
  let cursor: SpanRow | undefined;
  let reading = false;
  const nextPage = async () => {
    if (reading || feed.closed || !held) return;
    reading = true;
    try {
      const events = await storedPage(projectId, traceId, cursor, joinedAt);
      if (feed.closed) return;
      const fresh = events.filter((event) => !known.has(event.span.id));
      for (const event of fresh) {
        known.add(event.span.id);
        replayed!.set(event.span.id, event.seq);
        replayedUpTo = Math.max(replayedUpTo, event.seq);
      }
      feed.preload(fresh);
      if (events.length < REPLAY_PAGE) {
        // The replay is complete: the live changes held meanwhile follow, then the rest as it comes.
        feed.whenLow(0, undefined);
        const live = held;
        held = undefined;
        for (const event of live) forward(event);
        return;
      }
      cursor = events[events.length - 1]!.span;
    } catch {
      return feed.interrupt();
    } finally {
      reading = false;
    }
    if (feed.length <= REPLAY_PAGE / 4) void nextPage();
  };
  feed.whenLow(REPLAY_PAGE / 4, () => void nextPage());
  await nextPage();
  return feed;
}
