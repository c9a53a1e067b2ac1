/**
 * A span as the tree view draws it, the fields it reads for one (pages and live changes select the
 * same), and the order siblings are drawn in. How the rows of a trace of any size are worked out from
 * pages and live changes is trace-rows.ts.
 */

/** A span as a tree row needs it. */
export interface SpanRow {
  id: string;
  /** The number of the span's last change in its trace: where a live view resumes. */
  seq: number;
  parentId: string | null;
  name: string;
  type: string;
  startTime: string;
  endTime: string | null;
  durationMs: number | null;
  startOffsetMs: number;
  error: string | null;
  model: string | null;
  totalTokens: number | null;
  cost: number | null;
}

export const SPAN_ROW_FIELDS = 'id seq parentId name type startTime endTime durationMs startOffsetMs error model totalTokens cost';

/** A row to draw: the span, its depth, and how many children it has (folded or not). */
export interface TreeRow {
  span: SpanRow;
  depth: number;
  childCount: number;
}

/** Siblings' order, as the server's TREE order has it: by start time, then id. */
export function byStart(a: SpanRow, b: SpanRow) {
  return a.startTime < b.startTime ? -1 : a.startTime > b.startTime ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The spans still in `spans` that are under one of `roots` (ids no longer in the map), at any depth:
 * one pass, each span's ancestry walked once.
 */
export function subtreesOf(spans: Map<string, SpanRow>, roots: Set<string>): string[] {
  const under = new Map<string, boolean>();
  const isUnder = (start: SpanRow): boolean => {
    // Iterative, remembering every span on the way: a deep chain costs its length once.
    const path = new Set<string>();
    let answer = false;
    for (let span: SpanRow | undefined = start; span; ) {
      const known = under.get(span.id);
      if (known !== undefined) {
        answer = known;
        break;
      }
      path.add(span.id);
      const parent = span.parentId;
      if (parent === null || path.has(parent)) break;
      if (roots.has(parent)) {
        answer = true;
        break;
      }
      span = spans.get(parent);
    }
    for (const id of path) under.set(id, answer);
    return answer;
  };
  return [...spans.values()].filter(isUnder).map((span) => span.id);
}
