import type { EventRow, MetricRow, SpanRow } from '../db/rows.js';
import { spanFieldsOf } from './span-fields.js';

/** The span columns the JSON object is made of (a read of the `json` field selects exactly these). */
export const SPAN_JSON_FIELDS = [
  'id', 'traceId', 'parentId', 'name', 'type', 'startTime', 'endTime', 'durationMs', 'input', 'output', 'error', 'meta',
  'tags', 'score', 'model', 'inputTokens', 'outputTokens', 'totalTokens', 'cost', 'instructions',
  'observations', 'scorerContext',
] as const satisfies readonly (keyof SpanRow)[];

/** The span as one JSON object, as "copy span" puts it on the clipboard: no internal columns. */
export function spanJson(
  span: Pick<SpanRow, (typeof SPAN_JSON_FIELDS)[number]> & { events: EventRow[]; metrics: MetricRow[] },
): Record<string, unknown> {
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
