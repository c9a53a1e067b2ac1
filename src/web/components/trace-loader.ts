/**
 * What the trace view reads, and when. The header comes from the trace's rollups (`spanCount`,
 * `errorCount`, `totalTokens`, `cost`, `status`...), read at once and again at most once a second
 * while changes arrive, never summed from the spans held. The tree comes a page at a time from one
 * snapshot (`Trace.spanConnection`, TREE order): the first page when the view opens, then the pages
 * on screen, a little around them, the first and (while following) the last; far pages are let go,
 * so a walk through a 100,000-span trace holds a few thousand spans at most. The spans written after
 * the snapshot come live (`traceSpans(after: asOf)`) and are laid over it (trace-rows.ts).
 *
 * A new snapshot is read (a "walk") only when the one held cannot say where things are: a span of it
 * was deleted, a new span's parent was never read, a span arrived whose children came before it, or
 * too many new spans lie over it. The pages the view will show are read before the new snapshot
 * replaces the old one, so the rows on screen do not blink.
 */
import { ApiError, gql, onReconnect, subscribe } from '../api.ts';
import { SPAN_ROW_FIELDS, type SpanRow } from './spans.ts';
import { PAGE_SIZE, PAGED_SPAN_FIELDS, TraceRows, type PagedSpan } from './trace-rows.ts';

/** The trace as its header shows it: its rollups, kept by the server as spans are written. */
export interface TraceHeader {
  id: string;
  name: string;
  status: 'RUNNING' | 'OK' | 'ERROR';
  stale: boolean;
  startTime: string;
  endTime: string | null;
  durationMs: number | null;
  sessionId: string | null;
  tags: string[];
  spanCount: number;
  errorCount: number;
  totalTokens: number;
  cost: number;
  rootSpan: { id: string } | null;
}

const HEADER_FIELDS = 'id name status stale startTime endTime durationMs sessionId tags spanCount errorCount totalTokens cost rootSpan { id }';
const TRACE_HEADER = `query TraceHeader($id: ID!) { trace(id: $id) { ${HEADER_FIELDS} } }`;

/** The first page of a walk: where its snapshot is fixed (asOf) and its size (totalCount). */
const TRACE_TREE = `query TraceTree($id: ID!, $first: Int!) {
  trace(id: $id) { spanConnection(first: $first) { asOf totalCount edges { cursor node { ${PAGED_SPAN_FIELDS} } } } }
}`;

/** Any later page of the same walk: after position 0's cursor, skip: position - 1. */
const TRACE_TREE_PAGE = `query TraceTreePage($id: ID!, $first: Int!, $after: String!, $skip: Int!) {
  trace(id: $id) { spanConnection(first: $first, after: $after, skip: $skip) { edges { node { ${PAGED_SPAN_FIELDS} } } } }
}`;

/** The snapshot's last span and its ancestors: the spans whose subtrees end the snapshot, where new spans go. */
const TRACE_TREE_END = `query TraceTreeEnd($id: ID!, $after: String!, $skip: Int!) {
  trace(id: $id) { spanConnection(first: 1, after: $after, skip: $skip) { edges { node { id depth ancestors { id } } } } }
}`;

const TRACE_SPANS = `subscription TraceTreeLive($traceId: ID!, $after: Int!) {
  traceSpans(traceId: $traceId, after: $after) { op seq span { ${SPAN_ROW_FIELDS} } }
}`;

const SPAN_EVENTS = `subscription TraceEventsLive($traceId: ID!) { spanEvents(traceId: $traceId) { id spanId kind } }`;

/** `SpanChange`: a span created, updated or deleted (then as it was). */
export interface SpanChange {
  op: 'CREATED' | 'UPDATED' | 'DELETED';
  seq: number;
  span: SpanRow;
}

interface Connection {
  asOf: number | null;
  totalCount: number;
  edges: { cursor: string; node: PagedSpan }[];
}

