/**
 * Keyset (cursor) pagination over any ordering: stable while rows are being inserted, which an
 * offset is not, and served by an index instead of counting past skipped rows.
 */
import { BadUserInput } from '../errors.js';
import { empty, join, raw, sql, type Sql } from './dialect.js';
import { bound } from './filters.js';
import { isStorableDate, storableString } from '../validation.js';

export type Direction = 'ASC' | 'DESC';

/** One term of an ORDER BY. `expr` must never be NULL (wrap nullable columns, see `nullsLast`). */
export interface SortKey {
  expr: Sql;
  direction: Direction;
  kind: 'date' | 'number' | 'string';
}

/** Sort keys for a nullable column, NULLs last whatever the direction. */
export function nullsLast(columnSql: Sql, direction: Direction): SortKey[] {
  return [
    { expr: sql`(CASE WHEN ${columnSql} IS NULL THEN 1 ELSE 0 END)`, direction: 'ASC', kind: 'number' },
    { expr: sql`COALESCE(${columnSql}, 0)`, direction, kind: 'number' },
  ];
}

export function orderByClause(keys: SortKey[]): Sql {
  return join(
    keys.map((key) => sql`${key.expr} ${raw(key.direction)}`),
    ', ',
  );
}

/** The select list that returns each key's value as k0, k1, ... for the page's cursors. */
export function keyColumns(keys: SortKey[]): Sql {
  return join(
    keys.map((key, index) => sql`${key.expr} AS ${raw(`k${index}`)}`),
    ', ',
  );
}

/**
 * Rows strictly after the row whose key values are `values`, in the keys' order. Consecutive keys
 * sorted the same way compare as one row value, `("startTime", "id") < ($1, $2)`, which an index on
 * those columns seeks to directly; an OR of each key's alternatives would be read as a filter on
 * every row before the cursor. Orders that change direction (nulls last) chain their runs.
 */
export function afterPredicate(keys: SortKey[], values: unknown[]): Sql {
  const runs: { keys: SortKey[]; values: unknown[] }[] = [];
  keys.forEach((key, index) => {
    const last = runs.at(-1);
    if (last && last.keys[0]!.direction === key.direction) {
      last.keys.push(key);
      last.values.push(values[index]);
    } else {
      runs.push({ keys: [key], values: [values[index]] });
    }
  });
  const alternatives = runs.map((run, index) => {
    const equalities = runs.slice(0, index).map((previous) => sql`${rowOf(previous.keys.map((key) => key.expr))} = ${parameters(previous)}`);
    const beyond = sql`${rowOf(run.keys.map((key) => key.expr))} ${raw(run.keys[0]!.direction === 'ASC' ? '>' : '<')} ${parameters(run)}`;
    return equalities.length ? sql`(${join([...equalities, beyond], ' AND ')})` : beyond;
  });
  return alternatives.length === 1 ? alternatives[0]! : sql`(${join(alternatives, ' OR ')})`;
}

/** One expression as itself, several as a row value `(a, b)`. */
function rowOf(parts: Sql[]): Sql {
  return parts.length === 1 ? parts[0]! : sql`(${join(parts, ', ')})`;
}

function parameters(run: { keys: SortKey[]; values: unknown[] }): Sql {
  return rowOf(run.keys.map((key, index) => parameter(key, run.values[index])));
}

function parameter(key: SortKey, value: unknown): Sql {
  return key.kind === 'number' ? bound(value as number) : sql`${value}`;
}

/** Reads a row's key values (k0, k1, ...) in the types the keys compare as. */
export function rowKeyValues(keys: SortKey[], row: Record<string, unknown>): unknown[] {
  return keys.map((key, index) => normalize(key, row[`k${index}`]));
}

/** What a client is told of a cursor from another list, ordering or filter, or a mangled one. */
export const INVALID_CURSOR = 'The `after` cursor is not valid for this list and ordering; take it from the same query';

export function encodeCursor(keys: SortKey[], values: unknown[]): string {
  const plain = values.map((value, index) => (keys[index]!.kind === 'date' ? (value as Date).toISOString() : value));
  return Buffer.from(JSON.stringify(plain)).toString('base64url');
}

