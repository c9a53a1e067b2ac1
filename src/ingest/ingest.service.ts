/**
 * The one write path for spans, whichever transport they came by (GraphQL mutations now, OTLP later):
 * validate → retention → rows and rollup deltas in one transaction → publish after commit.
 *
 * A batch costs a fixed number of statements whatever its number of spans and traces: the stored
 * spans its ids name (retries), the traces its parents and waiting children are in, the traces it
 * writes into (created if new, locked), one multi-row insert of spans and one multi-row upsert of
 * trace rollups. Rollups change by each span's delta, so a write's cost does not depend on the size
 * of its trace; the root's fields (name, meta, previews) are taken when the root is written.
 */
import { v7 as uuidv7 } from 'uuid';
import { database, type Tx } from '../db/database.js';
import { sql } from '../db/dialect.js';
import { BadUserInput, Conflict, NotFound } from '../errors.js';
import { publishSpanChanges, type SpanChange } from '../spans/span-changes.js';
import {
  durationOf,
  LIMITS,
  prepareCreate,
  prepareUpdate,
  spanFieldsOf,
  type CreateSpanInput,
  type PreparedSpan,
  type UpdateSpanInput,
} from '../spans/span-input.js';
import type { Scope } from '../spans/span.service.js';
import { retentionFor, withRetention } from '../retention/retention.service.js';
import {
  applyRootCandidate,
  applySpan,
  contributionOf,
  rootFieldsOf,
  traceColumns,
  type RollupState,
} from '../traces/trace-rollup.js';
import {
  firstRootSpan,
  insertSpanRows,
  lockTraces,
  rollupStateOf,
  storedSpans,
  traceBounds,
  traceOfSpans,
  traceRowOf,
  updateSpanRow,
  waitingChildren,
  writeTraceRows,
  type SpanRow,
  type TraceRow,
} from './statements.js';

/** The result of a write: the spans in input order, and what changed for subscribers. */
interface WriteResult {
  spans: SpanRow[];
  changes: SpanChange[];
  traces: TraceRow[];
}

/** A validated create as the retention rule lets it be stored. */
type RetainedSpan = PreparedSpan & { retained: boolean };

/** Creates one span; see createSpans. */
export async function createSpan(scope: Scope, input: CreateSpanInput): Promise<SpanRow> {
  const [span] = await createSpans(scope, [input], { label: 'input' });
  return span!;
}

/**
 * Creates spans in one transaction: all of them or none.
 * - A root span (no parent, no trace) starts a new trace; a child joins its parent's trace.
 * - A child whose parent is not stored yet is accepted when it names its trace, and joins the tree
 *   when the parent arrives.
 * - A span whose id is already stored with the same content is a retry and is returned as stored;
 *   with other content it is a CONFLICT.
 */
export async function createSpans(
  scope: Scope,
  inputs: CreateSpanInput[],
  { label = 'input', maxSpans = Infinity }: { label?: string; maxSpans?: number } = {},
): Promise<SpanRow[]> {
  if (inputs.length > maxSpans) {
    throw new BadUserInput(`${label}: a batch may hold at most ${maxSpans} spans; this one has ${inputs.length}. Split it.`);
  }
  const now = new Date();
  const single = inputs.length === 1 && label === 'input';
  const retention = await retentionFor(scope.projectId);
  const prepared: RetainedSpan[] = inputs.map((input, index) => {
    const span = prepareCreate(input, single ? label : `${label}[${index}]`, now);
    const { retained, ...fields } = withRetention(span.fields, retention);
    return { ...span, fields, retained };
  });
  const ids = prepared.map((span) => span.id ?? uuidv7());
  const seen = new Set<string>();
  ids.forEach((id, index) => {
    if (seen.has(id)) throw new BadUserInput(`${label}[${index}].id: ${id} appears more than once in this batch`);
    seen.add(id);
  });

  const result = await database().write((tx) => insertSpans(tx, scope.projectId, prepared, ids, now));
  publishSpanChanges(scope.projectId, result.changes, result.traces);
  return result.spans;
}

