/**
 * Spans as other services see them: who is writing (the scope), and the trace of a stored span. The
 * write path itself (create, update) is src/ingest/ingest.service.ts, shared by every transport.
 */
import type { Tx } from '../db/database.js';
import { NotFound } from '../errors.js';
import type { Span } from '../generated/sqlite/client.js';

export type SpanRow = Span;
export type { CreateSpanInput, UpdateSpanInput } from './span-input.js';

/** Who is writing: every read and write is confined to one project. */
export interface Scope {
  projectId: string;
}

/** The trace of a stored span in the caller's project, for what attaches to spans (events, metrics). */
export async function spanTrace(tx: Tx, projectId: string, spanId: string): Promise<{ traceId: string }> {
  const span = await tx.span.findUnique({ where: { projectId_id: { projectId, id: spanId } }, select: { traceId: true } });
  if (!span) throw new NotFound(`span ${spanId} not found`, { spanId });
  return span;
}
