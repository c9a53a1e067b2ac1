import { describe, expect, it } from 'vitest';
import { compositionSteps, preview, traceRollup, traceStatus, traceSummary, type SpanTypeAggregate } from '../../src/traces/trace-rollup.js';

const t = (ms: number) => new Date(Date.UTC(2026, 10, 24, 9) + ms);

function group(partial: Partial<SpanTypeAggregate> & { type: string }): SpanTypeAggregate {
  return { count: 1, endedCount: 1, errorCount: 0, totalTokens: 0, cost: 0, minStartTime: t(0), maxEndTime: t(10), ...partial };
}

describe('traceStatus', () => {
  it('is RUNNING while any span is open, even when one failed', () => {
    expect(traceStatus(1, 0)).toBe('RUNNING');
    expect(traceStatus(2, 3)).toBe('RUNNING');
  });
  it('is ERROR when all ended and one failed, else OK', () => {
    expect(traceStatus(0, 1)).toBe('ERROR');
    expect(traceStatus(0, 0)).toBe('OK');
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

describe('traceRollup', () => {
  it('sums counts, tokens and cost, and takes the earliest start and latest end', () => {
    const rollup = traceRollup(
      [
        group({ type: 'TOOL', count: 3, endedCount: 3, totalTokens: 0, cost: 0.5, minStartTime: t(50), maxEndTime: t(900) }),
        group({ type: 'GENERATION', count: 2, endedCount: 1, totalTokens: 700, cost: 1.25, minStartTime: t(10), maxEndTime: t(400) }),
      ],
      { id: 'root', name: 'agent', input: { q: 1 }, output: null, meta: { a: 1 }, retained: true },
      t(0),
    );
    expect(rollup).toEqual({
      name: 'agent',
      status: 'RUNNING',
      startTime: t(10),
      endTime: t(900),
      durationMs: 890,
      spanCount: 5,
      totalTokens: 700,
      cost: 1.75,
      composition: { GENERATION: 2, TOOL: 3 },
      rootSpanId: 'root',
      inputPreview: '{"q":1}',
      outputPreview: null,
      meta: { a: 1 },
      retained: true,
    });
  });

  it('has no end and no duration until a span ends, and no name until the root arrives', () => {
    const rollup = traceRollup([group({ type: 'TOOL', endedCount: 0, maxEndTime: null })], null, t(0));
    expect(rollup).toMatchObject({ name: '', endTime: null, durationMs: null, status: 'RUNNING', rootSpanId: null, meta: null, retained: false });
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
