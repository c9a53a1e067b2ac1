import { describe, expect, it } from 'vitest';
import {
  applyGeneration,
  applyRootCandidate,
  applySpan,
  compositionSteps,
  emptyRollup,
  preview,
  rootFieldsOf,
  traceColumns,
  traceStatus,
  traceSummary,
  type SpanContribution,
} from '../../src/traces/trace-rollup.js';

const t = (ms: number) => new Date(Date.UTC(2026, 10, 24, 9) + ms);


describe('traceStatus', () => {
  it('is RUNNING while any span is open, even when one failed', () => {
    expect(traceStatus(1, 0, true)).toBe('RUNNING');
    expect(traceStatus(2, 3, true)).toBe('RUNNING');
  });
  it('is RUNNING while the root span has not arrived, however many steps ended (or failed) before it', () => {
    expect(traceStatus(0, 0, false)).toBe('RUNNING');
    expect(traceStatus(0, 2, false)).toBe('RUNNING');
  });
  it('is ERROR when all ended and one failed, else OK', () => {
    expect(traceStatus(0, 1, true)).toBe('ERROR');
    expect(traceStatus(0, 0, true)).toBe('OK');
  });
});

describe('applyGeneration: previews of a trace whose root has no input', () => {
  const generation = (id: string, startMs: number, question: string | null, answer: string | null, overrides: Record<string, unknown> = {}) => ({
    id,
    type: 'GENERATION',
    startTime: t(startMs),
    retained: true,
    input: question === null ? null : [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'earlier' }, { role: 'user', content: question }],
    output: answer === null ? null : [{ role: 'assistant', content: answer }],
    ...overrides,
  });
  const none = { generationInput: null, generationOutput: null };

  it('takes the question from the first generation and the answer from the last, whatever order they arrive in', () => {
    const late = applyGeneration(none, generation('g2', 2000, 'second question', 'final answer'));
    const both = applyGeneration(late, generation('g1', 1000, 'first question', 'a tool call'));
    expect(both.generationInput).toEqual({ spanId: 'g1', startTime: t(1000), text: 'first question' });
    expect(both.generationOutput).toEqual({ spanId: 'g2', startTime: t(2000), text: 'final answer' });
    // A generation in between changes neither.
    expect(applyGeneration(both, generation('g3', 1500, 'middle', 'middle answer'))).toEqual(both);
  });

  it('ignores spans that are not generations, and generations whose content was not kept', () => {
    expect(applyGeneration(none, generation('t1', 0, 'q', 'a', { type: 'TOOL' }))).toEqual(none);
    expect(applyGeneration(none, generation('g1', 0, null, null, { retained: false }))).toEqual(none);
  });

  it('follows an update of the span it came from: its answer arriving, or its content cleared', () => {
    const open = applyGeneration(none, generation('g1', 0, 'question', null));
    expect(open.generationOutput).toBeNull();
    const ended = applyGeneration(open, generation('g1', 0, 'question', 'answer'));
    expect(ended.generationOutput?.text).toBe('answer');
    const erased = applyGeneration(ended, generation('g1', 0, null, null, { retained: false }));
    expect(erased).toEqual(none);
  });
});

describe('traceSummary', () => {
  it('writes steps then each type in vocabulary order, llm for GENERATION', () => {
    expect(traceSummary(28, { TOOL: 11, GENERATION: 8, FUNCTION: 9 })).toBe('28 steps · 8 llm · 9 function · 11 tool');
  });
  it('says "1 step" and leaves out absent types', () => {
    expect(traceSummary(1, { CALL: 1, TOOL: 0 })).toBe('1 step · 1 call');
  });
});

const span = (partial: Partial<SpanContribution> = {}): SpanContribution => ({
  type: 'TOOL',
  open: false,
  errored: false,
  totalTokens: 0,
  cost: 0,
  tags: [],
  startTime: t(0),
  endTime: t(10),
  ...partial,
});

