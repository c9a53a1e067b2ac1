import type { Event, Metric, Span } from '../generated/sqlite/client.js';
import { spanFieldsOf } from './span-input.js';

/** The span as one JSON object, as "copy span" puts it on the clipboard: no internal columns. */
export function spanJson(span: Span & { events: Event[]; metrics: Metric[] }): Record<string, unknown> {
  return {
    id: span.id,
    traceId: span.traceId,
    parentId: span.parentId,
    ...spanFieldsOf(span),
    durationMs: span.durationMs,
    events: span.events.map(({ id, kind, source, data, createdAt }) => ({ id, kind, source, data, createdAt })),
    metrics: span.metrics.map(({ id, dimension, value, comment, createdAt }) => ({ id, dimension, value, comment, createdAt })),
  };
}
