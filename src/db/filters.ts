/** SQL conditions shared by the trace and span filters. */
import { BadUserInput } from '../errors.js';
import { join, sql, type Sql } from './dialect.js';

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

/** `expr IN (...)`, or no condition for an absent or empty list. */
export function inList(expr: Sql, values: readonly string[] | null | undefined): Sql[] {
  return values?.length ? [sql`${expr} IN (${join(values)})`] : [];
}

/** A meta filter must be a JSON object of the key/values to match. */
export function metaObject(meta: unknown, field: string): Record<string, unknown> | undefined {
  if (meta === null || meta === undefined) return undefined;
  if (typeof meta !== 'object' || Array.isArray(meta)) {
    throw new BadUserInput(`${field}: must be a JSON object of the key/values to match, e.g. {"userId": "u-123"}`, { field });
  }
  return meta as Record<string, unknown>;
}

/** Conditions joined with AND; TRUE when there are none. */
export function allOf(conditions: Sql[]): Sql {
  return conditions.length ? join(conditions, ' AND ') : sql`1 = 1`;
}
