/**
 * The trace explorer's query: filter, order and page traces with one SQL statement for the page,
 * reading only the columns asked for (and one for the total when asked). Runs on indexes:
 * (projectId, startTime, id) for the default order, sought to from a cursor, GIN on PostgreSQL for
 * meta, tags and name search.
 */
import type { Database } from '../db/database.js';
import { column, join, raw, sql, type Dialect, type Sql } from '../db/dialect.js';
import { allOf, filterText, inList, metaObject, rangeConditions, tagList, type DateTimeRange, type FloatRange } from '../db/filters.js';
import { countRows, nullsLast, pageOfRows, type Direction, type RowPage, type SortKey } from '../db/keyset.js';
import { spanConditions, type SpanFilter } from '../spans/span-filter.js';
import { BadUserInput } from '../errors.js';
import { staleCondition, type Staleness } from './trace-stale.js';
import type { Scope } from '../schema/context.js';
import type { TraceOrigin } from '../vocabulary.js';

export interface TraceFilter {
  /** Case-insensitive substring of the trace name. */
  search?: string | null;
  status?: readonly string[] | null;
  durationMs?: FloatRange | null;
  cost?: FloatRange | null;
  totalTokens?: FloatRange | null;
  startTime?: DateTimeRange | null;
  tags?: readonly string[] | null;
  meta?: unknown;
  model?: string | null;
  hasSpan?: SpanFilter | null;
  /** In this session. */
  sessionId?: string | null;
  /** Only these traces; an empty list matches none (at most MAX_TRACE_IDS). */
  ids?: readonly string[] | null;
  /** true: only stale traces (RUNNING with no change for STALE_AFTER_MS); false: only the others. */
  stale?: boolean | null;
  /** Any of these origins; APP when left out (see `originsOf`). */
  origin?: readonly TraceOrigin[] | null;
}

/**
 * The origins a filter matches: those it lists; else APP, so that playground runs stay out of an
 * application's explorer, counts and alerts; a filter that lists trace ids matches them whatever
 * their origin (a link to a run's trace).
 */
export function originsOf(filter: TraceFilter | null | undefined): readonly TraceOrigin[] | null {
  if (filter?.origin?.length) return filter.origin;
  return filter?.ids != null ? null : ['APP'];
}

/** How many ids `TraceFilter.ids` may list: a live explorer page's worth, and a bounded IN list. */
export const MAX_TRACE_IDS = 500;

/** The distinct ids a filter lists, at most MAX_TRACE_IDS; undefined when it lists none. */
export function traceIdList(ids: readonly string[] | null | undefined, field = 'filter.ids'): string[] | undefined {
  if (ids == null) return undefined;
  const distinct = [...new Set(ids)];
  if (distinct.length > MAX_TRACE_IDS) {
    throw new BadUserInput(`${field}: may list at most ${MAX_TRACE_IDS} trace ids; this one lists ${distinct.length}`, { field });
  }
  return distinct;
}

export const TRACE_ORDER_FIELDS = ['START_TIME', 'DURATION', 'COST', 'TOKENS', 'SPAN_COUNT'] as const;
export type TraceOrderField = (typeof TRACE_ORDER_FIELDS)[number];

export interface TraceOrder {
  field?: TraceOrderField | null;
  direction?: Direction | null;
}

const ALIAS = 'trace';
const FROM = raw(`"Trace" AS "${ALIAS}"`);
const col = (name: string) => column(ALIAS, name);

/**
 * The WHERE clause of a trace filter, scoped to the caller's project. `staleness` says when a
 * running trace is stale (`filter.stale`), as of the moment the statement is built.
 */