/** The least time between two reads of the header. */
const HEADER_REREAD_MS = 1_000;
/** Pages read at once. */
const PARALLEL_READS = 3;
/** Pages kept beyond those on and around the screen, the first and the last: the most recently seen. */
const OTHER_PAGES_KEPT = 8;
/** Rows read ahead of the screen, either side. */
const READ_AHEAD_ROWS = 60;
/** New spans laid over a snapshot before a new one is read. */
const NEW_SPANS_KEPT = 2_000;
/** Changes to spans in no page held, kept for pages on their way (whose rows may be older). */
const RECENT_KEPT = 2_000;
/** The least time between the starts of two walks, when positions moved (a deletion)... */
const WALK_GAP_MS = 300;
/** ...and when new spans only wait for a place (off screen, so a walk per burst is plenty). */
const PLACING_GAP_MS = 2_000;
/** How long a page whose read failed waits before it is read again. */
const RETRY_MS = 2_000;

export interface TraceLoaderEvents {
  /** The rows changed (a page, a live change, a new snapshot): draw again. */
  changed(): void;
  /** The trace's header, read again; null while the trace has no span. */
  header(trace: TraceHeader | null): void;
  /** The trace could not be read. */
  error(message: string): void;
  /** Live updates stopped (a message), or work again (undefined). */
  liveError(message: string | undefined): void;
  /** Spans written live, oldest first, now among the rows. */
  arrived(spanIds: string[]): void;
  /** Spans that changed or got an event; `deleted`: some span was deleted (counts above it changed). */
  touched(spanIds: Set<string>, deleted: boolean): void;
}

export class TraceLoader {
  /** The rows as the view draws them now. */
  rows = new TraceRows(0, 0, null);
  private readonly controller = new AbortController();
  private view = { first: 0, last: 40 };
  private following = false;
  private walking = false;
  /** The last walk failed: another, after RETRY_MS. */
  private walkAgain = false;
  private lastWalkAt = -Infinity;
  private walkTimer = 0;
  private walkDue = 0;
  /** Changes received while a walk is on its way, for the snapshot it brings. */
  private buffer: SpanChange[] | null = null;
  private readonly loading = new WeakMap<TraceRows, Set<number>>();
  private readonly tailRead = new WeakSet<TraceRows>();
  private failedAt = new Map<number, number>();
  private retryTimer = 0;
  private readonly recent = new Map<string, SpanRow>();
  /** When each page held was last wanted, for letting the least recent go. */
  private used = new Map<number, number>();
  private tick = 0;
  private pending: SpanChange[] = [];
  private frame = 0;
  private lastFlush = 0;
  private lastHeaderRead = -Infinity;
  private headerTimer = 0;
  private headerReads = 0;
  private headerShown = 0;
  private stopSpans = () => {};
  private stopEvents = () => {};
  private stopReconnect = () => {};

  constructor(
    readonly traceId: string,
    private readonly events: TraceLoaderEvents,
  ) {}

  start() {
    this.readHeader(true);
    void this.walk(true);
    this.openEvents();
    // The connection is back: subscriptions still open resume by themselves (the tree from the last
    // seq it received); one that had failed is opened again the same way.
    this.stopReconnect = onReconnect(() => {
      if (this.spansFailed) {
        this.stopSpans();
        this.openSpans();
      }
      if (this.eventsFailed) {
        this.stopEvents();
        this.openEvents();
      }
      this.events.liveError(undefined);
    });
  }

  stop() {
    this.controller.abort();
    cancelAnimationFrame(this.frame);
    window.clearTimeout(this.headerTimer);
    window.clearTimeout(this.walkTimer);
    window.clearTimeout(this.retryTimer);
    this.stopReconnect();
    this.stopSpans();
    this.stopEvents();
  }

  /** The rows on screen now, from `first` up to (not with) `last`: their pages are read, far ones let go. */
  setView(first: number, last: number) {
    this.view = { first, last };
    this.pump();
  }

  /** While following, the snapshot's last page is kept, where a running trace's new spans go. */
  setFollowing(on: boolean) {
    this.following = on;
    this.pump();
  }

  toggle(spanId: string) {
    this.rows.toggle(spanId);
    this.redraw();
  }

  collapseAll() {
    this.rows.collapseAll();
    this.redraw();
  }

  expandAll() {
    this.rows.expandAll();
    this.redraw();
  }

  private redraw() {
    this.rows.build();
    this.events.changed();
    this.pump();
  }

  // ---------------------------------------------------------------------------------------------
  // Header

