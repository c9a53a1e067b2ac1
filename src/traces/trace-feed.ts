/**
 * A live trace explorer: traces created or whose rollups changed, optionally only those matching a
 * TraceFilter. A change is checked once for all the subscribers of one filter, in memory from the
 * trace row it carries wherever the filter allows (src/traces/trace-match.ts), and otherwise with the
 * very SQL `traces(filter)` runs, so the two never disagree.
 */
import { database } from '../db/database.js';
import { sql, type Sql } from '../db/dialect.js';
import { BoundedFeed, listen, type FeedFailure, type FeedOptions } from '../subscriptions/bounded-feed.js';
import type { Scope } from '../spans/span.service.js';
import { traceConditions, type TraceFilter } from './trace-search.js';
import { memoryMatcher } from './trace-match.js';
import type { TraceRow } from './trace.service.js';

/** How many traces a subscriber remembers the last change of, to drop a stale one arriving late. */
const REMEMBERED_TRACES = 10_000;

export function openTraceUpdateFeed(
  scope: Scope,
  filter: TraceFilter | null | undefined,
  options: FeedOptions,
): AsyncIterable<TraceRow | FeedFailure> {
  // Compiling the filter first turns a bad filter into an error now, not on the first update.
  const check = sharedCheck(scope, filter);
  const feed = new BoundedFeed<TraceRow>(options);
  feed.onEnd(check.release);
  const lastSeq = new Map<string, number>();
  let checking = 0;
  let queue = Promise.resolve();

  listen('trace:updated', scope.projectId, feed, (trace: TraceRow) => {
    // Checks run one at a time, in arrival order; too many waiting is falling behind too.
    if (++checking > options.bufferLimit) return feed.failTooSlow();
    queue = queue
      .then(async () => {
        if (feed.closed || (lastSeq.get(trace.id) ?? -1) >= trace.spanSeq) return;
        if (!(await check.matches(trace))) return;
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

/** A filter's check, shared by every subscriber of that filter in one project. */
interface SharedCheck {
  matches(trace: TraceRow): Promise<boolean>;
  release(): void;
}

/** Changes remembered per filter: enough for every subscriber of a busy explorer to find its answer. */
const REMEMBERED_CHANGES = 1000;
const checks = new Map<string, { matches: SharedCheck['matches']; subscribers: number }>();

function sharedCheck(scope: Scope, filter: TraceFilter | null | undefined): SharedCheck {
  const key = `${scope.projectId}\u0000${JSON.stringify(filter ?? null)}`;
  let entry = checks.get(key);
  if (!entry) {
    const conditions = filter ? traceConditions(scope, filter) : undefined;
    const inMemory = memoryMatcher(filter);
    const answers = new Map<string, Promise<boolean>>();
    const matches = (trace: TraceRow): Promise<boolean> => {
      const change = `${trace.id}\u0000${trace.spanSeq}`;
      let answer = answers.get(change);
      if (!answer) {
        answer = inMemory ? Promise.resolve(inMemory(trace)) : matchesInSql(conditions!, trace);
        answers.set(change, answer);
        if (answers.size > REMEMBERED_CHANGES) answers.delete(answers.keys().next().value!);
      }
      return answer;
    };
    checks.set(key, (entry = { matches, subscribers: 0 }));
  }
  entry.subscribers++;
  let released = false;
  return {
    matches: entry.matches,
    release: () => {
      if (released) return;
      released = true;
      if (--entry.subscribers === 0) checks.delete(key);
    },
  };
}

/**
 * Whether the trace, as this change has it, matches a filter only SQL can check (conditions on its
 * spans). The row must still be at the change's number: if it moved on, the newer change is checked
 * in its turn, and an older state is never sent under a filter only the newer one matches.
 */
async function matchesInSql(conditions: Sql, trace: TraceRow): Promise<boolean> {
  const rows = await database().read.$queryRaw<unknown[]>(
    sql`SELECT 1 AS "hit" FROM "Trace" AS "trace"
        WHERE ${conditions} AND "trace"."id" = ${trace.id} AND "trace"."spanSeq" = ${trace.spanSeq}`,
  );
  return rows.length > 0;
}
