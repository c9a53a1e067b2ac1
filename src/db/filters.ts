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
  if (gte != null) conditions.push(sql`${expr} >= ${gte}`);
  if (lte != null) conditions.push(sql`${expr} <= ${lte}`);
  return conditions;
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