async function insertSpans(tx: Tx, projectId: string, prepared: RetainedSpan[], ids: string[], now: Date): Promise<WriteResult> {
  const results: (SpanRow | undefined)[] = new Array(prepared.length);
  // Writers that create a span and writers that name it as a parent take turns (PostgreSQL; SQLite
  // writers always do): otherwise a parent and its early child, written at once, could each miss the
  // other and land in different traces.
  const parentIds = prepared.map((span) => span.parentId).filter((id): id is string => id !== null);
  await lockSpanIds(tx, projectId, [...ids, ...parentIds]);

  // Retries: the same id with the same content is the span already stored.
  const storedById = new Map((await storedSpans(tx, projectId, ids)).map((span) => [span.id, span]));
  const fresh: number[] = [];
  prepared.forEach((span, index) => {
    const existing = storedById.get(ids[index]!);
    if (!existing) return fresh.push(index);
    if (existing.ingestHash !== span.ingestHash) {
      throw new Conflict(`span ${ids[index]} already exists with different content; use updateSpan to change it`, { spanId: ids[index] });
    }
    results[index] = existing;
  });
  if (fresh.length === 0) return { spans: results as SpanRow[], changes: [], traces: [] };

  const traceIds = await resolveTraces(tx, projectId, prepared, ids, fresh);
  const earliest = new Map<string, Date>();
  for (const index of fresh) {
    const traceId = traceIds[index]!;
    const start = prepared[index]!.fields.startTime;
    if (!earliest.has(traceId) || start < earliest.get(traceId)!) earliest.set(traceId, start);
  }
  const locked = await lockTraces(tx, projectId, earliest, true);

  const states = new Map<string, { state: RollupState; seq: number }>();
  for (const [traceId, trace] of locked) states.set(traceId, { state: rollupStateOf(trace), seq: trace.spanSeq });
  const rows: SpanRow[] = [];
  const changes: SpanChange[] = [];
  for (const index of fresh) {
    const span = prepared[index]!;
    const traceId = traceIds[index]!;
    const entry = states.get(traceId)!;
    entry.seq += 1;
    const row: SpanRow = {
      projectId,
      id: ids[index]!,
      traceId,
      parentId: span.parentId,
      ...span.fields,
      input: span.fields.input as SpanRow['input'],
      output: span.fields.output as SpanRow['output'],
      meta: span.fields.meta as SpanRow['meta'],
      durationMs: durationOf(span.fields),
      retained: span.retained,
      seq: entry.seq,
      createdSeq: entry.seq,
      ingestHash: span.ingestHash,
      createdAt: now,
      updatedAt: now,
    };
    entry.state = applySpan(entry.state, null, contributionOf(row)).state;
    if (row.parentId === null) entry.state = { ...entry.state, root: applyRootCandidate(entry.state.root, rootFieldsOf(row)).root };
    results[index] = row;
    rows.push(row);
    changes.push({ op: 'CREATED', span: row });
  }
  await insertSpanRows(tx, rows);
  const traces = [...states].map(([traceId, { state, seq }]) => checkedTraceRow(locked.get(traceId)!, state, seq, now));
  await writeTraceRows(tx, traces);
  return { spans: results as SpanRow[], changes, traces };
}

/** The trace row a rollup state makes, refused if its token count no longer fits. */
function checkedTraceRow(locked: Parameters<typeof traceRowOf>[0], state: RollupState, seq: number, now: Date): TraceRow {
  if (state.totalTokens > LIMITS.int32) {
    throw new BadUserInput(`trace ${locked.id} would count ${state.totalTokens} tokens; the most a trace can count is ${LIMITS.int32}`);
  }
  return traceRowOf(locked, traceColumns(state), seq, now);
}

/** See insertSpans: on PostgreSQL, transaction-scoped advisory locks on the span ids involved. */
async function lockSpanIds(tx: Tx, projectId: string, spanIds: string[]) {
  const lock = database().dialect.lockKeys([...new Set(spanIds)].map((id) => `span:${projectId}/${id}`));
  if (lock) await tx.$queryRaw(lock);
}

