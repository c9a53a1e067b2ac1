import { SPAN_TYPES, SPAN_TYPE_LABELS, type SpanType, type TraceStatus } from '../vocabulary.js';

/** Aggregates of a trace's spans of one type, as one GROUP BY row gives them. */
export interface SpanTypeAggregate {
  type: string;
  count: number;
  /** Spans of this type with an end time. */
  endedCount: number;
  /** Spans of this type with an error. */
  errorCount: number;
  totalTokens: number;
  cost: number;
  minStartTime: Date | null;
  maxEndTime: Date | null;
}

/** The root span's fields that a trace shows as its own. */
export interface RootSpanFields {
  id: string;
  name: string;
  input: unknown;
  output: unknown;
  meta: unknown;
  /** Whether the root span's content was kept (its retention rule). */
  retained: boolean;
}

/** The trace columns derived from its spans; recomputed in the same transaction as every span write. */
export interface TraceRollup {
  name: string;
  status: TraceStatus;
  startTime: Date;
  endTime: Date | null;
  durationMs: number | null;
  spanCount: number;
  totalTokens: number;
  cost: number;
  composition: Record<string, number>;
  rootSpanId: string | null;
  inputPreview: string | null;
  outputPreview: string | null;
  meta: unknown;
  retained: boolean;
}

/** How many characters of the root's input and output a trace explorer row previews. */
export const PREVIEW_LENGTH = 200;

/**
 * Folds per-type aggregates into a trace's rollup. Pure, so the rules (status precedence, what the
 * root contributes) are tested without a database.
 */
export function traceRollup(
  groups: SpanTypeAggregate[],
  root: RootSpanFields | null,
  fallbackStart: Date,
): TraceRollup {
  let spanCount = 0;
  let ended = 0;
  let errors = 0;
  let totalTokens = 0;
  let cost = 0;
  let startTime: Date | null = null;
  let endTime: Date | null = null;
  const composition: Record<string, number> = {};
  for (const group of groups) {
    spanCount += group.count;
    ended += group.endedCount;
    errors += group.errorCount;
    totalTokens += group.totalTokens;
    cost += group.cost;
    if (group.minStartTime && (!startTime || group.minStartTime < startTime)) startTime = group.minStartTime;
    if (group.maxEndTime && (!endTime || group.maxEndTime > endTime)) endTime = group.maxEndTime;
    if (group.count > 0) composition[group.type] = group.count;
  }
  const start = startTime ?? fallbackStart;
  return {
    name: root?.name ?? '',
    status: traceStatus(spanCount - ended, errors),
    startTime: start,
    endTime,
    durationMs: endTime ? endTime.getTime() - start.getTime() : null,
    spanCount,
    totalTokens,
    cost,
    composition,
    rootSpanId: root?.id ?? null,
    inputPreview: preview(root?.input),
    outputPreview: preview(root?.output),
    meta: root?.meta ?? null,
    retained: root?.retained ?? false,
  };
}

/** RUNNING wins over ERROR: a trace with an open span is still running, failed steps or not. */
export function traceStatus(openSpans: number, erroredSpans: number): TraceStatus {
  if (openSpans > 0) return 'RUNNING';
  if (erroredSpans > 0) return 'ERROR';
  return 'OK';
}

/** "28 steps · 8 llm · 11 tool": the step count, then each type present, in vocabulary order. */
export function traceSummary(spanCount: number, composition: Record<string, number>): string {
  const steps = compositionSteps(composition).map(({ type, count }) => `${count} ${SPAN_TYPE_LABELS[type as SpanType] ?? type.toLowerCase()}`);
  return [`${spanCount} ${spanCount === 1 ? 'step' : 'steps'}`, ...steps].join(' · ');
}

/** Text of a JSON value cut to PREVIEW_LENGTH characters; strings show without quotes. */
export function preview(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  if (text.length <= PREVIEW_LENGTH) return text;
  // Never cut between the two halves of a surrogate pair (an emoji): half a character cannot be stored.
  const cut = /[\uD800-\uDBFF]/.test(text[PREVIEW_LENGTH - 2]!) ? PREVIEW_LENGTH - 2 : PREVIEW_LENGTH - 1;
  return `${text.slice(0, cut)}…`;
}

/**
 * The composition as a list in vocabulary order (llm first), unknown types last by name. Stored
 * JSON objects do not keep key order (PostgreSQL's jsonb sorts them), so order is decided here.
 */
export function compositionSteps(composition: Record<string, number>): { type: string; count: number }[] {
  const order = (type: string) => {
    const index = SPAN_TYPES.indexOf(type as SpanType);
    return index === -1 ? SPAN_TYPES.length : index;
  };
  return Object.entries(composition)
    .filter(([, count]) => count > 0)
    .sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b))
    .map(([type, count]) => ({ type, count }));
}