  private readHeader(first = false) {
    this.headerTimer = 0;
    this.lastHeaderRead = performance.now();
    const read = ++this.headerReads;
    gql<{ trace: TraceHeader | null }>(TRACE_HEADER, { id: this.traceId }, this.controller.signal)
      .then(({ trace }) => {
        // Reads may answer out of order: only a later one replaces what is shown.
        if (read < this.headerShown) return;
        this.headerShown = read;
        this.events.header(trace);
      })
      .catch((caught: unknown) => {
        // After the first, the next change tries again; the tree is unaffected.
        if (first && !this.controller.signal.aborted) this.events.error(caught instanceof ApiError ? caught.message : String(caught));
      });
  }

  /** A change arrived: the header is read again, at most once per HEADER_REREAD_MS (the last change always covered). */
  private headerChanged() {
    if (this.headerTimer) return;
    const wait = this.lastHeaderRead + HEADER_REREAD_MS - performance.now();
    if (wait <= 0) this.readHeader();
    else this.headerTimer = window.setTimeout(() => this.readHeader(), wait);
  }

  // ---------------------------------------------------------------------------------------------
  // Walks and pages

  /**
   * Reads a new snapshot and the pages the view will show from it, then draws from it; at most one
   * per `gap` ms: WALK_GAP_MS when positions moved (a deletion), PLACING_GAP_MS when new spans only
   * wait for a place (they are off screen: their parent's page is not held).
   */
  private async walk(first = false, gap = WALK_GAP_MS): Promise<void> {
    // A walk on its way: the changes that arrive meanwhile are replayed on its snapshot, which says
    // whether it needs another.
    if (this.walking) return;
    const due = this.lastWalkAt + gap;
    if (!first && due > performance.now()) {
      if (!this.walkTimer || due < this.walkDue) {
        window.clearTimeout(this.walkTimer);
        this.walkDue = due;
        this.walkTimer = window.setTimeout(() => {
          this.walkTimer = 0;
          void this.walk(false, 0);
        }, due - performance.now());
      }
      return;
    }
    window.clearTimeout(this.walkTimer);
    this.walkTimer = 0;
    this.walking = true;
    this.walkAgain = false;
    let again = false;
    this.lastWalkAt = performance.now();
    this.buffer = [];
    const previous = this.rows;
    const signal = this.controller.signal;
    try {
      let next: TraceRows | undefined;
      // A span deleted between the snapshot and the read of its rows leaves the page short: again.
      for (let attempt = 0; !next; attempt++) {
        const { trace } = await gql<{ trace: { spanConnection: Connection } | null }>(TRACE_TREE, { id: this.traceId, first: PAGE_SIZE }, signal);
        if (signal.aborted) return;
        const connection = trace?.spanConnection;
        const rows = new TraceRows(connection?.asOf ?? 0, connection?.totalCount ?? 0, connection?.edges[0]?.cursor ?? null);
        rows.carryOver(previous);
        if (!connection || rows.addPage(0, this.fresh(connection.edges.map((edge) => edge.node)))) next = rows;
        else if (attempt >= 3) throw new Error('The trace kept changing while its first page was read; reload the page');
      }
      // The first snapshot draws at once; a later one once the rows the view will show are read.
      if (first) void this.readTail(next);
      else await this.prepare(previous, next);
      if (signal.aborted) return;
      for (const change of this.buffer) if (this.apply(next, change, [], new Set())) again = true;
      next.build();
      this.rows = next;
      this.used = new Map();
      this.failedAt = new Map();
      this.events.changed();
      if (first) {
        this.liveVariables.after = next.asOf;
        this.openSpans();
      }
    } catch (caught) {
      if (signal.aborted) return;
      if (first) {
        this.events.error(caught instanceof ApiError ? caught.message : String(caught));
        return;
      }
      // The snapshot held still draws; try again in a while.
      this.walkAgain = true;
      this.lastWalkAt = performance.now() + RETRY_MS;
    } finally {
      this.buffer = null;
      this.walking = false;
    }
    this.pump();
    if (again || this.walkAgain) void this.walk();
    else this.walkIfNeeded();
  }

  /** A new snapshot, soon, when the one held cannot place what arrived since or carries too much. */
  private walkIfNeeded() {
    if (this.rows.unplaced.length > 0 || this.rows.liveCount > NEW_SPANS_KEPT) void this.walk(false, PLACING_GAP_MS);
  }

