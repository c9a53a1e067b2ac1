/**
 * A live trace explorer: traces created or whose rollups changed, optionally only those matching a
 * TraceFilter. A change is checked once for all the subscribers of one filter on this server, in
 * memory from the trace row it carries wherever the filter allows (src/traces/trace-match.ts), and
 * otherwise with the very SQL `traces(filter)` runs, so the two never disagree.
 */
import type { Database } from '../db/database.js';
import { sql, type Sql } from '../db/dialect.js';
import type { PubSub } from '../pubsub.js';
import { BoundedFeed, type FeedFailure, type FeedOptions } from '../subscriptions/bounded-feed.js';
import type { Scope } from '../schema/context.js';
import { traceConditions, type TraceFilter } from './trace-search.js';
import { memoryMatcher } from './trace-match.js';
import type { TraceRow } from '../db/rows.js';

/** How many traces a filter remembers the last change of, to drop a stale one arriving late. */
const REMEMBERED_TRACES = 10_000;

/**
 * The live explorer of one filter in one project: one pub/sub listener, each change checked once,
 * in arrival order, and a match handed to every subscriber of the filter as the same object.
 */
class FilterFeed {
  readonly feeds = new Set<BoundedFeed<TraceRow>>();
  private readonly lastSeq = new Map<string, number>();
  private readonly inMemory: ((trace: TraceRow) => boolean) | null;
  /** The filter's SQL as of now: `stale` moves with the clock. */
  private readonly conditions: () => Sql;
  private readonly stopListening: () => void;
  private checking = 0;
  private queue = Promise.resolve();

  constructor(
    private readonly db: Database,
    pubsub: PubSub,
    scope: Scope,
    filter: TraceFilter | null | undefined,
    private readonly bufferLimit: number,
    staleAfterMs: number,
    private readonly forget: () => void,
  ) {
    // Compiled first: a bad filter is an error when subscribing, not on the first update.
    const conditions = () => traceConditions(db.dialect, scope, filter, { afterMs: staleAfterMs, now: new Date() });
    conditions();
    this.conditions = conditions;
    this.inMemory = memoryMatcher(filter, { afterMs: staleAfterMs });
    this.stopListening = pubsub.follow('trace:updated', scope.projectId, (trace) => this.arrived(trace));
  }

  private arrived(trace: TraceRow) {
    if (this.inMemory) return this.matched(trace, this.inMemory(trace));
    // Checks in SQL run one at a time, in arrival order; too many waiting is falling behind too.
    if (++this.checking > this.bufferLimit) {
      for (const feed of [...this.feeds]) feed.failTooSlow();
      return;
    }
    this.queue = this.queue
      .then(async () => this.matched(trace, await matchesInSql(this.db, this.conditions(), trace)))
      .catch(() => this.interrupt())
      .finally(() => this.checking--);
  }

  private matched(trace: TraceRow, matches: boolean) {
    if (!matches || (this.lastSeq.get(trace.id) ?? -1) >= trace.spanSeq) return;
    this.lastSeq.delete(trace.id);
    this.lastSeq.set(trace.id, trace.spanSeq);
    if (this.lastSeq.size > REMEMBERED_TRACES) this.lastSeq.delete(this.lastSeq.keys().next().value!);
    for (const feed of this.feeds) feed.push(trace);
  }

  private interrupt() {
    for (const feed of [...this.feeds]) feed.interrupt();
  }

  leave(feed: BoundedFeed<TraceRow>) {
    this.feeds.delete(feed);
    if (this.feeds.size > 0) return;
    this.stopListening();
    this.forget();
  }
}

declare module '../services.js' {
  interface Services {
    /** The live trace explorers: each filter's changes checked once for all its subscribers. */
    readonly traceFeeds: TraceUpdateFeeds;
  }
}

/** The live explorers of one server, one per project and filter followed. */
export class TraceUpdateFeeds {
  private readonly filters = new Map<string, FilterFeed>();

  constructor(
    private readonly db: Database,
    private readonly pubsub: PubSub,
  ) {}

  /**
   * Follows the traces of a project that change and match `filter`. `filter.stale` is checked as each
   * change arrives; a change resets the trace's clock, so stale traces are listed with `traces`, and
   * under `stale: false` this feed shows a stuck run that comes back to life.
   */
  open(scope: Scope, filter: TraceFilter | null | undefined, options: FeedOptions & { staleAfterMs: number }): AsyncIterable<TraceRow | FeedFailure> {
    const key = `${scope.projectId}\u0000${options.staleAfterMs}\u0000${JSON.stringify(filter ?? null)}`;
    let shared = this.filters.get(key);
    if (!shared) {
      const created: FilterFeed = new FilterFeed(this.db, this.pubsub, scope, filter, options.bufferLimit, options.staleAfterMs, () => {
        if (this.filters.get(key) === created) this.filters.delete(key);
      });
      this.filters.set(key, (shared = created));
    }
    const feed = new BoundedFeed<TraceRow>(options);
    shared.feeds.add(feed);
    const joined = shared;
    feed.onEnd(() => joined.leave(feed));
    return feed;
  }
}

/**
 * Whether the trace, as this change has it, matches a filter only SQL can check (conditions on its
 * spans). The row must still be at the change's number: if it moved on, the newer change is checked
 * in its turn, and an older state is never sent under a filter only the newer one matches.
 */
async function matchesInSql(db: Database, conditions: Sql, trace: TraceRow): Promise<boolean> {
  const rows = await db.read.$queryRaw<unknown[]>(
    sql`SELECT 1 AS "hit" FROM "Trace" AS "trace"
        WHERE ${conditions} AND "trace"."id" = ${trace.id} AND "trace"."spanSeq" = ${trace.spanSeq}`,
  );
  return rows.length > 0;
}
