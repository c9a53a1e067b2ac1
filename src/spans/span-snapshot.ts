/**
 * Snapshots of a trace's spans, for reads of any size: `Trace.spanConnection`'s pages and the whole
 * `Trace.spans` of a large trace.
 *
 * A snapshot is the set of spans that existed when the trace's change number (`spanSeq`) was `asOf`:
 * exactly the spans whose `createdSeq` is at most `asOf` (numbers are assigned under the trace's row
 * lock, in commit order, so a committed `spanSeq` of n means every span created at n or before is
 * committed). It holds their tree (depth, counts, subtree rollups) and two orders of their ids: the
 * depth-first TREE order and the START order. A page is then a slice of an order and one read of its
 * rows by id, whatever the size of the trace; a cursor names the snapshot and a position in it, so
 * every page of a walk comes from the same set, and the spans written since are left to the live feed
 * (`traceSpans(after: asOf)`), which sends every change numbered above `asOf`.
 *
 * Snapshots are kept per server (an LRU bounded by the spans it holds, dropped after SNAPSHOT_IDLE_MS
 * unused). One that is gone (evicted, a restart, another instance) is worked out again from the
 * database: the same spans, with their current start times.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { LRUCache } from 'lru-cache';
import type { Database } from '../db/database.js';
import { empty, sql, type Sql } from '../db/dialect.js';
import { afterPredicate, keyColumns, orderByClause, rowKeyValues, type SortKey } from '../db/keyset.js';
import { spanTreeInTurns, type SkeletonSpan, type SpanTree } from './span-tree.js';

declare module '../services.js' {
  interface Services {
    /** Span snapshots of large traces, for paged and streamed reads. */
    readonly spanSnapshots: SpanSnapshots;
  }
}

/** The two orders a trace's spans are read in (the SpanOrder enum). */
export type SpanOrderName = 'START' | 'TREE';

/** Rows per statement when a snapshot is read: each is short, and the event loop turns between them. */
const SKELETON_CHUNK = 5_000;
/** Spans all kept snapshots hold together, at most (about 300 bytes each). */
const SNAPSHOT_SPANS = 1_000_000;
/** A snapshot unused this long is dropped. */
const SNAPSHOT_IDLE_MS = 10 * 60_000;
/** Filtered orders kept per snapshot (each is a list of ids). */
const FILTERS_PER_SNAPSHOT = 8;

/** What a snapshot keeps of a span: its place in the tree, its rollups, and its start. */
type SnapshotSpan = SkeletonSpan & { start: number };

/** The spans of a trace as of one change number. */
export class SpanSnapshot {
  private readonly filtered = new Map<string, readonly string[]>();

  constructor(
    readonly asOf: number,
    /** The snapshot's tree: where each of its spans sits, and the depth-first order. */
    readonly tree: SpanTree,
    /** Its span ids by start time, then id. */
    readonly startOrder: readonly string[],
    /** Its spans by id: what the next snapshot of the trace starts from. */
    readonly spans: ReadonlyMap<string, SnapshotSpan>,
  ) {}

  get size(): number {
    return this.startOrder.length;
  }

  /** Its span ids in `order`. */
  ids(order: SpanOrderName): readonly string[] {
    return order === 'TREE' ? this.tree.order : this.startOrder;
  }

  /**
   * Its span ids in `order` that `matching` holds: worked out once per snapshot, order and filter
   * (`filterKey`), so that later pages of a filtered walk cost what unfiltered ones do, and keep the
   * set the first page saw.
   */
  async filteredIds(order: SpanOrderName, filterKey: string, matching: () => Promise<ReadonlySet<string>>): Promise<readonly string[]> {
    const key = `${order}:${filterKey}`;
    const known = this.filtered.get(key);
    if (known) return known;
    const wanted = await matching();
    const ids = this.ids(order).filter((id) => wanted.has(id));
    if (this.filtered.size >= FILTERS_PER_SNAPSHOT) this.filtered.delete(this.filtered.keys().next().value!);
    this.filtered.set(key, ids);
    return ids;
  }
}

