/**
 * Spans as other services see them: the trace of a stored span. The write path itself (create,
 * update) is src/ingest/, shared by every transport.
 */
import type { Database, Tx } from '../db/database.js';
import type { Scope } from '../schema/context.js';
import { NotFound } from '../errors.js';
import { sql, type Dialect } from '../db/dialect.js';

/**
 * The trace of a stored span in the caller's project, for what attaches to spans (events, metrics).
 * The span is held until the transaction ends: a deletion of it waits for what is attached to commit,
 * and deletes that too, or has committed and the span is not found (PostgreSQL; SQLite writers take
 * turns anyway).
 */
export async function spanTrace(dialect: Dialect, tx: Tx, projectId: string, spanId: string): Promise<{ traceId: string }> {
  const [span] = await tx.$queryRaw<{ traceId: string }[]>(
    sql`SELECT "traceId" FROM "Span" WHERE "projectId" = ${projectId} AND "id" = ${spanId}${dialect.forKeyShare}`,
  );
  if (!span) throw new NotFound(`span ${spanId} not found`, { spanId });
  return span;
}

/**
 * A stored span's meta in the caller's project, for a writer that changes part of it (the REST API
 * keeps the contract's extras when an update replaces the rest).
 */
export async function storedMeta(db: Database, scope: Scope, spanId: string): Promise<unknown> {
  const span = await db.read.span.findUnique({ where: { projectId_id: { projectId: scope.projectId, id: spanId } }, select: { meta: true } });
  if (!span) throw new NotFound(`span ${spanId} not found`, { spanId });
  return span.meta;
}
