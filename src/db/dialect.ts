/**
 * The few SQL fragments that differ between SQLite and PostgreSQL. Everything else Spantree sends is
 * either Prisma's own query API or SQL both databases accept; domain code asks the dialect and never
 * checks the provider itself.
 */
import { Prisma } from '../generated/sqlite/client.js';
import { BadUserInput } from '../errors.js';
import type { Provider } from './database-url.js';

export type Sql = Prisma.Sql;
export const sql = Prisma.sql;
export const join = Prisma.join;
export const raw = Prisma.raw;
export const empty = Prisma.empty;

/** A quoted column reference, `"alias"."column"`. Names come from code, never from input. */
export function column(alias: string, name: string): Sql {
  return raw(`"${alias}"."${name}"`);
}

export interface Dialect {
  /** Case-insensitive substring match (PostgreSQL: ILIKE, served by the trigram index). */
  containsText(target: Sql, term: string): Sql;
  /**
   * The JSON object in `target` holds every key/value of `expected`, nested objects included;
   * `field` names the filter in messages about what a database cannot match.
   */
  jsonContains(target: Sql, expected: Record<string, unknown>, field: string): Sql;
  /** The JSON array of strings in `target` holds every one of `values`. */
  arrayContainsAll(target: Sql, values: string[]): Sql;
  /** One row per distinct element (column `tag`) of the string arrays in `target` over `from`. */
  distinctArrayElements(target: Sql, from: Sql, where: Sql): Sql;
  /**
   * The length in bytes of the text a content column holds (JSON as text), without handing the text
   * over: SQLite reads it from the record header; PostgreSQL works it out on its side.
   */
  textBytes(target: Sql, json: boolean): Sql;
  /** Appended to a SELECT that must lock its rows until the transaction ends. */
  forUpdate: Sql;
  /**
   * Appended to a SELECT of rows that must not be deleted (or change key) until the transaction ends,
   * such as the span an event is written against; their other columns may still be updated meanwhile.
   */
  forKeyShare: Sql;
  /** Like forUpdate, but rows another transaction holds are passed over (background sweeps). */
  forUpdateSkipLocked: Sql;
  /** Like forUpdate, locking only the rows of the table with this alias (a join reads others). */
  forUpdateOf(alias: string): Sql;
  /** The most values one statement may bind: multi-row statements are cut to fit. */
  maxBindValues: number;
  /** Whether write transactions run one at a time anyway (SQLite's single writer): no row locks needed. */
  serializedWriters: boolean;
  /**
   * A statement that takes a lock on each key until the transaction ends, or null where writers are
   * serialised anyway. Keys are locked in sorted order, so two writers cannot deadlock on them.
   */
  lockKeys(keys: string[]): Sql | null;
  /** The smaller and the larger of two values of one type (dates, numbers). */
  least(a: Sql, b: Sql): Sql;
  greatest(a: Sql, b: Sql): Sql;
  /** A USD amount rounded to 1e-8, the precision costs are kept to (src/costs/money.ts). */
  roundCost(amount: Sql): Sql;
  /**
   * The sum of USD amounts over a group, without the drift of adding doubles (src/costs/money.ts),
   * and 0 over no row or only NULLs; the caller rounds it.
   */
  sumCosts(amount: Sql): Sql;
}

/**
 * Runs one multi-row statement per chunk of `rows` that fits the database's limit on bound values,
 * `columns` values a row: a batch costs as few statements as the database allows.
 */
export async function inChunks<Row>(dialect: Dialect, rows: Row[], columns: number, run: (chunk: Row[]) => Promise<unknown>): Promise<void> {
  const perStatement = Math.max(1, Math.floor(dialect.maxBindValues / columns));
  for (let start = 0; start < rows.length; start += perStatement) await run(rows.slice(start, start + perStatement));
}

