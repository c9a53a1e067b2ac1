/**
 * A trace's span tree as the API shows it: where each span sits (depth, ancestors, children), what
 * its subtree adds up to, and the depth-first order a client draws the whole tree from one flat list
 * in (`Trace.spans(order: TREE)`).
 *
 * Worked out in memory from one read of the trace's skeleton (ids, parents, tokens, cost, whether a
 * span failed), once per trace per execution however many spans and fields ask: a 5,000-span tree
 * costs one statement, not one per span or per level.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import DataLoader from 'dataloader';
import type { GraphQLResolveInfo } from 'graphql';
import { addCosts } from '../costs/money.js';
import type { Database } from '../db/database.js';
import { join, sql } from '../db/dialect.js';
import type { Context } from '../schema/context.js';
import { executionLoader } from '../schema/loaders.js';

/** What the tree needs of a span. */
export interface SkeletonSpan {
  id: string;
  parentId: string | null;
  totalTokens: number;
  cost: number;
  /** Whether the span has an error. */
  failed: boolean;
}

/** The rollups of a span and everything under it. */
export interface SubtreeRollup {
  /** The span itself and all its descendants. */
  spanCount: number;
  totalTokens: number;
  cost: number;
  /** Spans of the subtree with an error. */
  errorCount: number;
}

/** Where one span sits in its trace's tree. */
export interface SpanPlace {
  /** 0 for a root, its parent's depth + 1 otherwise. */
  depth: number;
  childCount: number;
  descendantCount: number;
  subtree: SubtreeRollup;
  /** Its position in the depth-first order of the whole trace. */
  position: number;
}

/** The tree of one trace. */
export interface SpanTree {
  /** Where a span sits; undefined for a span the tree was read without. */
  place(spanId: string): SpanPlace | undefined;
  /** The ids from the root down to the span's parent; empty for a root. */
  ancestorsOf(spanId: string): string[];
  /** Span ids depth-first: each parent right before its subtree, siblings in start order. */
  readonly order: readonly string[];
}

/**
 * The tree of spans given in start order (startTime, then id). A span whose parent is not among
 * them counts as a root. The write path refuses parent cycles; should stored spans ever form one
 * anyway, the earliest span no root reaches is cut from its parent and becomes a root, so every span
 * still has exactly one place. Iterative throughout: a chain thousands of spans deep must not
 * exhaust the stack.
 */
export function spanTreeOf(spans: readonly SkeletonSpan[]): SpanTree {
  const steps = treeSteps(spans);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * spanTreeOf with a turn of the event loop after each pass over the spans (a few ms to a few tens of
 * ms each at 100,000 spans), for a snapshot of a large trace built while other requests wait. Once
 * `signal` aborts (nobody waits for the tree any more), no further pass runs: rejects with its reason.
 */
export async function spanTreeInTurns(spans: readonly SkeletonSpan[], signal?: AbortSignal): Promise<SpanTree> {
  const steps = treeSteps(spans);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await nextTurn();
    signal?.throwIfAborted();
  }
}

/** The tree, worked out pass by pass: each `yield` ends one pass over the spans. */
function* treeSteps(spans: readonly SkeletonSpan[]): Generator<void, SpanTree, undefined> {
  const count = spans.length;
  const indexOf = new Map<string, number>();
  spans.forEach((span, index) => indexOf.set(span.id, index));
  const parent = new Int32Array(count).fill(-1);
  for (let index = 0; index < count; index++) {
    const parentIndex = spans[index]!.parentId === null ? undefined : indexOf.get(spans[index]!.parentId!);
    if (parentIndex !== undefined && parentIndex !== index) parent[index] = parentIndex;
  }
  const children: number[][] = Array.from({ length: count }, () => []);
  for (let index = 0; index < count; index++) if (parent[index]! >= 0) children[parent[index]!]!.push(index);
  yield;

  // Spans no root reaches sit on a parent cycle: the earliest of each becomes a root.
  const reached = new Uint8Array(count);
  const mark = (root: number) => {
    const stack = [root];
    while (stack.length) {
      const index = stack.pop()!;
      reached[index] = 1;
      for (const child of children[index]!) if (!reached[child]) stack.push(child);
    }
  };
  for (let index = 0; index < count; index++) if (parent[index] === -1) mark(index);
  for (let index = 0; index < count; index++) {
    if (reached[index]) continue;
    const siblings = children[parent[index]!]!;
    siblings.splice(siblings.indexOf(index), 1);
    parent[index] = -1;
    mark(index);
  }
  yield;

  // Depth-first, pre-order: roots in start order, each one's children in start order.
  const depth = new Int32Array(count);
  const order: number[] = [];
  const stack: number[] = [];
  for (let root = count - 1; root >= 0; root--) if (parent[root] === -1) stack.push(root);
  while (stack.length) {
    const index = stack.pop()!;
    order.push(index);
    const own = children[index]!;
    for (let child = own.length - 1; child >= 0; child--) {
      depth[own[child]!] = depth[index]! + 1;
      stack.push(own[child]!);
    }
  }
  yield;

  // Rollups bottom-up: in reverse pre-order every span comes after all of its descendants.
  const subtree: SubtreeRollup[] = spans.map((span) => ({
    spanCount: 1,
    totalTokens: span.totalTokens,
    cost: span.cost,
    errorCount: Number(span.failed),
  }));
  for (let at = order.length - 1; at >= 0; at--) {
    const index = order[at]!;
    const up = parent[index]!;
    if (up < 0) continue;
    const into = subtree[up]!;
    const from = subtree[index]!;
    into.spanCount += from.spanCount;
    into.totalTokens += from.totalTokens;
    into.cost = addCosts(into.cost, from.cost);
    into.errorCount += from.errorCount;
  }
  yield;

  const position = new Int32Array(count);
  order.forEach((index, at) => (position[index] = at));
  return {
    place(spanId) {
      const index = indexOf.get(spanId);
      if (index === undefined) return undefined;
      return {
        depth: depth[index]!,
        childCount: children[index]!.length,
        descendantCount: subtree[index]!.spanCount - 1,
        subtree: subtree[index]!,
        position: position[index]!,
      };
    },
    ancestorsOf(spanId) {
      const ancestors: string[] = [];
      const index = indexOf.get(spanId);
      if (index === undefined) return ancestors;
      for (let up = parent[index]!; up >= 0; up = parent[up]!) ancestors.push(spans[up]!.id);
      return ancestors.reverse();
    },
    order: order.map((index) => spans[index]!.id),
  };
}

