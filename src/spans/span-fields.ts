/** The fields of a span that writers set, as the write path and the span's JSON both see them. */
import type { SpanType } from '../vocabulary.js';

/** The stored fields of a span that a write sets; `undefined` leaves a field as it is. */
export interface SpanFields {
  name: string;
  type: SpanType;
  startTime: Date;
  endTime: Date | null;
  input: unknown;
  output: unknown;
  error: string | null;
  meta: Record<string, unknown> | null;
  tags: string[];
  score: number | null;
  model: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  totalTokens: number | null;
  cost: number | null;
  instructions: string | null;
  /** What a judge observed about the span; content, like input and output. */
  observations: string | null;
  /** A judge's context per criterion; content, like input and output. */
  scorerContext: Record<string, unknown> | null;
}

/** The writable fields of a stored span. */
export function spanFieldsOf(span: {
  [K in keyof SpanFields]: unknown;
}): SpanFields {
  return {
    name: span.name as string,
    type: span.type as SpanType,
    startTime: span.startTime as Date,
    endTime: span.endTime as Date | null,
    input: span.input,
    output: span.output,
    error: span.error as string | null,
    meta: span.meta as SpanFields['meta'],
    tags: span.tags as string[],
    score: span.score as number | null,
    model: span.model as string | null,
    inputTokens: span.inputTokens as number | null,
    outputTokens: span.outputTokens as number | null,
    totalTokens: span.totalTokens as number | null,
    cost: span.cost as number | null,
    instructions: span.instructions as string | null,
    observations: span.observations as string | null,
    scorerContext: span.scorerContext as SpanFields['scorerContext'],
  };
}


/** Milliseconds from start to end, or null while the span is open. */
export function durationOf(fields: Pick<SpanFields, 'startTime' | 'endTime'>): number | null {
  return fields.endTime ? fields.endTime.getTime() - fields.startTime.getTime() : null;
}
