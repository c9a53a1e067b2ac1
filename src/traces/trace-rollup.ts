/**
 * A trace's rollups, kept by deltas: each span write adds what the span contributes now and takes
 * away what it contributed before, so the cost of a write does not depend on the size of its trace.
 * Pure: the rules (status precedence, what the root contributes, when a delta is not enough) are
 * tested without a database, and against a full recomputation in test/rollup-deltas.test.ts.
 */
import { headlineOf } from '../conversations/conversation.js';
import { addCosts } from '../costs/money.js';
import { SPAN_TYPES, SPAN_TYPE_LABELS, type SpanType, type TraceStatus } from '../vocabulary.js';

/** What one span adds to its trace's rollups. */
export interface SpanContribution {
  type: string;
  open: boolean;
  errored: boolean;
  totalTokens: number;
  cost: number;
  tags: readonly string[];
  startTime: Date;
  endTime: Date | null;
}

/**
 * The root span as its trace shows it (name, meta, previews), and what decides which span is the
 * root. Previews are taken when the root is written, so its content is never read again.
 */
export interface RootSpanFields {
  id: string;
  name: string;
  meta: unknown;
  /** Whether the root span's content was kept (its retention rule). */
  retained: boolean;
  inputPreview: string | null;
  outputPreview: string | null;
  startTime: Date;
}

/** The root fields of a span as it is written now. */
export function rootFieldsOf(span: {
  id: string;
  name: string;
  input: unknown;
  output: unknown;
  meta: unknown;
  retained: boolean;
  startTime: Date;
}): RootSpanFields {
  return {
    id: span.id,
    name: span.name,
    meta: span.meta ?? null,
    retained: span.retained,
    // A chat shows as its question and its answer, not as the JSON of a system prompt cut short.
    inputPreview: preview(headlineOf(span.input, 'input') ?? span.input),
    outputPreview: preview(headlineOf(span.output, 'output') ?? span.output),
    startTime: span.startTime,
  };
}

/**
 * A generation whose text previews its trace when the root span has none (an agent run, whose root
 * carries no input of its own): the span, where it starts, and the text.
 */
export interface GenerationPreview {
  spanId: string;
  startTime: Date;
  text: string;
}

/** What a span offers as a generation preview: only a GENERATION whose content was kept. */
export interface GenerationFields {
  id: string;
  type: string;
  input: unknown;
  output: unknown;
  retained: boolean;
  startTime: Date;
}

/** The stored state a trace's rollups are kept in. */
export interface RollupState {
  startTime: Date;
  endTime: Date | null;
  spanCount: number;
  openCount: number;
  errorCount: number;
  totalTokens: number;
  cost: number;
  composition: Record<string, number>;
  tagCounts: Record<string, number>;
  root: RootSpanFields | null;
  /** The first generation's last user message (whose content was kept). */
  generationInput: GenerationPreview | null;
  /** The last generation's answer (whose content was kept). */
  generationOutput: GenerationPreview | null;
}

/** What a delta cannot know and the database must be asked: a bound that the changed span held. */
export interface Recompute {
  /** The earliest start moved later: the next earliest is unknown. */
  startTime: boolean;
  /** The latest end moved earlier (or the span reopened): the next latest is unknown. */
  endTime: boolean;
  /** The root span moved later: another root candidate may now come first. */
  root: boolean;
}

export function contributionOf(span: {
  type: string;
  endTime: Date | null;
  error: string | null;
  totalTokens: number | null;
  cost: number | null;
  /** A stored span's JSON array of tags. */
  tags: unknown;
  startTime: Date;
}): SpanContribution {
  return {
    type: span.type,
    open: span.endTime === null,
    errored: span.error !== null,
    totalTokens: span.totalTokens ?? 0,
    cost: span.cost ?? 0,
    tags: (span.tags ?? []) as readonly string[],
    startTime: span.startTime,
    endTime: span.endTime,
  };
}

export function emptyRollup(startTime: Date): RollupState {
  return {
    startTime,
    endTime: null,
    spanCount: 0,
    openCount: 0,
    errorCount: 0,
    totalTokens: 0,
    cost: 0,
    composition: {},
    tagCounts: {},
    root: null,
    generationInput: null,
    generationOutput: null,
  };
}

function adjust(counts: Record<string, number>, key: string, by: number): Record<string, number> {
  const next = { ...counts, [key]: (counts[key] ?? 0) + by };
  if (next[key]! <= 0) delete next[key];
  return next;
}

/**
 * The state after a span is created (`before` null) or changed from `before` to `after`. Bounds the
 * delta cannot settle are flagged in `recompute`; the caller asks the database for them.
 */