interface SkeletonRow {
  id: string;
  traceId: string;
  parentId: string | null;
  totalTokens: number | bigint | null;
  cost: number | null;
  failed: number | bigint | boolean;
}

/**
 * Reads the skeletons of traces in the caller's project: one statement for all of them, in start
 * order (the database's order of startTime and id, the same as the START order of `Trace.spans`).
 * The error text is never read, only whether there is one.
 */
async function readSkeletons(db: Database, projectId: string, traceIds: readonly string[]): Promise<Map<string, SkeletonSpan[]>> {
  const rows = await db.read.$queryRaw<SkeletonRow[]>(
    sql`SELECT "id", "traceId", "parentId", "totalTokens", "cost", CASE WHEN "error" IS NULL THEN 0 ELSE 1 END AS "failed"
        FROM "Span" WHERE "projectId" = ${projectId} AND "traceId" IN (${join([...traceIds])})
        ORDER BY "traceId", "startTime", "id"`,
  );
  const byTrace = new Map<string, SkeletonSpan[]>(traceIds.map((id) => [id, []]));
  for (const row of rows) {
    byTrace.get(row.traceId)?.push({
      id: row.id,
      parentId: row.parentId,
      totalTokens: Number(row.totalTokens ?? 0),
      cost: row.cost ?? 0,
      failed: Number(row.failed) === 1,
    });
  }
  return byTrace;
}

/** The span trees of one execution: those read so far, and a loader for the others. */
export interface SpanTrees {
  /** Trees already read, by trace id: fields of spans in them resolve without waiting. */
  readonly known: Map<string, SpanTree>;
  /** The tree of a trace; the traces asked for in one tick are read in one statement. */
  load(traceId: string): Promise<SpanTree>;
  /** Forgets a trace's tree, so that the next load reads it again. */
  forget(traceId: string): void;
}

function treesOf(db: Database, projectId: string): SpanTrees {
  const known = new Map<string, SpanTree>();
  const loader = new DataLoader<string, SpanTree>(async (traceIds) => {
    const skeletons = await readSkeletons(db, projectId, traceIds);
    return traceIds.map((traceId) => {
      const tree = spanTreeOf(skeletons.get(traceId) ?? []);
      known.set(traceId, tree);
      return tree;
    });
  });
  return {
    known,
    load: (traceId) => loader.load(traceId),
    forget(traceId) {
      known.delete(traceId);
      loader.clear(traceId);
    },
  };
}

/** The span trees of the execution `info` belongs to: each trace's read once, for every field that asks. */
export function spanTrees(ctx: Context, info: GraphQLResolveInfo): SpanTrees {
  return executionLoader(ctx, info, 'spanTrees', () => treesOf(ctx.services.db, ctx.scope.projectId));
}

/**
 * The snapshot tree a row read from a snapshot (span-pages.ts) sits in: a symbol-keyed property on the
 * row rather than a WeakMap entry, which costs several times as much per row of a 100,000-span read
 * (and serializes as nothing).
 */
const SNAPSHOT_TREE = Symbol('snapshotTree');

/**
 * Marks rows read from a snapshot with its tree: their depth, counts and ancestors are then those of
 * the snapshot they were paged from, at no further read, however large the trace.
 */
export function placedIn<Row extends object>(rows: Row[], tree: SpanTree): Row[] {
  for (const row of rows) (row as { [SNAPSHOT_TREE]?: SpanTree })[SNAPSHOT_TREE] = tree;
  return rows;
}

/**
 * `pick` of where a span sits in its trace: in the snapshot it was paged from, else at once when the trace's tree is already read (a whole
 * tree's fields then cost no promise each), else once it is. A span the execution's tree was read
 * without (written after that read, within the same response) has the tree read again, once.
 */
export function placeOfSpan<Value>(
  ctx: Context,
  info: GraphQLResolveInfo,
  span: { id: string; traceId: string },
  pick: (place: SpanPlace, tree: SpanTree) => Value,
): Value | Promise<Value> {
  const snapshot = (span as { [SNAPSHOT_TREE]?: SpanTree })[SNAPSHOT_TREE];
  const inSnapshot = snapshot?.place(span.id);
  if (snapshot && inSnapshot) return pick(inSnapshot, snapshot);
  const trees = spanTrees(ctx, info);
  const known = trees.known.get(span.traceId);
  const place = known?.place(span.id);
  if (known && place) return pick(place, known);
  return (async () => {
    let tree = await trees.load(span.traceId);
    let found = tree.place(span.id);
    if (!found) {
      trees.forget(span.traceId);
      tree = await trees.load(span.traceId);
      found = tree.place(span.id);
    }
    if (!found) throw new Error(`span ${span.id} is not in trace ${span.traceId}`);
    return pick(found, tree);
  })();
}
