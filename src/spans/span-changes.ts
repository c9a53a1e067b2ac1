import { publish, traceKey, type SpanChangeMessage } from '../pubsub.js';
import type { SpanRow, TraceRow } from '../db/rows.js';

export type SpanChange = SpanChangeMessage;

/**
 * The columns a span change is published without: content can be megabytes, travels through Redis
 * to every instance, and most live views never select it. A subscriber that does gets it read once
 * per change for all its executions (`spanContent` in span.schema.ts).
 */
export const CONTENT_COLUMNS = ['input', 'output', 'instructions'] as const;

/** The span as published: every column but its content. */
function withoutContent(span: SpanRow): SpanRow {
  const { input: _input, output: _output, instructions: _instructions, ...lean } = span;
  return lean as SpanRow;
}

/** Called after the write's transaction commits: a failed write publishes nothing. */
export function publishSpanChanges(projectId: string, changes: SpanChange[], traces: TraceRow[]): void {
  for (const change of changes) {
    publish('trace:spans', traceKey(projectId, change.span.traceId), { op: change.op, span: withoutContent(change.span) });
  }
  for (const trace of traces) publish('trace:updated', projectId, trace);
}
