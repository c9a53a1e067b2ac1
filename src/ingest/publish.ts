/**
 * Publishing after commit: what a write changed, told to live subscribers on every instance. Called
 * by the write path once its transaction has committed, so a failed write publishes nothing.
 */
import type { EventRow, SpanRow, TraceRow } from '../db/rows.js';
import { CARRIED_SPAN_CHANGES, CONTENT_COLUMNS, traceKey, type PubSub, type SpanChangeMessage } from '../pubsub.js';

/** The span as published: every column but its content (CONTENT_COLUMNS). */
function withoutContent(span: SpanRow): SpanRow {
  // Destructured rather than deleted: objects keep their fast shape, and every subscriber reads them.
  const {
    input: _input,
    output: _output,
    instructions: _instructions,
    observations: _observations,
    scorerContext: _scorerContext,
    ...lean
  } = span satisfies Record<(typeof CONTENT_COLUMNS)[number], unknown>;
  return lean as SpanRow;
}

/**
 * The changed spans on their traces' channels, then the traces whose rollups changed, each with its
 * own span changes (the same lean objects) for the live explorer's conditions on spans.
 */
export function publishSpanChanges(pubsub: PubSub, projectId: string, changes: SpanChangeMessage[], traces: TraceRow[]): void {
  const byTrace = new Map<string, SpanChangeMessage[]>();
  for (const change of changes) {
    const lean: SpanChangeMessage = { op: change.op, span: withoutContent(change.span) };
    pubsub.publish('trace:spans', traceKey(projectId, change.span.traceId), lean);
    const ofTrace = byTrace.get(change.span.traceId);
    if (ofTrace) ofTrace.push(lean);
    else byTrace.set(change.span.traceId, [lean]);
  }
  for (const trace of traces) {
    const spans = byTrace.get(trace.id) ?? [];
    pubsub.publish('trace:updated', projectId, { trace, spans: spans.length <= CARRIED_SPAN_CHANGES ? spans : null });
  }
}

/** Recorded events on their traces' channels. */
export function publishEvents(pubsub: PubSub, projectId: string, events: EventRow[]): void {
  for (const event of events) pubsub.publish('trace:events', traceKey(projectId, event.traceId), event);
}
