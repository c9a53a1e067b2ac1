/**
 * Spans as other services see them: the trace of a stored span. The write path itself (create,
 * update) is src/ingest/, shared by every transport.
 */
import type { Tx } from '../db/database.js';
import { NotFound } from '../errors.js';

/** The trace of a stored span in the caller's project, for what attaches to spans (events, metrics). */
export async function spanTrace(tx: Tx, projectId: string, spanId: string): Promise<{ traceId: string }> {
  const span = await tx.span.findUnique({ where: { projectId_id: { projectId, id: spanId } }, select: { traceId: true } });
  if (!span) throw new NotFound(`span ${spanId} not found`, { spanId });
  return span;
}
