import type { Event, Metric, Span } from '../generated/sqlite/client.js';

/** The span as one JSON object, as "copy span" puts it on the clipboard: no internal columns. */
export function spanJson(span: Span & { events: Event[]; metrics: Metric[] }): Record<string, unknown> {
  return {
    id: span.id,
    traceId: span.traceId,
    parentId: span.parentId,
    name: span.name,
    type: span.type,
    startTime: span.startTime.toISOString(),
    endTime: span.endTime?.toISOString() ?? null,
    durationMs: span.durationMs,
    input: span.input,
    output: span.output,
    error: span.error,
    meta: span.meta,
    tags: span.tags,
    score: span.score,
    model: span.model,
    inputTokens: span.inputTokens,
    outputTokens: span.outputTokens,
    totalTokens: span.totalTokens,
    cost: span.cost,
    instructions: span.instructions,
    events: span.events.map((event) => ({
      id: event.id,
      kind: event.kind,
      source: event.source,
      data: event.data,
      createdAt: event.createdAt.toISOString(),
    })),
    metrics: span.metrics.map((metric) => ({
      id: metric.id,
      dimension: metric.dimension,
      value: metric.value,
      comment: metric.comment,
      createdAt: metric.createdAt.toISOString(),
    })),
  };
}