export function traceConditions(dialect: Dialect, scope: Scope, filter: TraceFilter | null | undefined, staleness: Staleness): Sql {
  const conditions: Sql[] = [sql`${col('projectId')} = ${scope.projectId}`];
  const origins = originsOf(filter);
  if (origins) conditions.push(...inList(col('origin'), origins));
  if (filter) {
    const search = filterText(filter.search, 'filter.search');
    if (search) conditions.push(dialect.containsText(col('name'), search));
    conditions.push(...inList(col('status'), filter.status));
    conditions.push(...rangeConditions(col('durationMs'), filter.durationMs, 'filter.durationMs'));
    conditions.push(...rangeConditions(col('cost'), filter.cost, 'filter.cost'));
    conditions.push(...rangeConditions(col('totalTokens'), filter.totalTokens, 'filter.totalTokens'));
    conditions.push(...rangeConditions(col('startTime'), filter.startTime, 'filter.startTime'));
    const sessionId = filterText(filter.sessionId, 'filter.sessionId');
    if (sessionId) conditions.push(sql`${col('sessionId')} = ${sessionId}`);
    const ids = traceIdList(filter.ids);
    if (ids) conditions.push(ids.length ? inList(col('id'), ids)[0]! : sql`1 = 0`);
    if (filter.stale != null) conditions.push(staleCondition(ALIAS, filter.stale, staleness));
    const tags = tagList(filter.tags, 'filter.tags');
    if (tags.length) conditions.push(dialect.arrayContainsAll(col('tags'), tags));
    const meta = metaObject(filter.meta, 'filter.meta');
    if (meta) conditions.push(dialect.jsonContains(col('meta'), meta, 'filter.meta'));
    const spanFilter = spanFilterOf(filter);
    if (spanFilter) {
      conditions.push(sql`EXISTS (SELECT 1 FROM "Span" AS "span"
        WHERE "span"."projectId" = ${col('projectId')} AND "span"."traceId" = ${col('id')}
          AND ${allOf(spanConditions(dialect, 'span', spanFilter, 'filter.hasSpan'))})`);
    }
  }
  return allOf(conditions);
}

/**
 * What a trace filter asks of the trace's spans: `hasSpan`, with `model` as one more condition on the
 * same span; null when it asks nothing of them.
 */
export function spanFilterOf(filter: TraceFilter | null | undefined): SpanFilter | null {
  if (!filter || (filter.model == null && !filter.hasSpan)) return null;
  return { ...filter.hasSpan, ...(filter.model != null ? { model: filter.model } : {}) };
}

function orderKeys(order: TraceOrder | null | undefined): SortKey[] {
  const direction = order?.direction ?? 'DESC';
  const id: SortKey = { expr: col('id'), direction, kind: 'string' };
  switch (order?.field ?? 'START_TIME') {
    case 'START_TIME':
      return [{ expr: col('startTime'), direction, kind: 'date' }, id];
    case 'DURATION':
      // A running trace has no duration yet: it comes after the finished ones in both directions.
      return [...nullsLast(col('durationMs'), direction), id];
    case 'COST':
      return [{ expr: col('cost'), direction, kind: 'number' }, id];
    case 'TOKENS':
      return [{ expr: col('totalTokens'), direction, kind: 'number' }, id];
    case 'SPAN_COUNT':
      return [{ expr: col('spanCount'), direction, kind: 'number' }, id];
  }
}

export interface TraceSearch {
  first: number;
  after?: string | null;
  /** Traces to skip before the page (at most MAX_OFFSET). */
  offset?: number;
  filter?: TraceFilter | null;
  orderBy?: TraceOrder | null;
  /** The columns of Trace each row holds (column names from the data model, never from input). */
  columns: readonly string[];
  /** STALE_AFTER_MS, for `filter.stale`. */
  staleAfterMs: number;
}

/** A page of matching traces, newest first unless ordered otherwise, and a lazy total. */
export async function searchTraces({ read, dialect }: Database, scope: Scope, search: TraceSearch): Promise<RowPage & { totalCount: () => Promise<number> }> {
  const where = traceConditions(dialect, scope, search.filter, { afterMs: search.staleAfterMs, now: new Date() });
  const page = await pageOfRows(read, {
    from: FROM,
    columns: join(search.columns.map((name) => col(name)), ', '),
    where,
    keys: orderKeys(search.orderBy),
    first: search.first,
    after: search.after,
    offset: search.offset,
  });
  return { ...page, totalCount: () => countRows(read, FROM, where) };
}
