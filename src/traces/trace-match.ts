/**
 * A TraceFilter evaluated in memory, on a trace row as a change carries it, and a SpanFilter on a
 * span as a change carries it: what the live explorer (`traceUpdated(filter)`) uses for every
 * condition a change itself can answer, so a change costs no SQL per subscriber. Each condition means
 * exactly what its SQL means in `traceConditions` and `spanConditions` (property tests compare them on
 * both databases); where memory cannot be sure (a name search beyond ASCII, a span's events), the
 * caller asks SQL.
 */
import { filterText, metaObject, tagList, type DateTimeRange, type FloatRange } from '../db/filters.js';
import { originsOf, traceIdList, type TraceFilter } from './trace-search.js';
import type { SpanFilter } from '../spans/span-filter.js';
import type { TraceOrigin } from '../vocabulary.js';
import { isStale } from './trace-stale.js';
import type { SpanRow, TraceRow } from '../db/rows.js';

type Check = (trace: TraceRow) => boolean;
/** A SpanFilter as a function of a span row. */
export type SpanCheck = (span: SpanRow) => boolean;

/** STALE_AFTER_MS, and the clock `filter.stale` is checked against (now, each time it is asked). */
export interface StaleClock {
  afterMs: number;
  now?: () => Date;
}

/**
 * The filter as a function of a trace row, or null when a condition needs SQL: `hasSpan` and
 * `model` (conditions on spans), and a search term with non-ASCII letters (SQLite's LIKE folds only
 * ASCII case, PostgreSQL's ILIKE folds all; memory would have to pick one). Throws the same
 * BAD_USER_INPUT as the SQL filter for a filter that is not valid.
 */
export function memoryMatcher(filter: TraceFilter | null | undefined, stale: StaleClock): Check | null {
  const onRow = traceRowMatcher(filter, stale);
  return filter?.model != null || filter?.hasSpan ? null : onRow;
}

/**
 * The conditions of a filter on the trace row itself (all but `hasSpan` and `model`) as a function of
 * the row, or null when one needs SQL (a search term with non-ASCII letters). Throws the same
 * BAD_USER_INPUT as the SQL filter for a filter that is not valid.
 */
export function traceRowMatcher(filter: TraceFilter | null | undefined, stale: StaleClock): Check | null {
  const checks: Check[] = [];
  const origins = originsOf(filter);
  if (origins) checks.push((trace) => origins.includes(trace.origin as TraceOrigin));
  if (!filter) return (trace) => checks.every((check) => check(trace));
  const search = filterText(filter.search, 'filter.search');
  if (search) {
    if (!isAscii(search)) return null;
    const term = foldAscii(search);
    checks.push((trace) => foldAscii(trace.name).includes(term));
  }
  if (filter.status?.length) {
    const statuses = new Set(filter.status);
    checks.push((trace) => statuses.has(trace.status));
  }
  checks.push(...range(filter.durationMs, (trace: TraceRow) => trace.durationMs));
  checks.push(...range(filter.cost, (trace: TraceRow) => trace.cost));
  checks.push(...range(filter.totalTokens, (trace: TraceRow) => trace.totalTokens));
  checks.push(...range(filter.startTime, (trace: TraceRow) => trace.startTime));
  const sessionId = filterText(filter.sessionId, 'filter.sessionId');
  if (sessionId) checks.push((trace) => trace.sessionId === sessionId);
  const ids = traceIdList(filter.ids);
  if (ids) {
    const listed = new Set(ids);
    checks.push((trace) => listed.has(trace.id));
  }
  if (filter.stale != null) {
    const { afterMs, now = () => new Date() } = stale;
    const wanted = filter.stale;
    checks.push((trace) => isStale(trace, { afterMs, now: now() }) === wanted);
  }
  const tags = tagList(filter.tags, 'filter.tags');
  if (tags.length) checks.push((trace) => tags.every((tag) => (trace.tags as string[]).includes(tag)));
  const meta = metaObject(filter.meta, 'filter.meta');
  if (meta) checks.push((trace) => jsonContains(trace.meta, meta));
  return (trace) => checks.every((check) => check(trace));
}