  /**
   * Before `next` replaces `previous`: reads the pages of `next` where the view will be (the first
   * row on screen, or the newest span while following, where the next snapshot puts it) and the
   * snapshot's end.
   */
  private async prepare(previous: TraceRows, next: TraceRows) {
    let pos: number | undefined;
    for (let index = this.view.first; index < this.view.last && pos === undefined; index++) {
      const row = previous.rowAt(index);
      if (row) pos = previous.nextPosition({ id: row.span.id });
    }
    if (pos === undefined) {
      const at = previous.positionAt(this.view.first);
      pos = at === undefined ? 0 : previous.nextPosition({ pos: at });
    }
    const reads: Promise<void>[] = [];
    const from = Math.max(0, Math.floor(((pos ?? 0) - READ_AHEAD_ROWS) / PAGE_SIZE));
    const to = Math.min(next.lastPage, Math.floor(((pos ?? 0) + this.view.last - this.view.first + READ_AHEAD_ROWS) / PAGE_SIZE));
    for (let page = from; page <= to; page++) reads.push(this.readPage(next, page));
    if (this.following) reads.push(this.readPage(next, next.lastPage));
    reads.push(this.readTail(next));
    await Promise.all(reads);
  }

  /** The pages of `rows` being read. */
  private loadingOf(rows: TraceRows): Set<number> {
    let loading = this.loading.get(rows);
    if (!loading) this.loading.set(rows, (loading = new Set()));
    return loading;
  }

  /** Reads a page of `rows`' snapshot (never the first: the walk read it). */
  private async readPage(rows: TraceRows, page: number): Promise<void> {
    const loading = this.loadingOf(rows);
    if (page === 0 || !rows.firstCursor || rows.hasPage(page) || loading.has(page)) return;
    loading.add(page);
    try {
      const { trace } = await gql<{ trace: { spanConnection: Pick<Connection, 'edges'> } | null }>(
        TRACE_TREE_PAGE,
        { id: this.traceId, first: PAGE_SIZE, after: rows.firstCursor, skip: page * PAGE_SIZE - 1 },
        this.controller.signal,
      );
      if (this.controller.signal.aborted) return;
      const added = rows.addPage(page, this.fresh(trace?.spanConnection.edges.map((edge) => edge.node) ?? []));
      if (rows !== this.rows) return;
      if (!added) {
        // Spans of the snapshot were deleted since: positions have moved.
        void this.walk();
        return;
      }
      rows.build();
      this.events.changed();
    } catch {
      if (this.controller.signal.aborted) return;
      if (rows === this.rows) {
        this.failedAt.set(page, performance.now());
        window.clearTimeout(this.retryTimer);
        this.retryTimer = window.setTimeout(() => this.pump(), RETRY_MS);
      }
    } finally {
      loading.delete(page);
      if (rows === this.rows) this.pump();
    }
  }

  /** Reads which spans end the snapshot (its last span and that span's ancestors), once per snapshot. */
  private async readTail(rows: TraceRows): Promise<void> {
    if (rows.total <= PAGE_SIZE || !rows.firstCursor || this.tailRead.has(rows)) return;
    this.tailRead.add(rows);
    try {
      const { trace } = await gql<{ trace: { spanConnection: { edges: { node: { id: string; depth: number; ancestors: { id: string }[] } }[] } } | null }>(
        TRACE_TREE_END,
        { id: this.traceId, after: rows.firstCursor, skip: rows.total - 2 },
        this.controller.signal,
      );
      const last = trace?.spanConnection.edges[0]?.node;
      if (!last) return;
      rows.setTail(last.id, last.depth, last.ancestors.map((ancestor) => ancestor.id));
      if (rows === this.rows) {
        rows.build();
        this.events.changed();
        this.walkIfNeeded();
      }
    } catch {
      // New spans under the snapshot's end then need a new snapshot to be placed: slower, not wrong.
    }
  }

  /** Rows of a page, each as its latest change says when one arrived since the page was asked for. */
  private fresh(spans: PagedSpan[]): PagedSpan[] {
    return spans.map((span) => {
      const newer = this.recent.get(span.id);
      return newer && newer.seq > span.seq ? { ...span, ...newer, parentId: span.parentId } : span;
    });
  }