/**
 * A snapshot being read, and who waits for it. Readers of one trace share the build; it is read for
 * as long as one of them still wants it. A waiter without a signal (a read no client can abandon)
 * keeps it going whatever the others do.
 */
interface Build {
  readonly done: Promise<SpanSnapshot>;
  /** Aborted once every waiter has left: the read stops before its next statement or pass. */
  readonly stop: AbortController;
  /** Waiters still waiting, each of which may leave. */
  waiting: number;
  /** Whether a waiter that cannot leave waits for it: then it is read to its end. */
  pinned: boolean;
}

/**
 * The snapshots of one server: built once per trace and change number, however many readers ask. A
 * trace's newest snapshot is where its next one starts: only the spans changed since are read (a
 * running 100,000-span trace's next snapshot reads its latest spans, not all of them).
 */
export class SpanSnapshots {
  private readonly kept: LRUCache<string, SpanSnapshot>;
  /** Per trace, its newest kept snapshot. */
  private readonly newest = new Map<string, SpanSnapshot>();
  private readonly building = new Map<string, Build>();

  constructor(private readonly db: Database) {
    this.kept = new LRUCache<string, SpanSnapshot>({
      maxSize: SNAPSHOT_SPANS,
      sizeCalculation: (snapshot) => snapshot.size + 1,
      ttl: SNAPSHOT_IDLE_MS,
      updateAgeOnGet: true,
      dispose: (snapshot, key) => {
        const trace = traceKeyOf(key);
        if (this.newest.get(trace) === snapshot) this.newest.delete(trace);
      },
    });
  }

  /** Snapshots being read now (the tests and the benchmark watch a cancelled one stop). */
  get buildsInProgress(): number {
    return this.building.size;
  }

  /**
   * The snapshot of a trace as of `asOf` (its `spanSeq` when the walk began). `spanCount`, the trace's
   * span count at `asOf` when known, checks a snapshot built from an earlier one: a span deleted since
   * that one leaves no row to say so, and a count that disagrees has the snapshot read whole instead.
   * `signal` is the reader's client: once it aborts, this rejects with its reason, and a build that no
   * other reader waits for stops (one another reader still waits for goes on, for it).
   */
  of(projectId: string, traceId: string, asOf: number, spanCount?: number, signal?: AbortSignal): Promise<SpanSnapshot> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const trace = `${projectId}\u0000${traceId}`;
    const key = `${trace}\u0000${asOf}`;
    const known = this.kept.get(key);
    if (known) return Promise.resolve(known);
    let build = this.building.get(key);
    if (!build) {
      const earlier = this.newest.get(trace);
      const base = earlier && earlier.asOf < asOf ? earlier : undefined;
      const stop = new AbortController();
      const done = readSnapshot(this.db, projectId, traceId, asOf, base, spanCount, stop.signal).then((snapshot) => {
        this.kept.set(key, snapshot);
        if (this.kept.has(key) && (this.newest.get(trace)?.asOf ?? -1) < asOf) this.newest.set(trace, snapshot);
        return snapshot;
      });
      const started: Build = { done, stop, waiting: 0, pinned: false };
      const forget = () => {
        if (this.building.get(key) === started) this.building.delete(key);
      };
      done.then(forget, forget);
      this.building.set(key, (build = started));
    }
    return this.waitFor(key, build, signal);
  }

  /** `build`'s snapshot for one waiter, which leaves when `signal` aborts. */
  private waitFor(key: string, build: Build, signal: AbortSignal | undefined): Promise<SpanSnapshot> {
    if (!signal) {
      build.pinned = true;
      return build.done;
    }
    build.waiting++;
    return new Promise<SpanSnapshot>((resolve, reject) => {
      const leave = () => {
        build.waiting--;
        if (build.waiting === 0 && !build.pinned) {
          // Nobody wants it any more: it stops, and a reader that comes now starts a build of its own.
          if (this.building.get(key) === build) this.building.delete(key);
          build.stop.abort(signal.reason);
        }
        reject(signal.reason);
      };
      signal.addEventListener('abort', leave, { once: true });
      build.done.then(
        (snapshot) => {
          signal.removeEventListener('abort', leave);
          resolve(snapshot);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', leave);
          reject(error);
        },
      );
    });
  }
}