export function applySpan(state: RollupState, before: SpanContribution | null, after: SpanContribution): { state: RollupState; recompute: Recompute } {
  let { composition, tagCounts } = state;
  if (before) {
    composition = adjust(composition, before.type, -1);
    for (const tag of before.tags) tagCounts = adjust(tagCounts, tag, -1);
  }
  composition = adjust(composition, after.type, 1);
  for (const tag of after.tags) tagCounts = adjust(tagCounts, tag, 1);
  const first = state.spanCount === 0 && !before;
  const startTime = first || after.startTime < state.startTime ? after.startTime : state.startTime;
  let endTime = state.endTime;
  if (after.endTime && (!endTime || after.endTime > endTime)) endTime = after.endTime;
  const recompute: Recompute = {
    startTime: !!before && before.startTime.getTime() === state.startTime.getTime() && after.startTime > before.startTime,
    endTime:
      !!before &&
      before.endTime !== null &&
      state.endTime !== null &&
      before.endTime.getTime() === state.endTime.getTime() &&
      (after.endTime === null || after.endTime < before.endTime),
    root: false,
  };
  return {
    state: {
      ...state,
      startTime,
      endTime,
      spanCount: state.spanCount + (before ? 0 : 1),
      openCount: state.openCount + Number(after.open) - Number(before?.open ?? false),
      errorCount: state.errorCount + Number(after.errored) - Number(before?.errored ?? false),
      totalTokens: state.totalTokens + after.totalTokens - (before?.totalTokens ?? 0),
      // Summed in whole units of 1e-8 USD: float sums would drift (0.009621139999999999).
      cost: addCosts(state.cost, after.cost, -(before?.cost ?? 0)),
      composition,
      tagCounts,
    },
    recompute,
  };
}

/** Root candidates (spans without a parent) in the order that picks the root: earliest start, then id. */
function comesFirst(a: { startTime: Date; id: string }, b: { startTime: Date; id: string }): boolean {
  return a.startTime < b.startTime || (a.startTime.getTime() === b.startTime.getTime() && a.id < b.id);
}

/**
 * The root after a root candidate (a span without a parent) is written. When the current root itself
 * moved later, another candidate may come first: `recompute` says the database must be asked.
 */
export function applyRootCandidate(root: RootSpanFields | null, candidate: RootSpanFields): { root: RootSpanFields; recompute: boolean } {
  if (root && root.id === candidate.id) return { root: candidate, recompute: candidate.startTime > root.startTime };
  if (!root || comesFirst(candidate, root)) return { root: candidate, recompute: false };
  return { root, recompute: false };
}

/**
 * The generation previews after a span is written. The first generation (earliest start, then id)
 * previews the question, the last one the answer; a later write of the same span replaces what it
 * gave. Incremental like the rest: a span that stops offering a preview leaves none rather than
 * having the trace's other generations read again.
 */
export function applyGeneration(
  state: Pick<RollupState, 'generationInput' | 'generationOutput'>,
  span: GenerationFields,
): Pick<RollupState, 'generationInput' | 'generationOutput'> {
  const question = generationPreviewText(span, 'input');
  const answer = generationPreviewText(span, 'output');
  return {
    generationInput: nextPreview(state.generationInput, span, question, (candidate, held) => comesFirst(candidate, held)),
    generationOutput: nextPreview(state.generationOutput, span, answer, (candidate, held) => comesFirst(held, candidate)),
  };
}

/**
 * The preview a span offers its trace as a generation: from its input, the last user message (the
 * question); from its output, the answer. Null unless it is a GENERATION whose content was kept and
 * that side holds such a message.
 */
export function generationPreviewText(
  span: Pick<GenerationFields, 'type' | 'retained'> & Partial<Pick<GenerationFields, 'input' | 'output'>>,
  side: 'input' | 'output',
): string | null {
  if (span.type !== 'GENERATION' || !span.retained) return null;
  return preview(headlineOf(side === 'input' ? span.input : span.output, side));
}

function nextPreview(
  held: GenerationPreview | null,
  span: GenerationFields,
  text: string | null,
  wins: (candidate: { startTime: Date; id: string }, held: { startTime: Date; id: string }) => boolean,
): GenerationPreview | null {
  if (held && held.spanId === span.id) return text ? { spanId: span.id, startTime: span.startTime, text } : null;
  if (!text) return held;
  if (!held || wins({ startTime: span.startTime, id: span.id }, { startTime: held.startTime, id: held.spanId })) {
    return { spanId: span.id, startTime: span.startTime, text };
  }
  return held;
}

/**
 * What the spans of a trace that share a type and a set of tags add up to: one row of an aggregate
 * over the trace's spans (see rollupOfGroups).
 */