  /** Reads the pages wanted and lets far ones go. */
  private pump() {
    if (this.controller.signal.aborted) return;
    const rows = this.rows;
    const { first, last } = this.view;
    const screen = rows.pagesFor(first, last);
    const around = [...rows.pagesFor(first - READ_AHEAD_ROWS, first), ...rows.pagesFor(last, last + READ_AHEAD_ROWS)];
    const tick = ++this.tick;
    for (const page of [...screen, ...around]) this.used.set(page, tick);
    const pinned = [0, ...(this.following ? [rows.lastPage] : [])];
    const wanted = [...new Set([...screen, ...around, ...pinned])];
    const loading = this.loadingOf(rows);
    const now = performance.now();
    for (const page of wanted) {
      if (loading.size >= PARALLEL_READS) break;
      if (rows.hasPage(page) || loading.has(page) || now - (this.failedAt.get(page) ?? -Infinity) < RETRY_MS) continue;
      void this.readPage(rows, page);
    }
    if (this.following) void this.readTail(rows);
    const keep = new Set(wanted);
    const others = rows
      .heldPages()
      .filter((page) => !keep.has(page))
      .sort((a, b) => (this.used.get(b) ?? 0) - (this.used.get(a) ?? 0));
    for (const page of others.slice(OTHER_PAGES_KEPT)) rows.dropPage(page);
  }

  // ---------------------------------------------------------------------------------------------
  // Live

  private readonly liveVariables = { traceId: '', after: 0 };
  private spansFailed = false;
  private eventsFailed = false;

  private openSpans() {
    this.spansFailed = false;
    // graphql-ws sends these same variables again when it reconnects: kept at the last seq received,
    // a dropped connection resumes where it stopped.
    this.liveVariables.traceId = this.traceId;
    this.stopSpans = subscribe<{ traceSpans: SpanChange }>(TRACE_SPANS, this.liveVariables, {
      next: ({ traceSpans }) => {
        this.liveVariables.after = Math.max(this.liveVariables.after, traceSpans.seq);
        this.pending.push(traceSpans);
        this.schedule();
        this.headerChanged();
      },
      error: (caught) => {
        this.spansFailed = true;
        this.events.liveError(caught.message);
      },
    });
  }

  private openEvents() {
    this.eventsFailed = false;
    this.stopEvents = subscribe<{ spanEvents: { spanId: string } }>(
      SPAN_EVENTS,
      { traceId: this.traceId },
      {
        next: ({ spanEvents }) => {
          this.events.touched(new Set([spanEvents.spanId]), false);
          this.headerChanged();
        },
        error: (caught) => {
          this.eventsFailed = true;
          this.events.liveError(caught.message);
        },
      },
    );
  }

  /** A change that comes alone is drawn at once; a burst (a batch of spans, a busy run) once per frame. */
  private schedule() {
    if (this.frame) return;
    if (performance.now() - this.lastFlush > 16) this.flush();
    else this.frame = requestAnimationFrame(() => this.flush());
  }

  private flush() {
    this.frame = 0;
    this.lastFlush = performance.now();
    const arrivals: string[] = [];
    const touched = new Set<string>();
    let walk = false;
    let deleted = false;
    for (const change of this.pending.splice(0)) {
      this.buffer?.push(change);
      if (change.op === 'DELETED' && change.seq > this.rows.asOf) deleted = true;
      if (this.apply(this.rows, change, arrivals, touched)) walk = true;
    }
    this.rows.build();
    this.events.changed();
    this.events.touched(touched, deleted);
    this.events.arrived(arrivals.filter((id) => this.rows.isLive(id)));
    if (walk) void this.walk();
    else this.walkIfNeeded();
    this.pump();
  }

  /** Applies one change to `rows`; true when its snapshot can no longer say where things are. */
  private apply(rows: TraceRows, change: SpanChange, arrivals: string[], touched: Set<string>): boolean {
    if (change.seq <= rows.asOf) return false;
    const { span } = change;
    touched.add(span.id);
    if (change.op === 'CREATED') {
      // Written again under an id the rows hold: a change to it, not a second row.
      if (rows.update(span)) return false;
      rows.addLive(span);
      arrivals.push(span.id);
      // Spans that came before this one, their parent, are drawn as roots: a new snapshot nests them.
      return rows.isOrphanParent(span.id);
    }
    if (change.op === 'UPDATED') {
      if (!rows.update(span)) {
        this.recent.delete(span.id);
        this.recent.set(span.id, span);
        if (this.recent.size > RECENT_KEPT) this.recent.delete(this.recent.keys().next().value!);
      }
      return false;
    }
    return !rows.remove(span.id);
  }
}
