/**
 * A live view of one trace: every span change, in the order the changes were committed. A trace id
 * with no span yet is waited for: the feed stays open and its first span arrives as it is written.
 *
 * The changes of a trace are put in order once per server (`TraceChanges`), whatever the number of
 * subscribers: one pub/sub listener, one reorder buffer, one gap fill, and one change object per
 * change, handed to every subscriber (so that subscribers with the same operation can share its
 * execution and its serialized payload: src/subscriptions/shared-execution.ts).
 *
 * Each change carries its trace-wide number (`seq`, assigned under the trace's row lock, so numbers
 * follow commit order). Change n+1 goes out only after n. A change that has not arrived in
 * GAP_WAIT_MS (reordered or lost between instances) is filled in from the database: the spans whose
 * last change is past what was sent are exactly the state the missing changes led to.
 *
 * A deleted span (deleteSpan) goes out as DELETED, with its own number, as it was when deleted. The
 * database keeps no trace of it: a DELETED change lost between instances, or missed by a subscriber
 * that resumes with `after`, is not filled in.
 *
 * With `replay`, the spans already stored come first, as CREATED in start order, read in pages as the
 * subscriber reads them (a 100,000-span trace is never held whole for a subscriber that stopped
 * reading). The subscriber follows the trace's changes before the first page is read; the live
 * changes wait until the replay ends, and a change already reflected by the stored state a page sent
 * is skipped, so there is no gap and no duplicate. Subscribers that join together share the pages.
 *
 * With `after`, a client that read the spans itself (or lost its connection) resumes where it left
 * off: only the changes with a higher seq are sent, with no replay of what it already holds.
 */
import type { Database } from '../db/database.js';
import { CONTENT_FLAGS, isTraceDeletion, traceKey, type ContentColumn, type PubSub, type SpanChangeMessage } from '../pubsub.js';
import { BoundedFeed, type FeedFailure, type FeedOptions } from '../subscriptions/bounded-feed.js';
import type { SpanRow } from '../db/rows.js';
import type { Scope } from '../schema/context.js';

export interface SpanChangeEvent {
  op: SpanChangeMessage['op'];
  span: SpanRow;
  seq: number;
  /** Sent from the stored snapshot of a replay, rather than as a live change. */
  replayed: boolean;
  /** Reads the span's content, for a span sent without it (a replay's; live changes read theirs per change). */
  content?: () => Promise<SpanContent | undefined>;
}

/** How long an out-of-order change waits for the ones before it before the database fills the gap. */
const GAP_WAIT_MS = 150;
/** One catch-up read soon after following a trace covers changes published while a Redis SUBSCRIBE was in flight. */
const CATCH_UP_AFTER_MS = 500;
/** Spans per page of a replay, at most (a page and what is left unread of the last fit in the buffer). */
const REPLAY_PAGE = 100;
/**
 * How long a replay's snapshot is kept for subscribers that join later: they take it with the
 * changes sent since (held by the trace's stream, up to RECENT_CHANGES), rather than read it again.
 */
const SNAPSHOT_SHARED_MS = 10_000;
const RECENT_CHANGES = 1000;

/** What follows a trace's changes: one subscriber. */
interface Follower {
  change(event: SpanChangeEvent): void;
  deleted(): void;
  interrupted(): void;
}

/** The changes of one trace, in commit order, for every subscriber of it on this server. */
class TraceChanges {
  readonly followers = new Set<Follower>();
  /** Resolves once it is known where the trace's changes start (0 for a trace with no span yet). */
  readonly ready: Promise<void>;
  private readonly pending = new Map<number, SpanChangeMessage>();
  /** The highest seq sent; undefined until the start is read. */
  private delivered: number | undefined;
  /** Spans created after this seq are new to the stream: their first change goes out as CREATED. */
  private baseline = 0;
  private readonly seenSince = new Set<string>();
  /** The last changes sent, so that a subscriber joining later can start from a snapshot read earlier. */
  private readonly recent: SpanChangeEvent[] = [];
  private filling = false;
  /** The trace's change count as the last gap fill read it. */
  private committedAtLastFill = 0;
  private gapTimer: NodeJS.Timeout | undefined;
  private readonly catchUp: NodeJS.Timeout;
  private readonly stopListening: () => void;
  private stopped = false;

  constructor(
    private readonly db: Database,
    pubsub: PubSub,
    readonly projectId: string,
    readonly traceId: string,
    private readonly bufferLimit: number,
    private readonly forget: () => void,
  ) {
    this.stopListening = pubsub.follow('trace:spans', traceKey(projectId, traceId), (message) => this.arrived(message));
    this.ready = this.start();
    this.ready.catch(() => this.stop());
    this.catchUp = setTimeout(() => void this.fill(), CATCH_UP_AFTER_MS);
  }

