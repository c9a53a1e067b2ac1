/**
 * The trace view's rows (src/web/components/trace-rows.ts), without a browser: pages of a snapshot
 * placed by position, folding over spans never read, new spans laid over the snapshot where the
 * server's TREE order puts them, deletions, and where things will be in the next snapshot.
 */
import { describe, expect, it } from 'vitest';
import type { SpanRow } from '../../src/web/components/spans.ts';
import { PAGE_SIZE, TraceRows, type PagedSpan } from '../../src/web/components/trace-rows.ts';

const BASE = Date.parse('2026-11-24T09:00:00.000Z');
const at = (ms: number) => new Date(BASE + ms).toISOString();

function span(id: string, parentId: string | null, startMs: number, seq = 1): SpanRow {
  return { id, seq, parentId, name: id, type: 'FUNCTION', startTime: at(startMs), endTime: at(startMs + 5), durationMs: 5, startOffsetMs: startMs, error: null, model: null, totalTokens: null, cost: null };
}

/** A root, `steps` steps of `calls` calls each, depth-first as the server pages them. */
function snapshot(steps: number, calls: number): PagedSpan[] {
  const spans: PagedSpan[] = [{ ...span('root', null, 0), depth: 0, childCount: steps, descendantCount: steps * (calls + 1) }];
  for (let step = 0; step < steps; step++) {
    spans.push({ ...span(`s${step}`, 'root', step * 1000 + 1), depth: 1, childCount: calls, descendantCount: calls });
    for (let call = 0; call < calls; call++) spans.push({ ...span(`s${step}-c${call}`, `s${step}`, step * 1000 + 2 + call * 8), depth: 2, childCount: 0, descendantCount: 0 });
  }
  return spans;
}

/** Rows over the snapshot with the given pages read. */
function rowsOf(spans: PagedSpan[], pages: number[], asOf = 100): TraceRows {
  const rows = new TraceRows(asOf, spans.length, 'cursor-0');
  for (const page of pages) expect(rows.addPage(page, spans.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE))).toBe(true);
  rows.build();
  return rows;
}

const ids = (rows: TraceRows, from: number, to: number) => Array.from({ length: to - from }, (_, offset) => rows.rowAt(from + offset)?.span.id ?? null);

describe('the rows of a paged snapshot', () => {
  const spans = snapshot(50, 99); // 5,001 spans
  it('draws the rows read and placeholders for the rest, and says which pages a range needs', () => {
    const rows = rowsOf(spans, [0]);
    expect(rows.count).toBe(5001);
    expect(ids(rows, 0, 3)).toEqual(['root', 's0', 's0-c0']);
    expect(rows.rowAt(250)).toBeNull();
    expect(rows.pagesFor(190, 210)).toEqual([0, 1]);
    expect(rows.pagesFor(4990, 5001)).toEqual([24, 25]);
    expect(rows.indexOf('s1')).toBe(101);
    expect(rows.indexOf('s30')).toBe(-1);
    expect(rows.complete).toBe(false);
    // A page short of its place (a span deleted since): refused.
    expect(rows.addPage(1, spans.slice(PAGE_SIZE, 2 * PAGE_SIZE - 1))).toBe(false);
  });

  it('folds a span over positions never read, by its descendant count', () => {
    const rows = rowsOf(spans, [0]);
    rows.toggle('s0');
    rows.build();
    expect(rows.count).toBe(5001 - 99);
    expect(ids(rows, 0, 3)).toEqual(['root', 's0', 's1']);
    expect(rows.positionAt(2)).toBe(101);
    expect(rows.indexOfPosition(101)).toBe(2);
    expect(rows.indexOfPosition(50)).toBe(-1);
    // Folded under the root: one row.
    rows.toggle('root');
    rows.build();
    expect(rows.count).toBe(1);
    rows.toggle('root');
    rows.build();
    expect(rows.count).toBe(5001 - 99);
    // A page read later, under "collapse all", comes folded.
    rows.collapseAll();
    rows.addPage(10, spans.slice(10 * PAGE_SIZE, 11 * PAGE_SIZE));
    rows.build();
    expect(rows.collapsed.has('s20')).toBe(true);
    rows.expandAll();
    rows.build();
    expect(rows.count).toBe(5001);
  });
});

