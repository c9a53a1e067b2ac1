/**
 * A trace's spans as the tree view keeps them: a map by id that live changes update in place, and the
 * depth-first order (children in start order) the rows are drawn in, computed here so spans arriving
 * in any order (a child before its parent, a read then live changes) always land in the right place.
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

/** A row to draw: the span, its depth, and whether it has children. */
export interface TreeRow {
  span: SpanRow;
  depth: number;
  childCount: number;
}

function byStart(a: SpanRow, b: SpanRow) {
  return a.startTime < b.startTime ? -1 : a.startTime > b.startTime ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The rows in depth-first pre-order, skipping what is under a collapsed span. A span whose parent
 * has not arrived yet is drawn at the top level until it does.
 */
export function treeRows(spans: Map<string, SpanRow>, collapsed: Set<string>): TreeRow[] {
  const children = new Map<string | null, SpanRow[]>();
  for (const span of spans.values()) {
    const parent = span.parentId && spans.has(span.parentId) ? span.parentId : null;
    let list = children.get(parent);
    if (!list) children.set(parent, (list = []));
    list.push(span);
  }
  for (const list of children.values()) list.sort(byStart);
  const rows: TreeRow[] = [];
  // Iterative: a deep chain (thousands of nested spans) must not overflow the stack.
  const stack: { span: SpanRow; depth: number }[] = (children.get(null) ?? []).map((span) => ({ span, depth: 0 })).reverse();
  while (stack.length) {
    const { span, depth } = stack.pop()!;
    const under = children.get(span.id) ?? [];
    rows.push({ span, depth, childCount: under.length });
    if (collapsed.has(span.id)) continue;
    for (let index = under.length - 1; index >= 0; index--) stack.push({ span: under[index]!, depth: depth + 1 });
  }
  return rows;
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

/** The trace as its header sums it, from the spans themselves (so it is live with them). */
export interface TraceSums {
  name: string;
  /** RUNNING while a span runs or the root span has not arrived (as the server rolls it up). */
  status: 'RUNNING' | 'ERROR' | 'OK';
  /** Whether a span without a parent is here: until then the run is not known to be over. */
  hasRoot: boolean;
  startTime: string | null;
  /** The last end; null while a span runs. */
  endMs: number | null;
  spanCount: number;
  errorCount: number;
  totalTokens: number;
  cost: number;
  /** The largest startOffsetMs + duration seen: the timeline's width when every span has ended. */
  extentMs: number;
}

export function traceSums(spans: Map<string, SpanRow>): TraceSums {
  let root: SpanRow | undefined;
  let running = false;
  let errorCount = 0;
  let totalTokens = 0;
  let cost = 0;
  let startTime: string | null = null;
  let endMs = 0;
  let extentMs = 0;
  for (const span of spans.values()) {
    if (!span.parentId && (!root || byStart(span, root) < 0)) root = span;
    if (!span.endTime) running = true;
    else endMs = Math.max(endMs, Date.parse(span.endTime));
    if (span.error) errorCount++;
    totalTokens += span.totalTokens ?? 0;
    cost += span.cost ?? 0;
    if (!startTime || span.startTime < startTime) startTime = span.startTime;
    extentMs = Math.max(extentMs, span.startOffsetMs + (span.durationMs ?? 0));
  }
  const unfinished = running || !root;
  return {
    name: root?.name ?? '',
    status: unfinished ? 'RUNNING' : errorCount ? 'ERROR' : 'OK',
    hasRoot: root !== undefined,
    startTime,
    endMs: unfinished || !spans.size ? null : endMs,
    spanCount: spans.size,
    errorCount,
    totalTokens,
    // Money is exact to 1e-8 USD on the server; rounded so the sum shows no float dust.
    cost: Math.round(cost * 1e8) / 1e8,
    extentMs,
  };
}