  private async start() {
    // A trace with no span yet (or only in another project: the read is scoped to this one) is
    // waited for: its first change will be number 1, and every change from there on is sent.
    this.baseline = await this.changeCount();
    this.delivered = this.baseline;
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

  private send(span: SpanRow, deleted = false) {
    // A span the stream has not sent yet goes out as CREATED, whatever became of it since; one deleted
    // goes out as DELETED, and if its id is used again, the new span is new to the stream.
    const isNew = span.createdSeq > this.baseline && !this.seenSince.has(span.id);
    if (deleted) this.seenSince.delete(span.id);
    else if (span.createdSeq > this.baseline) this.seenSince.add(span.id);
    const event: SpanChangeEvent = { op: deleted ? 'DELETED' : isNew ? 'CREATED' : 'UPDATED', span, seq: span.seq, replayed: false };
    this.delivered = Math.max(this.delivered ?? 0, span.seq);
    this.recent.push(event);
    if (this.recent.length > RECENT_CHANGES) this.recent.shift();
    for (const follower of this.followers) follower.change(event);
  }

  private drain() {
    if (this.delivered === undefined || this.filling || this.stopped) return;
    for (const seq of this.pending.keys()) if (seq <= this.delivered) this.pending.delete(seq);
    while (this.pending.has(this.delivered + 1)) {
      const message = this.pending.get(this.delivered + 1)!;
      this.pending.delete(this.delivered + 1);
      this.send(message.span, message.op === 'DELETED');
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
      // The trace's change count first: deletions among the missing changes leave no span to read.
      const committed = await this.changeCount();
      const rows = await spansChangedAfter(this.db, this.projectId, this.traceId, this.delivered);
      // Deletions that did arrive go out in their turn among the spans read.
      const deletions = [...this.pending.values()].filter((message) => message.op === 'DELETED');
      const changes = [...rows.map((span) => ({ span, deleted: false })), ...deletions.map(({ span }) => ({ span, deleted: true }))];
      for (const { span, deleted } of changes.sort((a, b) => a.span.seq - b.span.seq)) {
        if (span.seq > this.delivered) this.send(span, deleted);
      }
      // Those the previous fill knew were committed and that have still not arrived were lost between
      // instances: passed over, rather than waited for on every gap to come. (A message may arrive a
      // moment after its commit is visible, so the count read now is only acted on by the next fill.)
      this.delivered = Math.max(this.delivered, this.committedAtLastFill);
      this.committedAtLastFill = committed;
    } catch {
      return this.interrupt();
    } finally {
      this.filling = false;
    }
    this.drain();
  }

  /** How many changes the trace has committed (0 for a trace not stored, or deleted). */
  private async changeCount(): Promise<number> {
    const trace = await this.db.read.trace.findUnique({
      where: { projectId_id: { projectId: this.projectId, id: this.traceId } },
      select: { spanSeq: true },
    });
    return trace?.spanSeq ?? 0;
  }

  private interrupt() {
    for (const follower of [...this.followers]) follower.interrupted();
    this.stop();
  }

  /**
   * The changes sent after `seq`, if this stream still holds all of them: what a snapshot that
   * reflects changes up to `seq` is missing for a subscriber that starts following now.
   */
  changesAfter(seq: number): SpanChangeEvent[] | undefined {
    if (this.sentUpTo <= seq) return [];
    if (this.recent.length === 0 || this.recent[0]!.seq > seq + 1) return undefined;
    return this.recent.filter((event) => event.seq > seq);
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

/**
 * The spans whose last change is past `seq`, in change order, without their content (read when a
 * subscriber selects it): exactly the state the changes after `seq` led to.
 */
function spansChangedAfter(db: Database, projectId: string, traceId: string, seq: number): Promise<SpanRow[]> {
  return db.read.span.findMany({
    where: { projectId, traceId, seq: { gt: seq } },
    orderBy: { seq: 'asc' },
    omit: CONTENT_FLAGS,
  }) as Promise<SpanRow[]>;
}

/** A span's content: what changes and snapshots carry a way to read, rather than the content itself. */
export type SpanContent = Pick<SpanRow, ContentColumn>;

/** Spans whose content one statement reads when a replay's subscribers select it. */
const CONTENT_PAGE = 50;
/** How long a page's content is surely kept once read: enough for its subscribers to send the page. */
const CONTENT_KEPT_MS = 2000;

/**
 * The content of a page of a snapshot's spans, read in one statement for every subscriber that
 * selects it, and kept for a moment after (then only while something still uses it): a snapshot of a
 * trace with megabytes per span costs its metadata, not its content, for as long as a slow subscriber
 * takes to read it.
 */
class ContentPage {
  private loading?: Promise<Map<string, SpanContent>>;
  private loaded?: WeakRef<Map<string, SpanContent>>;

  constructor(
    private readonly db: Database,
    private readonly projectId: string,
    private readonly ids: string[],
  ) {}

  /** Held for CONTENT_KEPT_MS after the read, for the page's other spans; weakly after that. */
  private held?: Map<string, SpanContent>;

  async of(id: string): Promise<SpanContent | undefined> {
    const kept = this.held ?? this.loaded?.deref();
    if (kept) return kept.get(id);
    this.loading ??= this.db.read.span.findMany({
        where: { projectId: this.projectId, id: { in: this.ids } },
        select: { id: true, ...CONTENT_FLAGS },
      })
      .then((rows) => {
        const content = new Map(rows.map(({ id: spanId, ...rest }) => [spanId, rest]));
        this.loaded = new WeakRef(content);
        this.held = content;
        setTimeout(() => (this.held = undefined), CONTENT_KEPT_MS).unref();
        return content;
      })
      .finally(() => (this.loading = undefined));
    return (await this.loading).get(id);
  }
}

interface Snapshot {
  /** The trace's stream that was followed when the read started. */
  changes: TraceChanges;
  /** The value of `TraceSpanFeeds.joins` when the read started. */
  startedAfter: number;
  /** The stored spans as CREATED changes, in start order, and the last change they reflect. */
  read: Promise<{ events: SpanChangeEvent[]; upTo: number }>;
}

/** What a subscriber replays: the stored spans, then the changes it would otherwise have missed. */
interface Replay {
  events: SpanChangeEvent[];
  upTo: number;
  missed: SpanChangeEvent[];
}

declare module '../services.js' {
  interface Services {
    /** The live span feeds of traces: each followed trace's changes put in order once for all its subscribers. */
    readonly spanFeeds: TraceSpanFeeds;
  }
}

/** The span feeds of one server: the traces it follows, and the replay snapshots its subscribers share. */
export class TraceSpanFeeds {
  private readonly traces = new Map<string, TraceChanges>();
  private readonly snapshots = new Map<string, Snapshot>();
  /**
   * Orders subscribers' joins and snapshot reads: a snapshot read that started after a subscriber
   * began following the trace reflects every change the subscriber was not sent live.
   */
  private joins = 0;

  constructor(
    private readonly db: Database,
    private readonly pubsub: PubSub,
  ) {}

  /** A feed of a trace's span changes for one subscriber (see the top of this file). */
  async open(
    scope: Scope,
    traceId: string,
    options: FeedOptions & { replay: boolean; after?: number | null },
  ): Promise<AsyncIterable<SpanChangeEvent | FeedFailure>> {
    const { projectId } = scope;
    const feed = new BoundedFeed<SpanChangeEvent>(options);
    const joinedAt = ++this.joins;
    const resuming = options.after !== undefined && options.after !== null;
    /** Live changes held while the replay (or what was missed since `after`) is read and sent; undefined once they flow. */
    let held: SpanChangeEvent[] | undefined = options.replay || resuming ? [] : undefined;
    /** Changes up to this seq are reflected in what the subscriber was sent first (or came before it). */
    let baseline = 0;
    /** The last seq sent live: a change can reach the stream after a read already reflected it. */
    let sentThrough = 0;
    /** Spans created after the baseline that this subscriber has been sent. */
    const seen = new Set<string>();

    const forward = (event: SpanChangeEvent) => {
      if (event.seq <= baseline || event.seq <= sentThrough) return;
      sentThrough = event.seq;
      const { id, createdSeq } = event.span;
      // A span the subscriber has not been sent yet arrives as CREATED, whatever became of it since;
      // if it was deleted before it was sent, the subscriber hears nothing of it.
      const isNew = createdSeq > baseline && !seen.has(id);
      if (event.op === 'DELETED') {
        seen.delete(id);
        if (!isNew) feed.push(event);
        return;
      }
      if (createdSeq > baseline) seen.add(id);
      const op = isNew ? 'CREATED' : 'UPDATED';
      // The shared change object whenever this subscriber sees it as the stream does (nearly always).
      feed.push(op === event.op ? event : { ...event, op });
    };

    const { changes, leave } = this.follow(projectId, traceId, options.bufferLimit, {
      change: (event) => {
        if (!held) return forward(event);
        held.push(event);
        if (held.length > options.bufferLimit) feed.failTooSlow();
      },
      deleted: () => feed.deleted(`trace ${traceId}`),
      interrupted: () => feed.interrupt(),
    });
    feed.onEnd(leave);

    let stored: SpanChangeEvent[];
    try {
      await changes.ready;
      if (resuming) {
        // From where the client's own read (or its last change) left off: the changes since, from the
        // stream when it still holds them, else the spans they left (one read, usually of nothing).
        baseline = options.after!;
        const missed =
          changes.changesAfter(baseline) ??
          (await spansChangedAfter(this.db, projectId, traceId, baseline)).map((span): SpanChangeEvent => ({ op: 'UPDATED', span, seq: span.seq, replayed: false }));
        const lastMissed = missed.at(-1)?.seq ?? 0;
        const live = [...missed, ...held!.filter((event) => event.seq > lastMissed)];
        held = undefined;
        for (const event of live) forward(event);
        return feed;
      }
      if (!options.replay) {
        // From the changes the stream has sent so far: nothing to read.
        baseline = changes.sentUpTo;
        return feed;
      }
      const replay = await this.snapshotOf(projectId, traceId, changes, joinedAt);
      stored = replay.events;
      baseline = replay.upTo;
      // Changes sent before this subscriber followed the trace, then those held since (without repeats).
      const lastMissed = replay.missed.at(-1)?.seq ?? 0;
      held = [...replay.missed, ...held!.filter((event) => event.seq > lastMissed)];
    } catch (error) {
      feed.end();
      throw error;
    }

    feed.preloadInPages(stored, REPLAY_PAGE, () => {
      // The replay is out: the live changes held meanwhile follow, then the rest as it comes.
      const live = held ?? [];
      held = undefined;
      for (const event of live) forward(event);
    });
    return feed;
  }

  /** Follows a trace's changes; call the returned function to stop. */
  private follow(projectId: string, traceId: string, bufferLimit: number, follower: Follower): { changes: TraceChanges; leave(): void } {
    const key = traceKey(projectId, traceId);
    let changes = this.traces.get(key);
    if (!changes) {
      const created: TraceChanges = new TraceChanges(this.db, this.pubsub, projectId, traceId, bufferLimit, () => {
        if (this.traces.get(key) === created) this.traces.delete(key);
      });
      this.traces.set(key, (changes = created));
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
   * The spans stored in a trace, in start order, as CREATED changes, from one statement: a consistent
   * cut, whose highest seq is the last change it reflects. Read without content (see ContentPage).
   *
   * Subscribers share reads, and the change objects in them (so they share execution too): one that
   * joined before a read started takes it as it is; one that joined after takes it with the changes
   * the trace's stream sent since, as long as the stream has followed the trace all along and still
   * holds them. A new read starts on the next turn of the event loop, so that subscribers joining
   * together (a wall screen opening, a team following a link) share it.
   */
  private async snapshotOf(projectId: string, traceId: string, changes: TraceChanges, joinedAt: number): Promise<Replay> {
    const key = traceKey(projectId, traceId);
    const shared = this.snapshots.get(key);
    if (shared && shared.changes === changes) {
      if (shared.startedAfter >= joinedAt) return { ...(await shared.read), missed: [] };
      const snapshot = await shared.read;
      const missed = changes.changesAfter(snapshot.upTo);
      if (missed) return { ...snapshot, missed };
    }
    const entry: Snapshot = { changes, startedAfter: Infinity, read: undefined as unknown as Snapshot['read'] };
    entry.read = new Promise<SpanRow[]>((resolve, reject) =>
      setImmediate(() => {
        entry.startedAfter = this.joins;
        this.db.read.span
          .findMany({
            where: { projectId, traceId },
            orderBy: [{ startTime: 'asc' }, { id: 'asc' }],
            omit: CONTENT_FLAGS,
          })
          .then((rows) => resolve(rows as SpanRow[]), reject);
      }),
    ).then((rows) => {
      const events: SpanChangeEvent[] = [];
      for (let start = 0; start < rows.length; start += CONTENT_PAGE) {
        const page = rows.slice(start, start + CONTENT_PAGE);
        const content = new ContentPage(this.db, projectId, page.map((span) => span.id));
        for (const span of page) events.push({ op: 'CREATED', span, seq: span.seq, replayed: true, content: () => content.of(span.id) });
      }
      return { events, upTo: rows.reduce((max, span) => Math.max(max, span.seq), 0) };
    });
    this.snapshots.set(key, entry);
    const forget = () => {
      if (this.snapshots.get(key) === entry) this.snapshots.delete(key);
    };
    entry.read.then(() => setTimeout(forget, SNAPSHOT_SHARED_MS).unref(), forget);
    return { ...(await entry.read), missed: [] };
  }
}
