/** The project-wide spans list and a trace's filtered spans, as pages or lists of ids. */
import type { Database } from '../db/database.js';
import { column, join, raw, sql, type Dialect, type Sql } from '../db/dialect.js';
import { allOf, inList } from '../db/filters.js';
import { countRows, pageOfRows, type RowPage, type SortKey } from '../db/keyset.js';
import { spanConditions, type SpanFilter } from './span-filter.js';
import type { Scope } from '../schema/context.js';

const ALIAS = 'span';
const FROM = raw(`"Span" AS "${ALIAS}"`);
const col = (name: string) => column(ALIAS, name);

function spanWhere(dialect: Dialect, scope: Scope, filter: SpanFilter | null | undefined, extra: Sql[] = []): Sql {
  return allOf([sql`${col('projectId')} = ${scope.projectId}`, ...extra, ...spanConditions(dialect, ALIAS, filter)]);
}

/**
 * Spans across the project, newest first: one statement for the page, reading only `columns` (names
 * of Span's columns from the data model, never from input), sought to from a cursor on the
 * (projectId, startTime, id) index.
 */
export async function searchSpans(
  { read, dialect }: Database,
  scope: Scope,
  search: { first: number; after?: string | null; filter?: SpanFilter | null; columns: readonly string[] },
): Promise<RowPage & { totalCount: () => Promise<number> }> {
  const where = spanWhere(dialect, scope, search.filter);
  const keys: SortKey[] = [
    { expr: col('startTime'), direction: 'DESC', kind: 'date' },
    { expr: col('id'), direction: 'DESC', kind: 'string' },
  ];
  const page = await pageOfRows(read, {
    from: FROM,
    columns: join(search.columns.map((name) => col(name)), ', '),
    where,
    keys,
    first: search.first,
    after: search.after,
  });
  return { ...page, totalCount: () => countRows(read, FROM, where) };
}

/**
 * Ids of the spans of several traces that match a filter, per trace, in start order: one statement
 * for all the traces a response shows.
 */
export async function matchingSpanIds(
  { read, dialect }: Database,
  scope: Scope,
  traceIds: readonly string[],
  filter: SpanFilter,
): Promise<Map<string, string[]>> {
  const rows = await read.$queryRaw<{ id: string; traceId: string }[]>(
    sql`SELECT ${col('id')} AS "id", ${col('traceId')} AS "traceId" FROM ${FROM}
        WHERE ${spanWhere(dialect, scope, filter, inList(col('traceId'), traceIds))}
        ORDER BY ${col('traceId')}, ${col('startTime')}, ${col('id')}`,
  );
  const byTrace = new Map<string, string[]>(traceIds.map((id) => [id, []]));
  for (const row of rows) byTrace.get(row.traceId)?.push(row.id);
  return byTrace;
}
