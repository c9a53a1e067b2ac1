/** SQL conditions shared by the trace and span filters. */
import { BadUserInput } from '../errors.js';
import { anyWithin, isNonFiniteNumber, isStorableDate, nestedDeeperThan, NOT_FINITE, STORABLE_DATES } from '../validation.js';
import { join, sql, type Sql } from './dialect.js';

/**
 * How much one filter may ask. Each condition becomes a branch of one SQL expression, and SQLite
 * refuses expressions deeper than 1000; no real filter comes near these.
 */
export const FILTER_LIMITS = { tags: 100, metaLeaves: 100, metaDepth: 8, textLength: 1024 };

export interface FloatRange {
  gte?: number | null;
  lte?: number | null;
}

export interface DateTimeRange {
  gte?: Date | null;
  lte?: Date | null;
}

/** `expr` within the inclusive bounds that are given; `field` names the range in messages. */
export function rangeConditions(expr: Sql, range: FloatRange | DateTimeRange | null | undefined, field: string): Sql[] {
  if (!range) return [];
  const { gte, lte } = range;
  // A bound PostgreSQL cannot take as a timestamp (year 0 and before) would fail inside the query.
  for (const [name, value] of [['gte', gte], ['lte', lte]] as const) {
    if (value instanceof Date && !isStorableDate(value)) {
      throw new BadUserInput(`${field}.${name}: ${STORABLE_DATES}`, { field: `${field}.${name}` });
    }
    // -1e400 is -Infinity: PostgreSQL and SQLite would each compare it their own way, matching nothing
    // or everything without a word. Writes refuse it with the same words.
    if (isNonFiniteNumber(value)) throw new BadUserInput(`${field}.${name}: ${NOT_FINITE}`, { field: `${field}.${name}` });
  }
  if (gte != null && lte != null && gte > lte) {
    throw new BadUserInput(`${field}: gte is greater than lte, so nothing can match`, { field });
  }
  const conditions: Sql[] = [];
  if (gte != null) conditions.push(sql`${expr} >= ${bound(gte)}`);
  if (lte != null) conditions.push(sql`${expr} <= ${bound(lte)}`);
  return conditions;
}

/**
 * A bound as a typed parameter. PostgreSQL would otherwise take it as the column's type and refuse
 * 1.5 or 3e9 against an integer column. Whole numbers go as BIGINT, others as DOUBLE PRECISION: both
 * compare with integer and floating-point columns without casting the column, so indexes still serve.
 */
export function bound(value: number | Date): Sql {
  if (typeof value !== 'number') return sql`${value}`;
  return Number.isSafeInteger(value) ? sql`CAST(${value} AS BIGINT)` : sql`CAST(${value} AS DOUBLE PRECISION)`;
}

/** `expr IN (...)`, or no condition for an absent or empty list. Repeated values count once. */
export function inList(expr: Sql, values: readonly string[] | null | undefined): Sql[] {
  return values?.length ? [sql`${expr} IN (${join([...new Set(values)])})`] : [];
}

/** The distinct tags a filter requires, at most FILTER_LIMITS.tags of them. */
export function tagList(tags: readonly string[] | null | undefined, field: string): string[] {
  const distinct = [...new Set(tags ?? [])];
  if (distinct.length > FILTER_LIMITS.tags) {
    throw new BadUserInput(`${field}: a filter may require at most ${FILTER_LIMITS.tags} tags; this one has ${distinct.length}`, { field });
  }
  return distinct;
}

/** A text condition (search, name, model) within FILTER_LIMITS.textLength characters. */
export function filterText(text: string | null | undefined, field: string): string | null | undefined {
  if (text != null && text.length > FILTER_LIMITS.textLength) {
    throw new BadUserInput(`${field}: must be at most ${FILTER_LIMITS.textLength} characters`, { field });
  }
  return text;
}

/** A meta filter must be a JSON object of the key/values to match. */
export function metaObject(meta: unknown, field: string): Record<string, unknown> | undefined {
  if (meta === null || meta === undefined) return undefined;
  if (typeof meta !== 'object' || Array.isArray(meta)) {
    throw new BadUserInput(`${field}: must be a JSON object of the key/values to match, e.g. {"userId": "u-123"}`, { field });
  }
  if (nestedDeeperThan(meta, FILTER_LIMITS.metaDepth) || leafCount(meta) > FILTER_LIMITS.metaLeaves) {
    throw new BadUserInput(
      `${field}: may match at most ${FILTER_LIMITS.metaLeaves} values, nested at most ${FILTER_LIMITS.metaDepth} levels deep`,
      { field },
    );
  }
  // 1e400 parses as Infinity: PostgreSQL would match it as null, SQLite as nothing.
  if (anyWithin(meta, isNonFiniteNumber)) {
    throw new BadUserInput(`${field}: holds a number too large to match (beyond ±1.7976931348623157e308)`, { field });
  }
  return meta as Record<string, unknown>;
}

/** Conditions joined with AND; TRUE when there are none. */
export function allOf(conditions: Sql[]): Sql {
  return conditions.length ? join(conditions, ' AND ') : sql`1 = 1`;
}

/** How many values (non-container leaves, empty containers included) a JSON value holds. */
function leafCount(value: unknown): number {
  if (value === null || typeof value !== 'object') return 1;
  const children = Object.values(value);
  return children.length === 0 ? 1 : children.reduce((sum: number, child) => sum + leafCount(child), 0);
}
