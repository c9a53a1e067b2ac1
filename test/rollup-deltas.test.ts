/**
 * Property test: rollups kept by deltas equal a full recomputation from the trace's spans, after
 * random sequences of creates and updates (children before parents, several roots, errors set and
 * cleared, spans reopened, times moved both ways, tags and types changed, tokens and cost changed).
 * Seeded, so a failure replays; SPANTREE_ROLLUP_SEED picks another sequence.
 */
import { describe, expect, it } from 'vitest';
import { useTestServer } from './helpers/server.js';
import { CREATE_SPANS, UPDATE_SPAN } from './helpers/operations.js';
import { random } from './helpers/random.js';

const server = useTestServer();
const SEED = Number(process.env.SPANTREE_ROLLUP_SEED ?? 20261125);


const BASE = Date.parse('2026-11-24T09:00:00.000Z');
const TYPES = ['GENERATION', 'TOOL', 'FUNCTION', 'AGENT'];
const TAGS = ['a', 'b', 'c', 'd'];

const SPAN = `id parentId name type startTime endTime error tags totalTokens cost input output meta retained`;
const TRACE = `name status startTime endTime durationMs spanCount totalTokens cost composition { type count } summary tags meta inputPreview outputPreview retained spans { ${SPAN} }`;

/** The rollups of a trace as a full recomputation from its spans gives them. */
function recomputed(spans: any[]) {
  const start = Math.min(...spans.map((span) => Date.parse(span.startTime)));
  const ends = spans.filter((span) => span.endTime).map((span) => Date.parse(span.endTime));
  const end = ends.length ? Math.max(...ends) : null;
  const roots = spans.filter((span) => span.parentId === null).sort((a, b) => Date.parse(a.startTime) - Date.parse(b.startTime) || (a.id < b.id ? -1 : 1));
  const root = roots[0];
  const composition = new Map<string, number>();
  for (const span of spans) composition.set(span.type, (composition.get(span.type) ?? 0) + 1);
  const preview = (value: unknown) => (value === null ? null : typeof value === 'string' ? value : JSON.stringify(value));
  // Running while any span is open, or while no root has arrived.
  const running = spans.some((span) => !span.endTime) || !root;
  return {
    name: root?.name ?? '',
    status: running ? 'RUNNING' : spans.some((span) => span.error) ? 'ERROR' : 'OK',
    startTime: new Date(start).toISOString(),
    endTime: end === null ? null : new Date(end).toISOString(),
    // No duration while running, whatever has ended so far.
    durationMs: end === null || running ? null : end - start,
    spanCount: spans.length,
    totalTokens: spans.reduce((sum, span) => sum + (span.totalTokens ?? 0), 0),
    composition: [...composition].map(([type, count]) => ({ type, count })).sort((a, b) => a.type.localeCompare(b.type)),
    tags: [...new Set(spans.flatMap((span) => span.tags))].sort(),
    meta: root?.meta ?? null,
    inputPreview: root ? preview(root.input) : null,
    outputPreview: root ? preview(root.output) : null,
    retained: root?.retained ?? false,
  };
}

describe('incremental rollups', () => {
  it(`equal a full recomputation after random creates and updates (seed ${SEED})`, async () => {
    const { gql } = server();
    const next = random(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const time = (ms: number) => new Date(BASE + ms).toISOString();
    let checked = 0;
    for (let round = 0; round < 12; round++) {
      const traceId = `rollup-${SEED}-${round}`;
      const spans: { id: string; parentId: string | null; start: number }[] = [];
      // Created in random batches, children often before their parents (named by traceId).
      const planned = Array.from({ length: 6 + Math.floor(next() * 20) }, (_, index) => {
        const id = `${traceId}-s${index}`;
        const parent = index === 0 || next() < 0.1 ? null : `${traceId}-s${Math.floor(next() * index)}`;
        const start = Math.floor(next() * 5000);
        const open = next() < 0.3;
        return {
          id,
          traceId,
          parentId: parent,
          name: `n${index}`,
          type: pick(TYPES),
          startTime: time(start),
          endTime: open ? null : time(start + Math.floor(next() * 3000)),
          error: next() < 0.2 ? 'failed' : null,
          tags: TAGS.filter(() => next() < 0.4),
          inputTokens: Math.floor(next() * 100),
          outputTokens: Math.floor(next() * 100),
          cost: Math.round(next() * 1000) / 10_000,
          input: next() < 0.5 ? { q: index } : `text ${index}`,
          output: next() < 0.5 ? null : `out ${index}`,
          meta: { round, index },
        };
      });
      for (let i = planned.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [planned[i], planned[j]] = [planned[j]!, planned[i]!];
      }
      while (planned.length) {
        const chunk = planned.splice(0, 1 + Math.floor(next() * 5));
        await gql(CREATE_SPANS, { input: chunk });
        spans.push(...chunk.map((span) => ({ id: span.id, parentId: span.parentId, start: Date.parse(span.startTime) - BASE })));
      }
      // Then random updates, each followed by a comparison.
      for (let update = 0; update < 10; update++) {
        const span = pick(spans);
        const changes: Record<string, unknown> = {};
        const roll = next();
        if (roll < 0.2) {
          span.start = Math.floor(next() * 6000);
          changes.startTime = time(span.start);
          changes.endTime = next() < 0.5 ? null : time(span.start + Math.floor(next() * 3000));
        } else if (roll < 0.35) changes.endTime = next() < 0.3 ? null : time(span.start + Math.floor(next() * 4000));
        else if (roll < 0.5) changes.error = next() < 0.5 ? null : 'broke';
        else if (roll < 0.6) changes.tags = TAGS.filter(() => next() < 0.5);
        else if (roll < 0.7) changes.type = pick(TYPES);
        else if (roll < 0.8) Object.assign(changes, { inputTokens: Math.floor(next() * 50), cost: Math.round(next() * 1000) / 10_000 });
        else if (roll < 0.9) Object.assign(changes, { name: `renamed-${update}`, meta: { update }, output: `new ${update}` });
        else changes.totalTokens = Math.floor(next() * 500);
        await gql(UPDATE_SPAN, { id: span.id, input: changes });
        const { trace } = await gql(`query($id: ID!) { trace(id: $id) { ${TRACE} } }`, { id: traceId });
        const { spans: stored, cost, summary: _summary, ...rollups } = trace;
        const expected = recomputed(stored);
        const label = `round ${round}, update ${update}: ${JSON.stringify(changes)}`;
        expect({ ...rollups, composition: [...rollups.composition].sort((a: any, b: any) => a.type.localeCompare(b.type)) }, label).toEqual(expected);
        // Summed in another order, costs may differ in the last bits of a double, never more.
        const expectedCost = stored.reduce((sum: number, one: any) => sum + (one.cost ?? 0), 0);
        expect(Math.abs(cost - expectedCost), label).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expectedCost)));
        checked++;
      }
    }
    expect(checked).toBe(120);
  });
});