/** The key values a cursor holds; a cursor from another ordering or a mangled one is bad input. */
export function decodeCursor(keys: SortKey[], cursor: string): unknown[] {
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    values = undefined;
  }
  if (!Array.isArray(values) || values.length !== keys.length) {
    throw new BadUserInput(INVALID_CURSOR);
  }
  return keys.map((key, index) => {
    const value = normalize(key, values[index]);
    if (value === undefined || (typeof value === 'number' && !Number.isFinite(value))) {
      throw new BadUserInput(INVALID_CURSOR);
    }
    return value;
  });
}

function normalize(key: SortKey, value: unknown): unknown {
  switch (key.kind) {
    case 'date': {
      const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
      // Within the years both databases store (a forged cursor can name any JavaScript date).
      return date && isStorableDate(date) ? date : undefined;
    }
    case 'number':
      return typeof value === 'bigint' ? Number(value) : typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : undefined;
    case 'string':
      return typeof value === 'string' ? storableString(value) : undefined;
  }
}

/** One page of a keyset-paginated list: rows in order, each with its cursor. */
export interface RowPage<Row = Record<string, unknown>> {
  rows: Row[];
  cursors: string[];
  hasNextPage: boolean;
}

export interface PageQuery {
  /** `"Table" AS "alias"`. */
  from: Sql;
  /** What each row holds: the select list, e.g. `"alias"."id", "alias"."name"`. */
  columns: Sql;
  where: Sql;
  keys: SortKey[];
  first: number;
  after?: string | null;
  /**
   * Rows to skip before the page, for clients that page by offset (the REST API). The database still
   * walks the skipped rows, so callers bound it (MAX_OFFSET).
   */
  offset?: number;
}

/** The most rows an offset may skip: deeper pages are read with cursors. */
export const MAX_OFFSET = 100_000;

/**
 * Reads one page of rows in one statement: the cursor's condition seeks on the ordering's index,
 * and LIMIT first + 1 tells whether there is a next page.
 */
export async function pageOfRows(
  client: { $queryRaw<T>(query: Sql): Promise<T> },
  { from, columns, where, keys, first, after, offset = 0 }: PageQuery,
): Promise<RowPage> {
  const conditions = after ? sql`${where} AND ${afterPredicate(keys, decodeCursor(keys, after))}` : where;
  const rows = await client.$queryRaw<Record<string, unknown>[]>(
    sql`SELECT ${columns}, ${keyColumns(keys)} FROM ${from} WHERE ${conditions}
        ORDER BY ${orderByClause(keys)} LIMIT ${first + 1}${offset > 0 ? sql` OFFSET ${offset}` : empty}`,
  );
  const page = rows.slice(0, first);
  return {
    cursors: page.map((row) => encodeCursor(keys, rowKeyValues(keys, row))),
    rows: page.map((row) => {
      for (let index = 0; index < keys.length; index++) delete row[`k${index}`];
      return row;
    }),
    hasNextPage: rows.length > first,
  };
}

/** How many rows match, for a connection's totalCount. */
export async function countRows(client: { $queryRaw<T>(query: Sql): Promise<T> }, from: Sql, where: Sql): Promise<number> {
  const rows = await client.$queryRaw<{ count: number | bigint }[]>(sql`SELECT COUNT(*) AS "count" FROM ${from} WHERE ${where}`);
  return Number(rows[0]!.count);
}

/** Puts rows loaded with `IN (...)` back into the page's order. */
export function inPageOrder<Row extends { id: string }>(ids: string[], rows: Row[]): Row[] {
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id)).filter((row): row is Row => row !== undefined);
}

/** Validates `first`: absent means `fallback`, and no page is larger than `max`. */
export function pageSize(first: number | null | undefined, fallback: number, max: number): number {
  if (first == null) return fallback;
  if (!Number.isInteger(first) || first < 0 || first > max) {
    throw new BadUserInput(`first: must be a whole number from 0 to ${max}`, { field: 'first' });
  }
  return first;
}

/** An offset a client asked for, checked: a whole number from 0 to MAX_OFFSET. */
export function offsetOf(offset: number | null | undefined, field = 'offset'): number {
  if (offset == null) return 0;
  if (!Number.isInteger(offset) || offset < 0 || offset > MAX_OFFSET) {
    throw new BadUserInput(`${field}: must be a whole number from 0 to ${MAX_OFFSET}; page deeper with cursors`, { field });
  }
  return offset;
}