/**
 * The trace of each new span: the one it names; else its parent's (stored, or in this batch); else,
 * for a span whose children arrived first, theirs; else a new trace for a root span. Every way a
 * span is tied to a trace must agree, and no span may become its own ancestor.
 */
async function resolveTraces(tx: Tx, projectId: string, prepared: PreparedSpan[], ids: string[], fresh: number[]) {
  const inBatch = new Map(fresh.map((index) => [ids[index]!, index]));
  const freshIds = fresh.map((index) => ids[index]!);
  const outsideParents = [...new Set(fresh.map((index) => prepared[index]!.parentId).filter((id): id is string => !!id && !inBatch.has(id)))];
  const [parents, waiting] = await Promise.all([
    outsideParents.length ? traceOfSpans(tx, projectId, outsideParents) : [],
    // Children stored before their parent, which is among these new spans.
    waitingChildren(tx, projectId, freshIds),
  ]);
  const storedParentTrace = new Map(parents.map((parent) => [parent.id, parent.traceId]));
  const childTraces = new Map<string, Set<string>>();
  for (const child of waiting) childTraces.set(child.parentId, (childTraces.get(child.parentId) ?? new Set()).add(child.traceId));

  const label = (index: number) => (prepared.length === 1 ? 'input' : `input[${index}]`);
  const traceIds: (string | undefined)[] = new Array(prepared.length);
  const resolving = new Set<number>();
  const resolve = (index: number): string => {
    const known = traceIds[index];
    if (known) return known;
    const span = prepared[index]!;
    const id = ids[index]!;
    if (resolving.has(index)) {
      throw new BadUserInput(`${label(index)}.parentId: spans in this batch name each other as parents; a trace is a tree`);
    }
    resolving.add(index);
    let parentTrace: string | undefined;
    if (span.parentId) {
      if (span.parentId === id) throw new BadUserInput(`${label(index)}.parentId: a span cannot be its own parent`);
      const batchParent = inBatch.get(span.parentId);
      parentTrace = batchParent !== undefined ? resolve(batchParent) : storedParentTrace.get(span.parentId);
    }
    const children = [...(childTraces.get(id) ?? [])];
    if (children.length > 1) {
      throw new BadUserInput(`span ${id} is the parent of spans already stored in several traces (${children.join(', ')})`);
    }
    const traceId = span.traceId ?? parentTrace ?? children[0];
    if (!traceId && span.parentId) {
      throw new NotFound(`${label(index)}.parentId: parent span ${span.parentId} not found; to send a child before its parent, give its traceId`, {
        field: `${label(index)}.parentId`,
      });
    }
    if (parentTrace && traceId !== parentTrace) {
      throw new BadUserInput(`${label(index)}.parentId: parent span ${span.parentId} is in trace ${parentTrace}, not in trace ${traceId}`, {
        field: `${label(index)}.parentId`,
      });
    }
    if (children[0] && traceId !== children[0]) {
      throw new BadUserInput(`span ${id} is the parent of spans already stored in trace ${children[0]}; it cannot be created in trace ${traceId}`);
    }
    traceIds[index] = traceId ?? uuidv7();
    return traceIds[index]!;
  };
  for (const index of fresh) resolve(index);
  await checkNoCycle(tx, projectId, prepared, ids, fresh.filter((index) => childTraces.has(ids[index]!)));
  return traceIds;
}

/** Deeper than any real trace; bounds the walk up a chain of parents. */
const MAX_DEPTH = 10_000;

/**
 * A new span whose children were stored before it closes a cycle if its own chain of parents leads
 * back to it (child `a` under `b` stored first, then `b` under `a`). Walks that chain: through this
 * batch, and through stored spans with one recursive query per stretch of them.
 */
