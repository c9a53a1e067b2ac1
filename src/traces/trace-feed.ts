/**
 * A live trace explorer: traces created or whose rollups changed, optionally only those matching a
 * TraceFilter, checked with the very SQL `traces(filter)` runs, so the two never disagree.
 */
import { database } from '../db/database.js';
import { sql } from '../db/dialect.js';
import { subscribe } from '../pubsub.js';
import { BoundedFeed, listen, type FeedFailure, type FeedOptions } from '../subscriptions/bounded-feed.js';
import type { Scope } from '../spans/span.service.js';
import { traceConditions, type TraceFilter } from './trace-search.js';
import type { TraceRow } from './trace.service.js';

/** How many traces a subscriber remembers the last change of, to drop a stale one arriving late. */
const REMEMBERED_TRACES = 10_000;

export function openTraceUpdateFeed(
  scope: Scope,
  filter: TraceFilter | null | undefined,
  options: FeedOptions,
): AsyncIterable<TraceRow | FeedFailure> {
  // Compiling the filter first turns a bad filter into an error now, not on the first update.
  const conditions = filter ? traceConditions(scope, filter) : undefined;
  const feed = new BoundedFeed<TraceRow>(options);
  const lastSeq = new Map<string, number>();
  let checking = 0;
  let queue = Promise.resolve();

  /**
   * Whether the trace, as this message has it, matches. The row must still be at the message's
   * change number: if it moved on, the newer message is checked in its turn, and an older state is
   * never sent under a filter only the newer one matches.
   */
  const matches = async (trace: TraceRow) => {
    if (!conditions) return true;
    const rows = await database().read.$queryRaw<unknown[]>(
      sql`SELECT 1 AS "hit" FROM "Trace" AS "trace"
          WHERE ${conditions} AND "trace"."id" = ${trace.id} AND "trace"."spanSeq" = ${trace.spanSeq}`,
    );
    return rows.length > 0;
  };

  listen(subscribe('trace:updated', scope.projectId), feed, (trace: TraceRow) => {
    // Checks run one at a time, in arrival order; too many waiting is falling behind too.
    if (++checking > options.bufferLimit) return feed.failTooSlow();
    queue = queue
      .then(async () => {
        if (feed.closed || (lastSeq.get(trace.id) ?? -1) >= trace.spanSeq) return;
        if (!(await matches(trace))) return;
        lastSeq.delete(trace.id);
        lastSeq.set(trace.id, trace.spanSeq);
        if (lastSeq.size > REMEMBERED_TRACES) lastSeq.delete(lastSeq.keys().next().value!);
        feed.push(trace);
      })
      .catch(() => feed.interrupt())
      .finally(() => checking--);
  });
  return feed;
}
