/**
 * Sessions: the conversations or threads traces belong to (a root span's `sessionId`, OTLP's
 * `gen_ai.conversation.id` or `session.id`), listed with the rollups the write path keeps.
 */
import type { Database } from '../db/database.js';
import { column, raw, sql, type Dialect, type Sql } from '../db/dialect.js';
import { filterText, rangeConditions, type DateTimeRange } from '../db/filters.js';
import { countRows, pageOfRows, type RowPage, type SortKey } from '../db/keyset.js';
import type { SessionRow } from '../db/rows.js';
import type { Scope } from '../schema/context.js';

export interface SessionFilter {
  /** Substring of the session id, ignoring case as the trace search does. */
  search?: string | null;
  /** Active (its last time) within this range. */
  lastTime?: DateTimeRange | null;
  /** Only sessions with (true) or without (false) a failed trace. */
  hasError?: boolean | null;
}

const ALIAS = 'session';
const FROM = raw(`"Session" AS "${ALIAS}"`);
const col = (name: string) => column(ALIAS, name);
const SESSION_COLUMNS = ['projectId', 'id', 'traceCount', 'firstTime', 'lastTime', 'totalTokens', 'cost', 'errorCount', 'createdAt', 'updatedAt'];
/** Most recently active first; ties by id, so pages never overlap. */
const KEYS: SortKey[] = [
  { expr: col('lastTime'), direction: 'DESC', kind: 'date' },
  { expr: col('id'), direction: 'DESC', kind: 'string' },
];

function sessionConditions(dialect: Dialect, scope: Scope, filter: SessionFilter | null | undefined): Sql {
  const conditions: Sql[] = [sql`${col('projectId')} = ${scope.projectId}`];
  const search = filterText(filter?.search, 'filter.search');
  if (search) conditions.push(dialect.containsText(col('id'), search));
  conditions.push(...rangeConditions(col('lastTime'), filter?.lastTime, 'filter.lastTime'));
  if (filter?.hasError === true) conditions.push(sql`${col('errorCount')} > 0`);
  if (filter?.hasError === false) conditions.push(sql`${col('errorCount')} = 0`);
  return conditions.reduce((all, condition) => sql`${all} AND ${condition}`);
}

/** A page of the project's sessions, most recently active first, and a lazy total. */
export async function searchSessions(
  { read, dialect }: Database,
  scope: Scope,
  { first, after, filter }: { first: number; after?: string | null; filter?: SessionFilter | null },
): Promise<RowPage<SessionRow> & { totalCount: () => Promise<number> }> {
  const where = sessionConditions(dialect, scope, filter);
  const page = await pageOfRows(read, {
    from: FROM,
    columns: raw(SESSION_COLUMNS.map((name) => `"${ALIAS}"."${name}"`).join(', ')),
    where,
    keys: KEYS,
    first,
    after,
  });
  return { ...(page as RowPage<SessionRow>), totalCount: () => countRows(read, FROM, where) };
}

/** Sessions by id, in the caller's project (missing ones left out). */
export function sessionsByIds(db: Database, scope: Scope, ids: readonly string[]): Promise<SessionRow[]> {
  return db.read.session.findMany({ where: { projectId: scope.projectId, id: { in: [...ids] } } });
}