async function checkNoCycle(tx: Tx, projectId: string, prepared: PreparedSpan[], ids: string[], candidates: number[]) {
  const batchParent = new Map(prepared.map((span, index) => [ids[index]!, span.parentId]));
  for (const index of candidates) {
    const start = ids[index]!;
    const visited = new Set<string>();
    let current = prepared[index]!.parentId;
    while (current && !visited.has(current)) {
      if (current === start) throw new BadUserInput(`span ${start} would be its own ancestor; a trace is a tree`);
      visited.add(current);
      if (batchParent.has(current)) {
        current = batchParent.get(current) ?? null;
        continue;
      }
      const chain = await tx.$queryRaw<{ id: string; parentId: string | null }[]>(sql`
        WITH RECURSIVE "chain"("id", "parentId", "depth") AS (
          SELECT "id", "parentId", 0 FROM "Span" WHERE "projectId" = ${projectId} AND "id" = ${current}
          UNION ALL
          SELECT "span"."id", "span"."parentId", "chain"."depth" + 1
          FROM "Span" AS "span" JOIN "chain" ON "span"."projectId" = ${projectId} AND "span"."id" = "chain"."parentId"
          WHERE "chain"."depth" < ${MAX_DEPTH}
        )
        SELECT "id", "parentId" FROM "chain" ORDER BY "depth"`);
      if (chain.some((span) => span.parentId === start)) throw new BadUserInput(`span ${start} would be its own ancestor; a trace is a tree`);
      for (const span of chain) visited.add(span.id);
      current = chain.at(-1)?.parentId ?? null;
    }
  }
}

/** Changes a stored span; the trace's rollups change by the span's delta in the same transaction. */
export async function updateSpan(scope: Scope, id: string, input: UpdateSpanInput): Promise<SpanRow> {
  const { projectId } = scope;
  const retention = await retentionFor(projectId);
  const result = await database().write(async (tx): Promise<WriteResult> => {
    const [located] = await storedSpans(tx, projectId, [id]);
    if (!located) throw new NotFound(`span ${id} not found`, { spanId: id });
    const locked = (await lockTraces(tx, projectId, new Map([[located.traceId, located.startTime]]), false)).get(located.traceId)!;
    // Under the trace's lock a concurrent update of this span has committed: read it again (PostgreSQL;
    // on SQLite the first read was already under the only write lock).
    const stored = database().dialect.serializedWriters ? located : ((await storedSpans(tx, projectId, [id]))[0] ?? located);
    const { retained, ...changes } = withRetention(prepareUpdate(input, spanFieldsOf(stored), 'input'), retention);
    const merged = { ...spanFieldsOf(stored), ...changes };
    const seq = locked.spanSeq + 1;
    const now = new Date();
    const span: SpanRow = {
      ...stored,
      ...merged,
      input: merged.input as SpanRow['input'],
      output: merged.output as SpanRow['output'],
      meta: merged.meta as SpanRow['meta'],
      durationMs: durationOf(merged),
      retained,
      seq,
      updatedAt: now,
    };
    await updateSpanRow(tx, span);

    const applied = applySpan(rollupStateOf(locked), contributionOf(stored), contributionOf(span));
    let state = applied.state;
    if (applied.recompute.startTime || applied.recompute.endTime) {
      // The span held the trace's earliest start or latest end and moved away from it: which span
      // holds it now, a delta cannot know. Two index lookups on the trace's spans, not a scan.
      const bounds = await traceBounds(tx, projectId, span.traceId);
      state = { ...state, startTime: bounds.startTime ?? span.startTime, endTime: bounds.endTime };
    }
    if (span.parentId === null) {
      const root = applyRootCandidate(state.root, rootFieldsOf(span));
      state = { ...state, root: root.root };
      if (root.recompute) {
        // The root started later than before: another span without a parent may come first now.
        const first = await firstRootSpan(tx, projectId, span.traceId);
        if (first && first.id !== span.id) state = { ...state, root: rootFieldsOf(first) };
      }
    }
    const trace = checkedTraceRow(locked, state, seq, now);
    await writeTraceRows(tx, [trace]);
    return { spans: [span], changes: [{ op: 'UPDATED', span }], traces: [trace] };
  });
  publishSpanChanges(projectId, result.changes, result.traces);
  return result.spans[0]!;
}