export interface SpanGroupTotals {
  type: string;
  tags: readonly string[];
  spanCount: number;
  openCount: number;
  errorCount: number;
  totalTokens: number;
  cost: number;
  startTime: Date;
  endTime: Date | null;
}

/**
 * The rollups of a trace recomputed from what its spans add up to, for when spans leave it
 * (deleteSpan): a delta would carry forward whatever the stored rollups hold, a recomputation is
 * exact by construction, and grouped by type and tags it costs one aggregate statement however many
 * spans are left. The root and the generation previews are the caller's (`kept`): which span holds
 * them is not a sum. Null when no span is left.
 */
export function rollupOfGroups(
  groups: readonly SpanGroupTotals[],
  kept: Pick<RollupState, 'root' | 'generationInput' | 'generationOutput'>,
): RollupState | null {
  const [first] = groups;
  if (!first) return null;
  let state: RollupState = { ...emptyRollup(first.startTime), ...kept };
  for (const group of groups) {
    let { composition, tagCounts } = state;
    composition = adjust(composition, group.type, group.spanCount);
    for (const tag of group.tags) tagCounts = adjust(tagCounts, tag, group.spanCount);
    state = {
      ...state,
      startTime: group.startTime < state.startTime ? group.startTime : state.startTime,
      endTime: group.endTime && (!state.endTime || group.endTime > state.endTime) ? group.endTime : state.endTime,
      spanCount: state.spanCount + group.spanCount,
      openCount: state.openCount + group.openCount,
      errorCount: state.errorCount + group.errorCount,
      totalTokens: state.totalTokens + group.totalTokens,
      composition,
      tagCounts,
    };
  }
  // Each group's sum (summed without drift by the database: see spanGroups) is rounded to whole units
  // of 1e-8 USD and the units added, as the deltas add them.
  return { ...state, cost: addCosts(...groups.map((group) => group.cost)) };
}

/** The trace columns that follow from a rollup state: its counts and bounds, and what they decide. */
export interface TraceColumns extends Omit<RollupState, 'root' | 'generationInput' | 'generationOutput'> {
  name: string;
  status: TraceStatus;
  durationMs: number | null;
  tags: string[];
  rootSpanId: string | null;
  inputPreview: string | null;
  outputPreview: string | null;
  meta: unknown;
  retained: boolean;
  generationInputPreview: string | null;
  generationInputSpanId: string | null;
  generationInputStart: Date | null;
  generationOutputPreview: string | null;
  generationOutputSpanId: string | null;
  generationOutputStart: Date | null;
}

export function traceColumns(state: RollupState): TraceColumns {
  const { root, generationInput, generationOutput } = state;
  const status = traceStatus(state.openCount, state.errorCount, root !== null);
  return {
    name: root?.name ?? '',
    status,
    startTime: state.startTime,
    endTime: state.endTime,
    // Null exactly while the trace is RUNNING: a root that ended with spans still open (or spans that
    // ended under an open root, or before the root arrived) is not a duration yet, and must not sort
    // among the finished ones.
    durationMs: status !== 'RUNNING' && state.endTime ? state.endTime.getTime() - state.startTime.getTime() : null,
    spanCount: state.spanCount,
    openCount: state.openCount,
    errorCount: state.errorCount,
    totalTokens: state.totalTokens,
    cost: state.cost,
    composition: state.composition,
    tags: Object.keys(state.tagCounts).sort(),
    tagCounts: state.tagCounts,
    rootSpanId: root?.id ?? null,
    inputPreview: root?.inputPreview ?? null,
    outputPreview: root?.outputPreview ?? null,
    meta: root?.meta ?? null,
    retained: root?.retained ?? false,
    generationInputPreview: generationInput?.text ?? null,
    generationInputSpanId: generationInput?.spanId ?? null,
    generationInputStart: generationInput?.startTime ?? null,
    generationOutputPreview: generationOutput?.text ?? null,
    generationOutputSpanId: generationOutput?.spanId ?? null,
    generationOutputStart: generationOutput?.startTime ?? null,
  };
}

/** How many characters of the root's input and output a trace explorer row previews. */
export const PREVIEW_LENGTH = 200;

/**
 * RUNNING wins over ERROR: a trace with an open span is still running, failed steps or not. So is a
 * trace whose root span has not arrived: exporters without pending spans send the steps as they end
 * and the root last, and until it comes nothing says the run is over.
 */
export function traceStatus(openSpans: number, erroredSpans: number, hasRoot: boolean): TraceStatus {
  if (openSpans > 0 || !hasRoot) return 'RUNNING';
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
