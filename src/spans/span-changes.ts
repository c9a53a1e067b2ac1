import { publish, traceKey, type SpanChangeMessage } from '../pubsub.js';
import type { TraceRow } from '../traces/trace.service.js';

export type SpanChange = SpanChangeMessage;

/** Called after the write's transaction commits: a failed write publishes nothing. */
export function publishSpanChanges(projectId: string, changes: SpanChange[], traces: TraceRow[]): void {
  for (const change of changes) publish('trace:spans', traceKey(projectId, change.span.traceId), change);
  for (const trace of traces) publish('trace:updated', projectId, trace);
}