/**
 * A SpanFilter as a function of a span row (`spanConditions` in memory), or null when a condition
 * needs SQL: `hasEventKind` (the span's events are not on the row) or a search term with non-ASCII
 * letters. `field` names the filter in messages, as in `spanConditions`.
 */
export function spanMatcher(filter: SpanFilter, field = 'filter'): SpanCheck | null {
  if (filter.hasEventKind?.length) return null;
  const checks: SpanCheck[] = [];
  const search = filterText(filter.search, `${field}.search`);
  if (search) {
    if (!isAscii(search)) return null;
    const term = foldAscii(search);
    checks.push((span) => foldAscii(span.name).includes(term));
  }
  if (filter.name != null) {
    const name = filterText(filter.name, `${field}.name`);
    checks.push((span) => span.name === name);
  }
  if (filter.type?.length) {
    const types = new Set<string>(filter.type);
    checks.push((span) => types.has(span.type));
  }
  if (filter.model != null) {
    const model = filterText(filter.model, `${field}.model`);
    checks.push((span) => span.model === model);
  }
  if (filter.hasError != null) {
    const hasError = filter.hasError;
    checks.push((span) => (span.error !== null && span.error !== undefined) === hasError);
  }
  checks.push(...range(filter.score, (span: SpanRow) => span.score));
  checks.push(...range(filter.durationMs, (span: SpanRow) => span.durationMs));
  checks.push(...range(filter.startTime, (span: SpanRow) => span.startTime));
  const tags = tagList(filter.tags, `${field}.tags`);
  if (tags.length) checks.push((span) => tags.every((tag) => (span.tags as string[]).includes(tag)));
  const meta = metaObject(filter.meta, `${field}.meta`);
  if (meta) checks.push((span) => jsonContains(span.meta, meta));
  if (filter.traceId != null) {
    const traceId = filter.traceId;
    checks.push((span) => span.traceId === traceId);
  }
  if (filter.parentId != null) {
    const parentId = filter.parentId;
    checks.push((span) => span.parentId === parentId);
  }
  if (filter.isRoot != null) {
    const isRoot = filter.isRoot;
    checks.push((span) => (span.parentId === null) === isRoot);
  }
  return (span) => checks.every((check) => check(span));
}

function isAscii(text: string): boolean {
  return /^[\x00-\x7f]*$/.test(text);
}

/** Lower case for ASCII letters only, as LIKE compares them; every other character as it is. */
function foldAscii(text: string): string {
  return text.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
}

/** `value` within the inclusive bounds given; a missing value (a running trace's duration) never is. */
function range<Row>(
  bounds: FloatRange | DateTimeRange | null | undefined,
  valueOf: (row: Row) => number | Date | null,
): ((row: Row) => boolean)[] {
  if (!bounds) return [];
  const { gte, lte } = bounds;
  if (gte == null && lte == null) return [];
  const number = (value: number | Date) => (value instanceof Date ? value.getTime() : value);
  return [
    (row) => {
      const value = valueOf(row);
      if (value === null || value === undefined) return false;
      if (gte != null && number(value) < number(gte)) return false;
      if (lte != null && number(value) > number(lte)) return false;
      return true;
    },
  ];
}

/**
 * PostgreSQL's jsonb containment (`@>`), which the SQLite filter implements too: every key/value of
 * `expected` is in `stored`, objects recursively, and an expected array's elements are each equal to
 * some element of the stored array.
 */
export function jsonContains(stored: unknown, expected: unknown): boolean {
  if (Array.isArray(expected)) {
    return Array.isArray(stored) && expected.every((element) => stored.some((item) => jsonContains(item, element)));
  }
  if (expected !== null && typeof expected === 'object') {
    if (stored === null || typeof stored !== 'object' || Array.isArray(stored)) return false;
    return Object.entries(expected).every(
      ([key, value]) => Object.hasOwn(stored, key) && jsonContains((stored as Record<string, unknown>)[key], value),
    );
  }
  return stored === expected;
}
