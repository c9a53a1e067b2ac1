/**
 * A playground run as the API tells it, read off the trace that records it: a trace of origin
 * PLAYGROUND with one GENERATION span. The span holds everything (the request as its input, the
 * answer as its output, model, parameters in its meta, tokens, cost, timings), so a run is stored
 * once, under the project's retention rule like any span, and goes when its trace goes.
 */
import { spanMessagesOf, type ConversationMessage, type GenerationParameters, type SpanContent } from '../conversations/conversation.js';
import type { SpanRow, TraceRow } from '../db/rows.js';

/** Where a run keeps what is not a span column, in the span's meta. */
export const RUN_META = {
  providerId: 'spantree.playground.provider_id',
  label: 'spantree.playground.label',
  timeToFirstTokenMs: 'spantree.playground.time_to_first_token_ms',
} as const;

export interface PlaygroundRunView {
  id: string;
  traceId: string;
  providerId: string | null;
  model: string;
  label: string | null;
  /** What was sent; null when the content was not kept. */
  messages: ConversationMessage[] | null;
  parameters: GenerationParameters | null;
  /** The answer; null when not kept, or when the run failed before answering. */
  output: ConversationMessage | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cost: number | null;
  costSource: string;
  latencyMs: number | null;
  timeToFirstTokenMs: number | null;
  error: string | null;
  sourceTraceId: string | null;
  sourceSpanId: string | null;
  createdAt: Date;
}

/** The span columns a run is read from. */
export type RunSpan = SpanContent &
  Pick<SpanRow, 'traceId' | 'startTime' | 'durationMs' | 'error' | 'inputTokens' | 'outputTokens' | 'cost' | 'costSource'>;

/**
 * The run a span records. `content` stands in for the span's input and output when they were not
 * kept but the caller still holds them (the run that just finished answers with its output even
 * under a metadata-only rule).
 */
export function runOf(span: RunSpan, trace: Pick<TraceRow, 'sourceTraceId' | 'sourceSpanId'>, content?: { input: unknown; output: unknown }): PlaygroundRunView {
  const messages = spanMessagesOf(content && span.input === null ? { ...span, ...content } : span);
  const meta = (span.meta ?? {}) as Record<string, unknown>;
  return {
    id: span.id,
    traceId: span.traceId,
    providerId: stringOrNull(meta[RUN_META.providerId]),
    model: span.model ?? '',
    label: stringOrNull(meta[RUN_META.label]),
    messages: messages.input,
    parameters: messages.parameters,
    output: messages.output?.at(-1) ?? null,
    inputTokens: span.inputTokens,
    outputTokens: span.outputTokens,
    cost: span.cost,
    costSource: span.costSource,
    latencyMs: span.durationMs,
    timeToFirstTokenMs: typeof meta[RUN_META.timeToFirstTokenMs] === 'number' ? (meta[RUN_META.timeToFirstTokenMs] as number) : null,
    error: span.error,
    sourceTraceId: trace.sourceTraceId,
    sourceSpanId: trace.sourceSpanId,
    createdAt: span.startTime,
  };
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