describe('applySpan and traceColumns', () => {
  it('add counts, tokens, cost and tags, and take the earliest start and latest end', () => {
    let state = emptyRollup(t(0));
    for (const contribution of [
      span({ type: 'TOOL', cost: 0.5, startTime: t(50), endTime: t(900), tags: ['a'] }),
      span({ type: 'GENERATION', totalTokens: 700, cost: 1.25, startTime: t(10), endTime: t(400), tags: ['a', 'b'] }),
      span({ type: 'GENERATION', open: true, errored: true, startTime: t(20), endTime: null }),
    ]) {
      state = applySpan(state, null, contribution).state;
    }
    const root = rootFieldsOf({ id: 'root', name: 'agent', input: { q: 1 }, output: null, meta: { a: 1 }, retained: true, startTime: t(10) });
    state = { ...state, root: applyRootCandidate(state.root, root).root };
    expect(traceColumns(state)).toEqual({
      name: 'agent',
      status: 'RUNNING',
      startTime: t(10),
      endTime: t(900),
      // A span is still open: RUNNING, so no duration yet.
      durationMs: null,
      spanCount: 3,
      openCount: 1,
      errorCount: 1,
      totalTokens: 700,
      cost: 1.75,
      composition: { GENERATION: 2, TOOL: 1 },
      tags: ['a', 'b'],
      tagCounts: { a: 2, b: 1 },
      rootSpanId: 'root',
      inputPreview: '{"q":1}',
      outputPreview: null,
      meta: { a: 1 },
      retained: true,
      generationInputPreview: null,
      generationInputSpanId: null,
      generationInputStart: null,
      generationOutputPreview: null,
      generationOutputSpanId: null,
      generationOutputStart: null,
    });
  });

  it('take back what a span contributed before when it changes', () => {
    const before = span({ type: 'TOOL', open: true, errored: true, totalTokens: 5, cost: 1, tags: ['x', 'y'], startTime: t(5), endTime: null });
    let state = applySpan(emptyRollup(t(0)), null, before).state;
    state = applySpan(state, null, span({ type: 'CALL', startTime: t(7), endTime: t(8) })).state;
    const after = span({ type: 'GENERATION', open: false, errored: false, totalTokens: 7, cost: 3, tags: ['y', 'z'], startTime: t(5), endTime: t(50) });
    const { state: changed, recompute } = applySpan(state, before, after);
    const root = rootFieldsOf({ id: 'root', name: 'agent', input: null, output: null, meta: null, retained: false, startTime: t(5) });
    const next = { ...changed, root: applyRootCandidate(changed.root, root).root };
    expect(traceColumns(next)).toMatchObject({
      status: 'OK',
      spanCount: 2,
      openCount: 0,
      errorCount: 0,
      totalTokens: 7,
      cost: 3,
      composition: { GENERATION: 1, CALL: 1 },
      tags: ['y', 'z'],
      tagCounts: { y: 1, z: 1 },
      startTime: t(5),
      endTime: t(50),
    });
    expect(recompute).toEqual({ startTime: false, endTime: false, root: false });
  });

  it('say when a bound the changed span held must be asked of the database', () => {
    let state = applySpan(emptyRollup(t(0)), null, span({ startTime: t(0), endTime: t(100) })).state;
    state = applySpan(state, null, span({ startTime: t(10), endTime: t(50) })).state;
    expect(applySpan(state, span({ startTime: t(0), endTime: t(100) }), span({ startTime: t(20), endTime: t(100) })).recompute.startTime).toBe(true);
    expect(applySpan(state, span({ startTime: t(0), endTime: t(100) }), span({ startTime: t(0), endTime: t(60) })).recompute.endTime).toBe(true);
    expect(applySpan(state, span({ startTime: t(0), endTime: t(100) }), span({ startTime: t(0), endTime: null, open: true })).recompute.endTime).toBe(true);
    // Moving a bound outwards, or a span that did not hold it, needs nothing.
    expect(applySpan(state, span({ startTime: t(10), endTime: t(50) }), span({ startTime: t(-5), endTime: t(200) })).recompute).toEqual({ startTime: false, endTime: false, root: false });
  });

  it('pick the root by earliest start, then id, and flag a root that moved later', () => {
    const fields = (id: string, start: number) => rootFieldsOf({ id, name: id, input: null, output: null, meta: null, retained: false, startTime: t(start) });
    expect(applyRootCandidate(null, fields('b', 5)).root.id).toBe('b');
    expect(applyRootCandidate(fields('b', 5), fields('a', 5)).root.id).toBe('a');
    expect(applyRootCandidate(fields('a', 5), fields('c', 1)).root.id).toBe('c');
    expect(applyRootCandidate(fields('a', 5), fields('d', 9)).root.id).toBe('a');
    expect(applyRootCandidate(fields('a', 5), fields('a', 9))).toMatchObject({ root: { id: 'a' }, recompute: true });
  });

  it('has no end and no duration until a span ends, and no name until the root arrives', () => {
    const state = applySpan(emptyRollup(t(0)), null, span({ open: true, endTime: null })).state;
    expect(traceColumns(state)).toMatchObject({ name: '', endTime: null, durationMs: null, status: 'RUNNING', rootSpanId: null, meta: null, retained: false });
  });
});

describe('preview', () => {
  it('never cuts an emoji in half, which could not be stored', () => {
    for (const lead of [197, 198, 199]) {
      const text = `${'x'.repeat(lead)}${'😀'.repeat(100)}`;
      const cut = preview(text)!;
      expect(cut.isWellFormed(), `lead ${lead}`).toBe(true);
      expect(cut.endsWith('…')).toBe(true);
      expect(cut.length).toBeLessThanOrEqual(200);
      expect(text.startsWith(cut.slice(0, -1))).toBe(true);
    }
  });

  it('shows strings as they are and other JSON as text, cut to 200 characters', () => {
    expect(preview('hello')).toBe('hello');
    expect(preview({ a: [1, 2] })).toBe('{"a":[1,2]}');
    expect(preview(null)).toBeNull();
    const long = preview('y'.repeat(1000))!;
    expect(long).toHaveLength(200);
    expect(long.endsWith('…')).toBe(true);
  });
});

describe('compositionSteps', () => {
  it('lists types in vocabulary order whatever the stored key order, without empty ones', () => {
    expect(compositionSteps({ TOOL: 11, FUNCTION: 2, GENERATION: 8, CALL: 0 })).toEqual([
      { type: 'GENERATION', count: 8 },
      { type: 'FUNCTION', count: 2 },
      { type: 'TOOL', count: 11 },
    ]);
  });
});