describe('new spans over the snapshot', () => {
  const spans = snapshot(50, 99);
  it('a new child of a span read goes at the end of its subtree, or before the first child read that starts later', () => {
    const rows = rowsOf(spans, [0]);
    rows.addLive(span('late', 'root', 60_000, 101));
    rows.addLive(span('between', 's0', 2 + 10 * 8 + 1, 102));
    rows.addLive(span('under-between', 'between', 2 + 10 * 8 + 2, 103));
    rows.build();
    expect(rows.unplaced).toEqual([]);
    expect(rows.count).toBe(5004);
    // s0's calls are at 2..100: after call 10 (position 12), before call 11.
    expect(ids(rows, 12, 15)).toEqual(['s0-c10', 'between', 'under-between']);
    expect(rows.rowAt(13)!.depth).toBe(2);
    expect(rows.rowAt(14)!.depth).toBe(3);
    expect(rows.indexOf('s0-c11')).toBe(15);
    // The root's subtree ends the snapshot: the late step is the last row, a child of the root.
    expect(rows.indexOf('late')).toBe(5003);
    expect(rows.rowAt(5003)!.depth).toBe(1);
    expect(rows.rowAt(0)!.childCount).toBe(51);
    // Folding the new span hides the one under it; folding s0 hides both.
    rows.toggle('between');
    rows.build();
    expect(rows.count).toBe(5003);
    rows.toggle('between');
    rows.toggle('s0');
    rows.build();
    expect(rows.count).toBe(5004 - 99 - 2);
    expect(rows.indexOf('between')).toBe(-1);
  });

  it('a new span whose parent was never read waits for a new snapshot, unless its parent ends the snapshot', () => {
    const rows = rowsOf(spans, [0]);
    rows.addLive(span('lost', 's30-c5', 31_000, 101));
    rows.addLive(span('at-end', 's49', 60_000, 102));
    rows.build();
    expect(rows.unplaced.sort()).toEqual(['at-end', 'lost']);
    expect(rows.count).toBe(5001);
    rows.setTail('s49-c98', 2, ['root', 's49']);
    rows.build();
    expect(rows.unplaced).toEqual(['lost']);
    expect(rows.indexOf('at-end')).toBe(5001);
    expect(rows.rowAt(5001)!.depth).toBe(2);
    // Its parent's page read: the place is known, and stays known once the page is let go.
    rows.addPage(15, spans.slice(15 * PAGE_SIZE, 16 * PAGE_SIZE));
    rows.dropPage(15);
    rows.build();
    expect(rows.unplaced).toEqual([]);
    const parent = 1 + 30 * 100 + 1 + 5;
    expect(rows.indexOf('lost')).toBe(parent + 1);
    expect(rows.rowAt(parent + 1)!.depth).toBe(3);
  });

  it('a trace read whole places a span whose parent has not arrived as a root', () => {
    const small = snapshot(2, 3);
    const rows = rowsOf(small, [0]);
    expect(rows.complete).toBe(true);
    rows.addLive(span('orphan', 'not-yet', 5_000, 101));
    rows.build();
    expect(rows.unplaced).toEqual([]);
    expect(rows.rowAt(small.length)).toMatchObject({ depth: 0, span: { id: 'orphan' } });
  });

  it('updates rows held in place, and a deleted span of the snapshot leaves with its subtree', () => {
    const rows = rowsOf(spans, [0]);
    expect(rows.update({ ...span('s1', 'root', 1001, 150), name: 'renamed' })).toBe(true);
    expect(rows.update(span('s40', 'root', 40_001, 150))).toBe(false);
    expect(rows.spanById('s1')!.name).toBe('renamed');
    expect(rows.rowAt(101)!.childCount).toBe(99);
    rows.addLive(span('new', 's1', 1001 + 2 + 99 * 8, 151));
    expect(rows.remove('s0')).toBe(false);
    rows.build();
    expect(rows.count).toBe(5001 - 100 + 1);
    expect(ids(rows, 0, 3)).toEqual(['root', 's1', 's1-c0']);
    expect(rows.remove('new')).toBe(true);
    rows.build();
    expect(rows.count).toBe(5001 - 100);
  });
});

describe('from one snapshot to the next', () => {
  it('says where spans and positions will be, and carries what was folded there', () => {
    const spans = snapshot(50, 99);
    const previous = rowsOf(spans, [0, 1]);
    previous.addLive(span('between', 's0', 2 + 10 * 8 + 1, 101));
    previous.addLive(span('late', 'root', 60_000, 102));
    previous.addLive(span('late-call', 'late', 60_001, 103));
    previous.remove('s2');
    previous.toggle('s1');
    previous.toggle('late');
    previous.build();
    expect(previous.nextPosition({ id: 's0-c11' })).toBe(14);
    expect(previous.nextPosition({ id: 's1' })).toBe(102);
    expect(previous.nextPosition({ id: 's3' })).toBe(301 + 1 - 100);
    expect(previous.nextPosition({ id: 'late' })).toBe(5001 + 1 - 100);
    expect(previous.nextPosition({ id: 'late-call' })).toBe(5001 + 2 - 100);

    // The next snapshot: 5,001 + 3 new - 100 deleted spans, its first page read.
    const next = new TraceRows(103, 5001 + 3 - 100, 'cursor-1');
    next.carryOver(previous);
    next.build();
    expect(next.collapsed).toEqual(new Set(['s1', 'late']));
    // s1 folded at 102 (99 calls under it), "late" at 4,902 with its call.
    expect(next.count).toBe(4904 - 99 - 1);
    expect(next.indexOfPosition(103)).toBe(-1);
    expect(next.indexOfPosition(201)).toBe(-1);
    expect(next.indexOfPosition(202)).toBe(103);
    expect(next.indexOfPosition(4903)).toBe(-1);
  });

  it('counts a deleted subtree once, though the server deletes it a span at a time', () => {
    const spans = snapshot(50, 99);
    const previous = rowsOf(spans, [0, 1, 2]);
    // deleteSpan('s0') sends one change for s0 and one for each of its 99 calls; then one call of s3.
    expect(previous.remove('s0')).toBe(false);
    for (let call = 0; call < 99; call++) expect(previous.remove(`s0-c${call}`)).toBe(false);
    expect(previous.remove('s3-c5')).toBe(false);
    previous.build();
    expect(previous.count).toBe(5001 - 101);
    // Where the view reads the next snapshot's pages before drawing it: s5 (position 501) moves up 101.
    expect(previous.nextPosition({ id: 's5' })).toBe(400);
    expect(previous.indexOf('s5')).toBe(400);
    expect(previous.nextPosition({ pos: 600 })).toBe(600 - 101);

    // The root folded holds the rest of the trace in the next snapshot: one row, nothing below it.
    previous.toggle('root');
    previous.build();
    expect(previous.count).toBe(1);
    const next = new TraceRows(300, 5001 - 101, 'cursor-1');
    next.carryOver(previous);
    next.build();
    expect(next.count).toBe(1);
  });
});
