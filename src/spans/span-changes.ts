import { pubsub, traceKey, type SpanChangeMessage } from '../pubsub.js';
import type { TraceRow } from '../traces/trace.service.js';

export type SpanChange = SpanChangeMessage;

/** Called after the write's transaction commits: a failed write publishes nothing. */
export function publishSpanChanges(projectId: string, changes: SpanChange[], traces: TraceRow[]): void {
  const channel = pubsub();
  for (const change of changes) channel.publish('trace:spans', traceKey(projectId, change.span.traceId), change);
  for (const trace of traces) channel.publish('trace:updated', projectId, trace);
}