function traceKeyOf(snapshotKey: string): string {
  return snapshotKey.slice(0, snapshotKey.lastIndexOf('\u0000'));
}

interface SkeletonRow {
  id: string;
  parentId: string | null;
  startTime: Date | string | number;
  totalTokens: number | bigint | null;
  cost: number | null;
  failed: number | bigint | boolean;
  createdSeq: number | bigint;
}

/** The Span table's (seq, id) order: served by the (projectId, traceId, seq) index. */
const BY_SEQ: SortKey[] = [
  { expr: sql`"seq"`, direction: 'ASC', kind: 'number' },
  { expr: sql`"id"`, direction: 'ASC', kind: 'string' },
];

/**
 * Reads a snapshot in statements of SKELETON_CHUNK rows, letting the event loop turn between them,
 * so that a 100,000-span trace never holds up other requests for the whole read. The rows are walked
 * by their last change number: a span changed during the walk moves to a higher number, ahead of the
 * walk, so it is read (again, and then as it is now) and never missed. From an earlier snapshot
 * (`base`), only the spans changed since it are read. Stops, rejecting, once `signal` aborts.
 */
async function readSnapshot(
  db: Database,
  projectId: string,
  traceId: string,
  asOf: number,
  base: SpanSnapshot | undefined,
  spanCount: number | undefined,
  signal: AbortSignal,
): Promise<SpanSnapshot> {
  const spans = new Map<string, SnapshotSpan>(base?.spans);
  const since = base ? sql` AND "seq" > ${base.asOf}` : empty;
  let after: Sql | undefined;
  for (;;) {
    // No statement is sent for nobody. One already sent runs to its end: Prisma takes no signal.
    signal.throwIfAborted();
    const rows = await db.read.$queryRaw<(SkeletonRow & Record<string, unknown>)[]>(
      sql`SELECT "id", "parentId", "startTime", "totalTokens", "cost", "createdSeq",
                 CASE WHEN "error" IS NULL THEN 0 ELSE 1 END AS "failed", ${keyColumns(BY_SEQ)}
          FROM "Span" WHERE "projectId" = ${projectId} AND "traceId" = ${traceId}${since}${after ? sql` AND ${after}` : empty}
          ORDER BY ${orderByClause(BY_SEQ)} LIMIT ${SKELETON_CHUNK}`,
    );
    for (const row of rows) {
      if (Number(row.createdSeq) > asOf) continue;
      spans.set(row.id, {
        id: row.id,
        parentId: row.parentId,
        start: new Date(row.startTime).getTime(),
        totalTokens: Number(row.totalTokens ?? 0),
        cost: row.cost ?? 0,
        failed: Number(row.failed) === 1,
      });
    }
    if (rows.length < SKELETON_CHUNK) break;
    after = afterPredicate(BY_SEQ, rowKeyValues(BY_SEQ, rows.at(-1)!));
    await nextTurn();
  }
  if (base && spanCount !== undefined && spans.size !== spanCount) return readSnapshot(db, projectId, traceId, asOf, undefined, undefined, signal);
  signal.throwIfAborted();
  const inStartOrder = [...spans.values()].sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  await nextTurn();
  signal.throwIfAborted();
  const tree = await spanTreeInTurns(inStartOrder, signal);
  return new SpanSnapshot(asOf, tree, inStartOrder.map((span) => span.id), spans);
}
