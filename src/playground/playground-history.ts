/** The playground's history: runs of a project (or of one source trace), newest first, a page at a time. */
import type { Database } from '../db/database.js';
import { raw, sql } from '../db/dialect.js';
import { countRows, pageOfRows, type SortKey } from '../db/keyset.js';
import type { Scope } from '../schema/context.js';
import type { ConnectionPage } from '../schema/connections.js';
import { runOf, type PlaygroundRunView, type RunSpan } from './playground-run.js';

const FROM = raw(`"Trace" AS "t"`);
/** Newest first; served by the (projectId, origin | sourceTraceId, startTime, id) indexes. */
const KEYS: SortKey[] = [
  { expr: sql`"t"."startTime"`, direction: 'DESC', kind: 'date' },
  { expr: sql`"t"."id"`, direction: 'DESC', kind: 'string' },
];

/**
 * One page of runs: the page of run traces in one statement, then their spans in another (the
 * typed client parses their JSON columns on both databases).
 */
export async function playgroundRunPage(
  db: Database,
  scope: Scope,
  { sourceTraceId, first, after }: { sourceTraceId: string | null; first: number; after?: string | null },
): Promise<ConnectionPage> {
  const where = sql`"t"."projectId" = ${scope.projectId} AND "t"."origin" = 'PLAYGROUND'${sourceTraceId === null ? sql`` : sql` AND "t"."sourceTraceId" = ${sourceTraceId}`}`;
  const page = await pageOfRows(db.read, {
    from: FROM,
    columns: sql`"t"."id", "t"."rootSpanId", "t"."sourceTraceId", "t"."sourceSpanId"`,
    where,
    keys: KEYS,
    first,
    after,
  });
  const traces = page.rows as { id: string; rootSpanId: string | null; sourceTraceId: string | null; sourceSpanId: string | null }[];
  const spanIds = traces.map((trace) => trace.rootSpanId).filter((id): id is string => id !== null);
  const spans = spanIds.length ? await db.read.span.findMany({ where: { projectId: scope.projectId, id: { in: spanIds } } }) : [];
  const byId = new Map(spans.map((span) => [span.id, span]));
  const rows: PlaygroundRunView[] = [];
  const cursors: string[] = [];
  traces.forEach((trace, index) => {
    const span = trace.rootSpanId ? byId.get(trace.rootSpanId) : undefined;
    if (!span) return; // deleted between the two statements
    rows.push(runOf(span as RunSpan, trace));
    cursors.push(page.cursors[index]!);
  });
  return { rows: rows as unknown as Record<string, unknown>[], cursors, hasNextPage: page.hasNextPage, totalCount: () => countRows(db.read, FROM, where) };
}
