/**
 * Writing spans: the one path every writer takes (GraphQL mutations now, OTLP later), so validation,
 * idempotency, out-of-order arrival, rollups and publishing happen in exactly one place.
 */
import { v7 as uuidv7 } from 'uuid';
import { database, type Tx } from '../db/database.js';
import { sql } from '../db/dialect.js';
import { BadUserInput, Conflict, NotFound } from '../errors.js';
import { Prisma, type Span } from '../generated/sqlite/client.js';
import { lockTrace, refreshTraceRollup, type TraceRow } from '../traces/trace.service.js';
import { publishSpanChanges, type SpanChange } from './span-changes.js';
import { retentionFor, withRetention } from '../retention/retention.service.js';
import {
  durationOf,
  spanFieldsOf,
  prepareCreate,
  prepareUpdate,
  type CreateSpanInput,
  type PreparedSpan,
  type SpanFields,
  type UpdateSpanInput,
} from './span-input.js';

export type SpanRow = Span;
export type { CreateSpanInput, UpdateSpanInput };

/** Who is writing: every read and write is confined to one project. */
export interface Scope {
  projectId: string;
}

/** The result of a write: the spans in input order, and what changed for subscribers. */
interface WriteResult {
  spans: SpanRow[];
  changes: SpanChange[];
  traces: TraceRow[];
}

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
  const prepared = inputs.map((input, index) => {
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

/** A validated create as the retention rule lets it be stored. */
type RetainedSpan = PreparedSpan & { retained: boolean };

async function insertSpans(tx: Tx, projectId: string, prepared: RetainedSpan[], ids: string[], now: Date): Promise<WriteResult> {
  const results: (SpanRow | undefined)[] = new Array(prepared.length);
  // Writers that create a span and writers that name it as a parent take turns (PostgreSQL; SQLite
  // writers always do): otherwise a parent and its early child, written at once, could each miss the
  // other and land in different traces.
  const parentIds = prepared.map((span) => span.parentId).filter((id): id is string => id !== null);
  await lockSpanIds(tx, projectId, [...ids, ...parentIds]);

  // Retries: the same id with the same content is the span already stored.
  const stored = await tx.span.findMany({ where: { projectId, id: { in: ids } } });
  const storedById = new Map(stored.map((span) => [span.id, span]));
  const fresh: number[] = [];
  prepared.forEach((span, index) => {
    const existing = storedById.get(ids[index]!);
    if (!existing) return fresh.push(index);
    if (existing.ingestHash !== span.ingestHash) {
      throw new Conflict(
        `span ${ids[index]} already exists with different content; use updateSpan to change it`,
        { spanId: ids[index] },
      );
    }
    results[index] = existing;
  });
  if (fresh.length === 0) return { spans: results as SpanRow[], changes: [], traces: [] };

  const traceIds = await resolveTraces(tx, projectId, prepared, ids, fresh);

  // Lock traces in id order so that two batches touching the same traces cannot deadlock.
  const byTrace = new Map<string, number[]>();
  for (const index of fresh) byTrace.set(traceIds[index]!, [...(byTrace.get(traceIds[index]!) ?? []), index]);
  const traceOrder = [...byTrace.keys()].sort();
  const rows: Prisma.SpanCreateManyInput[] = [];
  const changes: SpanChange[] = [];
  const traces: TraceRow[] = [];
  const lastSeq = new Map<string, number>();
  for (const traceId of traceOrder) {
    const members = byTrace.get(traceId)!;
    const earliest = new Date(Math.min(...members.map((index) => prepared[index]!.fields.startTime.getTime())));
    let seq = await lockTrace(tx, projectId, traceId, earliest);
    for (const index of members) {
      const span = prepared[index]!;
      seq += 1;
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
        seq,
        createdSeq: seq,
        ingestHash: span.ingestHash,
        createdAt: now,
        updatedAt: now,
      };
      results[index] = row;
      rows.push(toCreateRow(row));
      changes.push({ op: 'CREATED', span: row });
    }
    lastSeq.set(traceId, seq);
  }
  await tx.span.createMany({ data: rows });
  for (const traceId of traceOrder) traces.push(await refreshTraceRollup(tx, projectId, traceId, lastSeq.get(traceId)!));
  return { spans: results as SpanRow[], changes, traces };
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
    outsideParents.length
      ? tx.span.findMany({ where: { projectId, id: { in: outsideParents } }, select: { id: true, traceId: true } })
      : [],
    // Children stored before their parent, which is among these new spans.
    tx.span.groupBy({ by: ['parentId', 'traceId'], where: { projectId, parentId: { in: freshIds } } }),
  ]);
  const storedParentTrace = new Map(parents.map((parent) => [parent.id, parent.traceId]));
  const childTraces = new Map<string, Set<string>>();
  for (const child of waiting) childTraces.set(child.parentId!, (childTraces.get(child.parentId!) ?? new Set()).add(child.traceId));

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
      throw new NotFound(
        `${label(index)}.parentId: parent span ${span.parentId} not found; to send a child before its parent, give its traceId`,
        { field: `${label(index)}.parentId` },
      );
    }
    if (parentTrace && traceId !== parentTrace) {
      throw new BadUserInput(`${label(index)}.parentId: parent span ${span.parentId} is in trace ${parentTrace}, not in trace ${traceId}`, {
        field: `${label(index)}.parentId`,
      });
    }
    if (children[0] && traceId !== children[0]) {
      throw new BadUserInput(
        `span ${id} is the parent of spans already stored in trace ${children[0]}; it cannot be created in trace ${traceId}`,
      );
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

/** Changes a stored span; the trace's rollups follow in the same transaction. */
export async function updateSpan(scope: Scope, id: string, input: UpdateSpanInput): Promise<SpanRow> {
  const { projectId } = scope;
  const retention = await retentionFor(projectId);
  const result = await database().write(async (tx): Promise<WriteResult> => {
    const located = await spanTrace(tx, projectId, id);
    const seq = (await lockTrace(tx, projectId, located.traceId, new Date())) + 1;
    // Read again under the trace lock: a concurrent update of this span has committed by now.
    const stored = await tx.span.findUniqueOrThrow({ where: { projectId_id: { projectId, id } } });
    const { retained, ...changes } = withRetention(prepareUpdate(input, spanFieldsOf(stored), 'input'), retention);
    const merged = { ...spanFieldsOf(stored), ...changes };
    const span = await tx.span.update({
      where: { projectId_id: { projectId, id } },
      data: { ...toWriteFields(changes), durationMs: durationOf(merged), retained, seq },
    });
    const trace = await refreshTraceRollup(tx, projectId, located.traceId, seq);
    return { spans: [span], changes: [{ op: 'UPDATED', span }], traces: [trace] };
  });
  publishSpanChanges(projectId, result.changes, result.traces);
  return result.spans[0]!;
}

/** The trace of a stored span in the caller's project, for what attaches to spans (events, metrics). */
export async function spanTrace(tx: Tx, projectId: string, spanId: string): Promise<{ traceId: string }> {
  const span = await tx.span.findUnique({ where: { projectId_id: { projectId, id: spanId } }, select: { traceId: true } });
  if (!span) throw new NotFound(`span ${spanId} not found`, { spanId });
  return span;
}

/** JSON columns take Prisma.DbNull for SQL NULL; a plain null would be refused. */
function jsonValue(value: unknown) {
  return value === null ? Prisma.DbNull : (value as Prisma.InputJsonValue);
}

function toWriteFields(fields: Partial<SpanFields>): Prisma.SpanUncheckedUpdateInput {
  const data: Prisma.SpanUncheckedUpdateInput = { ...fields } as Prisma.SpanUncheckedUpdateInput;
  if (fields.input !== undefined) data.input = jsonValue(fields.input);
  if (fields.output !== undefined) data.output = jsonValue(fields.output);
  if (fields.meta !== undefined) data.meta = jsonValue(fields.meta);
  return data;
}

function toCreateRow(row: SpanRow): Prisma.SpanCreateManyInput {
  return {
    ...row,
    input: jsonValue(row.input),
    output: jsonValue(row.output),
    meta: jsonValue(row.meta),
    tags: row.tags as Prisma.InputJsonValue,
  };
}
