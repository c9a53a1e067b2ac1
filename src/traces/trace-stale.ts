/**
 * Stuck runs: a trace is stale when it is RUNNING and nothing in it changed for longer than
 * STALE_AFTER_MS (a process that crashed without closing its spans). Its last change is `updatedAt`,
 * stamped by every span write. The rule is written twice, here, side by side: in memory (the field
 * `Trace.stale`, the live explorer's filter) and as SQL (`TraceFilter.stale` in `traces`), and the
 * two must agree (test/trace-match.test.ts).
 */
import { column, sql, type Sql } from '../db/dialect.js';

/** When a running trace counts as stale: no change for more than `afterMs` before `now`. */
export interface Staleness {
  afterMs: number;
  now: Date;
}

/** Whether a trace, as its row has it, is stale at `staleness.now`. */
export function isStale(trace: { status: string; updatedAt: Date }, staleness: Staleness): boolean {
  return trace.status === 'RUNNING' && trace.updatedAt.getTime() < staleness.now.getTime() - staleness.afterMs;
}

/** `isStale` (or, with `stale` false, its negation) over a trace alias in SQL. */
export function staleCondition(alias: string, stale: boolean, staleness: Staleness): Sql {
  const cutoff = new Date(staleness.now.getTime() - staleness.afterMs);
  const isStaleSql = sql`(${column(alias, 'status')} = 'RUNNING' AND ${column(alias, 'updatedAt')} < ${cutoff})`;
  return stale ? isStaleSql : sql`NOT ${isStaleSql}`;
}