/** `%term%` for LIKE, with LIKE's own wildcards in the term taken literally. */
function likePattern(term: string): string {
  return `%${term.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

const sqlite: Dialect = {
  containsText: (target, term) => sql`${target} LIKE ${likePattern(term)} ESCAPE '\\'`,
  jsonContains: (target, expected, field) => join(sqliteJsonConditions(target, expected, '$', field), ' AND '),
  arrayContainsAll: (target, values) =>
    join(
      values.map((value) => sql`EXISTS (SELECT 1 FROM json_each(${target}) WHERE json_each.value = ${value})`),
      ' AND ',
    ),
  distinctArrayElements: (target, from, where) =>
    sql`SELECT DISTINCT element.value AS tag FROM ${from}, json_each(${target}) AS element WHERE ${where}`,
  textBytes: (target) => sql`octet_length(${target})`,
  forUpdate: empty, // SQLite writers are serialised: a write transaction holds the database's only write lock.
  forKeyShare: empty,
  forUpdateSkipLocked: empty,
  forUpdateOf: () => empty,
  maxBindValues: 32_766,
  serializedWriters: true,
  lockKeys: () => null,
  least: (a, b) => sql`MIN(${a}, ${b})`,
  greatest: (a, b) => sql`MAX(${a}, ${b})`,
  roundCost: (amount) => sql`ROUND(${amount}, 8)`,
  // TOTAL adds with compensation (Kahan-Babuska-Neumaier), and always answers a REAL: SUM of a column
  // whose first values are whole would be typed as an integer by the driver, and cut the rest.
  sumCosts: (amount) => sql`TOTAL(${amount})`,
};

const postgresql: Dialect = {
  containsText: (target, term) => sql`${target} ILIKE ${likePattern(term)}`,
  // @> on jsonb is what the GIN (jsonb_path_ops) indexes serve.
  jsonContains: (target, expected) => sql`${target} @> ${JSON.stringify(expected)}::jsonb`,
  arrayContainsAll: (target, values) => sql`${target} @> ${JSON.stringify(values)}::jsonb`,
  distinctArrayElements: (target, from, where) =>
    sql`SELECT DISTINCT element.tag FROM ${from}, jsonb_array_elements_text(${target}) AS element(tag) WHERE ${where}`,
  textBytes: (target, json) => (json ? sql`octet_length(${target}::text)` : sql`octet_length(${target})`),
  forUpdate: raw(' FOR UPDATE'),
  forKeyShare: raw(' FOR KEY SHARE'),
  forUpdateSkipLocked: raw(' FOR UPDATE SKIP LOCKED'),
  forUpdateOf: (alias) => raw(` FOR UPDATE OF "${alias}"`),
  maxBindValues: 65_535,
  serializedWriters: false,
  lockKeys: (keys) =>
    keys.length
      ? sql`SELECT COUNT(*) AS "locked" FROM (
          SELECT pg_advisory_xact_lock(hashtextextended("key", 0)) FROM unnest(${[...keys].sort()}::text[]) AS "key"
        ) AS "locks"`
      : null,
  least: (a, b) => sql`LEAST(${a}, ${b})`,
  greatest: (a, b) => sql`GREATEST(${a}, ${b})`,
  // round(double precision, int) does not exist; numeric rounds exactly, and the cast back gives the
  // double nearest the rounded decimal, as SQLite's ROUND does.
  roundCost: (amount) => sql`ROUND((${amount})::numeric, 8)::double precision`,
  // Added as NUMERIC, exactly; a double's text holds the decimal it stands for.
  sumCosts: (amount) => sql`COALESCE(SUM((${amount})::numeric), 0)`,
};

export function dialectFor(provider: Provider): Dialect {
  return provider === 'sqlite' ? sqlite : postgresql;
}

/**
 * SQLite has no containment operator: walk the expected object and test each leaf with
 * json_extract/json_type at its path, with the same meaning as PostgreSQL's @> (an expected array
 * matches when the stored array holds each of its elements).
 */
function sqliteJsonConditions(target: Sql, expected: unknown, path: string, field: string): Sql[] {
  if (Array.isArray(expected)) {
    // As PostgreSQL's @>: an expected array matches only an array (json_each would also walk a scalar).
    return [sql`json_type(${target}, ${path}) = 'array'`, ...expected.map((element) => {
      if (element !== null && typeof element === 'object') {
        throw new BadUserInput(`${field}: an array in a meta filter may hold only strings, numbers, booleans and null`, { field });
      }
      return sql`EXISTS (SELECT 1 FROM json_each(${target}, ${path}) AS element WHERE ${sqliteJsonLeaf(
        raw('element.value'),
        raw('element.type'),
        element,
      )})`;
    })];
  }
  if (expected !== null && typeof expected === 'object') {
    const conditions = Object.entries(expected).flatMap(([key, value]) => {
      if (/["\\\u0000-\u001f]/.test(key)) {
        throw new BadUserInput(`${field}: a meta filter key may not contain quotes, backslashes or control characters: ${JSON.stringify(key)}`, { field });
      }
      return sqliteJsonConditions(target, value, `${path}."${key}"`, field);
    });
    return conditions.length ? conditions : [sql`json_type(${target}, ${path}) = 'object'`];
  }
  return [sqliteJsonLeaf(sql`json_extract(${target}, ${path})`, sql`json_type(${target}, ${path})`, expected)];
}

function sqliteJsonLeaf(value: Sql, type: Sql, expected: unknown): Sql {
  if (expected === null) return sql`${type} = 'null'`;
  if (typeof expected === 'boolean') return sql`${type} = ${expected ? 'true' : 'false'}`;
  if (typeof expected === 'number') return sql`(${type} IN ('integer', 'real') AND ${value} = ${expected})`;
  if (typeof expected === 'string') return sql`(${type} = 'text' AND ${value} = ${expected})`;
  throw new BadUserInput('A meta filter value must be JSON');
}
