/**
 * The one write path for spans, for every transport (GraphQL mutations, OTLP/HTTP):
 * validate → retention → rows and rollup deltas in one transaction → publish after commit.
 *
 * A batch costs a fixed number of statements whatever its number of spans and traces: the stored
 * spans its ids name (retries), the traces its parents and waiting children are in, the traces it
 * writes into (created if new, locked), one multi-row insert of spans and one multi-row upsert of
 * trace rollups. Rollups change by each span's delta, so a write's cost does not depend on the size
 * of its trace; the root's fields (name, meta, previews) are taken when the root is written.
 */
import { createHash } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { Tx } from '../db/database.js';
import { sql, type Dialect } from '../db/dialect.js';
import { BadUserInput, Conflict, NotFound, SpantreeError } from '../errors.js';
import { publishEvents, publishSpanChanges } from './publish.js';
import type { SpanChangeMessage } from '../pubsub.js';
import { LIMITS } from '../validation.js';
import { durationOf, spanFieldsOf } from '../spans/span-fields.js';
import type { Scope } from '../schema/context.js';
import { prepareCreate, prepareUpdate, type CreateSpanInput, type PreparedSpan, type UpdateSpanInput } from './span-input.js';
import { withRetention } from '../retention/retention.service.js';
import { costFor, needsPrice, type CostSource } from '../costs/cost.service.js';
import type { Services } from '../services.js';
import type { EventRow, SpanRow, TraceRow } from '../db/rows.js';
import { sessionDeltas, upsertSessionDeltas } from '../sessions/session-rollup.js';
import type { EventKind, RetentionMode } from '../vocabulary.js';
import {
  applyGeneration,
  applyRootCandidate,
  applySpan,
  contributionOf,
  rootFieldsOf,
  traceColumns,
  type Recompute,
  type RollupState,
} from '../traces/trace-rollup.js';
import {
  APP_ORIGIN,
  firstRootSpan,
  insertEventRows,
  insertSpanRows,
  lockSpanIds,
  lockTraces,
  rollupStateOf,
  storedSpans,
  traceBounds,
  traceOfSpans,
  traceRowOf,
  updateSpanRow,
  waitingChildren,
  writeTraceRows,
  type EventRowInput,
  type LockedTrace,
  type TraceOriginFields,
} from './statements.js';

/** The result of a write: the spans in input order, and what changed for subscribers. */
interface WriteResult {
  spans: SpanRow[];
  changes: SpanChangeMessage[];
  traces: TraceRow[];
}

/** A validated create as the retention and pricing rules let it be stored, and how messages name it. */
type RetainedSpan = PreparedSpan & { retained: boolean; costSource: CostSource; label: string };

/** An event recorded with the spans of a write (OTLP span events), by the index of its span. */
export interface SpanEventInput {
  spanIndex: number;
  kind: EventKind;
  source: string;
  data: unknown;
  time: Date;
}

export interface IngestOptions {
  /** Names the batch in messages: `input` for one span, `input[3]` for the fourth of several. */
  label?: string;
  /**
   * Names each span in messages, in input order, where the batch's label and index would not tell
   * its writer which span it was (OTLP: its id and its place in the export).
   */
  labels?: readonly string[];
  maxSpans?: number;
  /**
   * The most spans one transaction writes: a larger batch is written in several transactions, one
   * after another, each committed (and published) before the next starts, so one export of tens of
   * thousands of spans neither holds the write lock for its whole length nor is refused (OTLP). Left
   * out, a batch is one transaction: all of it or none (createSpans).
   */
  transactionSpans?: number;
  /**
   * A span stored already and sent again with other content replaces the stored one, as an update
   * (OTLP: a pending copy without an end time, then the complete span). A copy without an end time
   * never replaces a span that has ended: it was sent earlier and arrived late.
   */
  replace?: boolean;
  /**
   * Spans that cannot be stored are left out and reported, rather than failing the whole batch: those
   * that fail validation, and those the database refuses alone (a span that would move to another
   * parent or trace, a parent in another trace, a cycle, a trace's token count overflowing).
   */
  skipInvalid?: boolean;
  events?: SpanEventInput[];
  /** Where the traces this write creates come from (the playground records its runs as PLAYGROUND); APP by default. */
  origin?: TraceOriginFields;
}

/** What a batch write did. */
export interface IngestResult {
  /** The stored spans in input order; null for a span left out. */
  spans: (SpanRow | null)[];
  /** The spans left out (see `skipInvalid`). */
  rejected: RejectedSpan[];
  /** The retention rule the spans were stored under: whether their content was kept. */
  retention: RetentionMode;
}

/** A span of a batch left out, and why (see `skipInvalid`). */
export interface RejectedSpan {
  index: number;
  message: string;
}

/**
 * What the write path uses: the database, the pub/sub to publish on after commit, and the cached
 * retention rules and prices every write applies.
 */
export type IngestServices = Pick<Services, 'db' | 'pubsub' | 'retention' | 'prices'>;

/** Creates one span; see createSpans. */
export async function createSpan(services: IngestServices, scope: Scope, input: CreateSpanInput): Promise<SpanRow> {
  const [span] = await createSpans(services, scope, [input], { label: 'input' });
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
export async function createSpans(services: IngestServices, scope: Scope, inputs: CreateSpanInput[], options: IngestOptions = {}): Promise<SpanRow[]> {
  const { spans } = await ingestSpans(services, scope, inputs, { ...options, skipInvalid: false });
  return spans as SpanRow[];
}

/**
 * The write path of a batch of spans, for every transport: validate → retention → price → one
 * transaction (rows, trace and session rollups, events) → publish after commit. Returns the stored
 * spans in input order (null for a span left out), the spans left out, and the retention rule applied.
 */
export async function ingestSpans(
  { db, pubsub, retention: rules, prices: priceBook }: IngestServices,
  scope: Scope,
  inputs: CreateSpanInput[],
  { label = 'input', labels, maxSpans = Infinity, transactionSpans = Infinity, replace = false, skipInvalid = false, events = [], origin = APP_ORIGIN }: IngestOptions = {},
): Promise<IngestResult> {
  if (inputs.length > maxSpans) {
    throw new BadUserInput(`${label}: a batch may hold at most ${maxSpans} spans; this one has ${inputs.length}. Split it.`);
  }
  const now = new Date();
  const single = inputs.length === 1 && label === 'input';
  const labelOf = (index: number) => labels?.[index] ?? (single ? label : `${label}[${index}]`);
  const retention = await rules.for(scope.projectId);
  const rejected: RejectedSpan[] = [];
  const accepted: number[] = [];
  const checked: (PreparedSpan | null)[] = inputs.map((input, index) => {
    try {
      const span = prepareCreate(input, labelOf(index), now);
      accepted.push(index);
      return span;
    } catch (error) {
      if (!skipInvalid || !(error instanceof BadUserInput)) throw error;
      rejected.push({ index, message: error.message });
      return null;
    }
  });
  const prices = checked.some((span) => span && needsPrice(span.fields)) ? await priceBook.for(scope.projectId) : new Map();
  const prepared: RetainedSpan[] = accepted.map((index) => {
    const span = checked[index]!;
    const { retained, ...fields } = withRetention(span.fields, retention);
    const { cost, costSource } = costFor(fields, prices, true);
    return { ...span, fields: { ...fields, cost }, retained, costSource, label: labelOf(index) };
  });
  const ids = prepared.map((span) => span.id ?? uuidv7());
  const seen = new Set<string>();
  ids.forEach((id, position) => {
    if (seen.has(id)) throw new BadUserInput(`${prepared[position]!.label}.id: ${id} appears more than once in this batch`);
    seen.add(id);
  });
  const positionOf = new Map(accepted.map((index, position) => [index, position]));
  const eventsAt: SpanEventInput[][] = prepared.map(() => []);
  for (const event of events) {
    const position = positionOf.get(event.spanIndex);
    if (position !== undefined) eventsAt[position]!.push(event);
  }

  const spans: (SpanRow | null)[] = new Array(inputs.length).fill(null);
  // Transactions of at most `transactionSpans` spans, in input order. Each commits before the next
  // begins: a failure part-way (the database gone) leaves the earlier parts stored, which a retry of
  // the whole batch finds stored with the same content and leaves as they are (OTLP's exporters
  // retry a 503; events have ids derived from what they record).
  const size = Math.max(1, Math.min(transactionSpans, prepared.length));
  for (let start = 0; start < prepared.length; start += size) {
    const part = prepared.slice(start, start + size);
    const partEvents = eventsAt.slice(start, start + size).flatMap((list, position) => list.map((event) => ({ ...event, spanIndex: position })));
    const result = await db.write((tx) =>
      insertSpans(db.dialect, tx, scope.projectId, part, ids.slice(start, start + size), now, replace, partEvents, origin, skipInvalid),
    );
    publishSpanChanges(pubsub, scope.projectId, result.changes, result.traces);
    publishEvents(pubsub, scope.projectId, result.events);
    result.spans.forEach((row, position) => (spans[accepted[start + position]!] = row ?? null));
    for (const refusal of result.refused) rejected.push({ index: accepted[start + refusal.position]!, message: refusal.message });
  }
  rejected.sort((a, b) => a.index - b.index);
  return { spans, rejected, retention: retention.mode };
}

interface InsertResult {
  /** The stored spans by position; undefined for a span refused. */
  spans: (SpanRow | undefined)[];
  changes: SpanChangeMessage[];
  traces: TraceRow[];
  events: EventRow[];
  /** Spans the database refused alone (with `skip`), by position, and why. */
  refused: { position: number; message: string }[];
}

/**
 * Refuses the span at `index` alone (with `skip`) or the whole write: an error a writer can act on
 * (a SpantreeError) names the span; anything else is not the span's fault and fails the write.
 */
type Refuse = (index: number, error: unknown) => void;

/** A refusal's message, led by the name of the span it is about. */
function naming(label: string, message: string): string {
  return message.startsWith(label) ? message : `${label}: ${message}`;
}

async function insertSpans(
  dialect: Dialect,
  tx: Tx,
  projectId: string,
  prepared: RetainedSpan[],
  ids: string[],
  now: Date,
  replace: boolean,
  events: SpanEventInput[],
  origin: TraceOriginFields,
  skip: boolean,
): Promise<InsertResult> {
  const results: (SpanRow | undefined)[] = new Array(prepared.length);
  // Every refusal below comes before the first statement that writes: a span refused alone leaves
  // nothing of itself behind.
  const refused = new Map<number, string>();
  const refuse: Refuse = (index, error) => {
    if (!skip || !(error instanceof SpantreeError)) throw error;
    refused.set(index, naming(prepared[index]!.label, error.message));
  };
  // Writers that create a span and writers that name it as a parent take turns (PostgreSQL; SQLite
  // writers always do): otherwise a parent and its early child, written at once, could each miss the
  // other and land in different traces.
  const parentIds = prepared.map((span) => span.parentId).filter((id): id is string => id !== null);
  await lockSpanIds(dialect, tx, projectId, [...ids, ...parentIds]);

  // Retries: the same id with the same content is the span already stored. With `replace`, other
  // content replaces it.
  const storedById = new Map((await storedSpans(dialect, tx, projectId, ids)).map((span) => [span.id, span]));
  const candidates: number[] = [];
  const replaced = new Map<number, SpanRow>();
  prepared.forEach((span, index) => {
    const existing = storedById.get(ids[index]!);
    if (!existing) return candidates.push(index);
    if (existing.ingestHash === span.ingestHash) return (results[index] = existing);
    if (!replace) {
      return refuse(index, new Conflict(`span ${ids[index]} already exists with different content; use updateSpan to change it`, { spanId: ids[index] }));
    }
    // A pending copy that arrives after the span ended is stale.
    if (existing.endTime !== null && span.fields.endTime === null) return (results[index] = existing);
    if (existing.parentId !== span.parentId || (span.traceId && span.traceId !== existing.traceId)) {
      return refuse(index, new Conflict(`span ${ids[index]} is stored under another parent or trace; a span cannot move`, { spanId: ids[index] }));
    }
    replaced.set(index, existing);
  });
  const refusals = () => [...refused].map(([position, message]) => ({ position, message }));
  const { traceIds, fresh } = await resolveTraces(dialect, tx, projectId, prepared, ids, candidates, refuse);
  const freshSet = new Set(fresh);
  const written = prepared.map((_, index) => index).filter((index) => freshSet.has(index) || replaced.has(index));
  if (written.length === 0) return { spans: results, changes: [], traces: [], events: [], refused: refusals() };
  for (const [index, existing] of replaced) traceIds[index] = existing.traceId;
  const earliest = new Map<string, Date>();
  for (const index of written) {
    const traceId = traceIds[index]!;
    const start = prepared[index]!.fields.startTime;
    if (!earliest.has(traceId) || start < earliest.get(traceId)!) earliest.set(traceId, start);
  }
  const locked = await lockTraces(dialect, tx, projectId, earliest, true, origin);

  const states = new Map<string, { state: RollupState; seq: number; sessionId: string | null; recompute: Recompute }>();
  for (const [traceId, trace] of locked) {
    states.set(traceId, { state: rollupStateOf(trace), seq: trace.spanSeq, sessionId: trace.sessionId, recompute: { startTime: false, endTime: false, root: false } });
  }
  const rows: SpanRow[] = [];
  const changes: SpanChangeMessage[] = [];
  for (const index of written) {
    const span = prepared[index]!;
    const traceId = traceIds[index]!;
    const entry = states.get(traceId)!;
    const before = replaced.get(index);
    const row: SpanRow = {
      projectId,
      id: ids[index]!,
      traceId,
      parentId: span.parentId,
      ...span.fields,
      input: span.fields.input as SpanRow['input'],
      output: span.fields.output as SpanRow['output'],
      meta: span.fields.meta as SpanRow['meta'],
      scorerContext: span.fields.scorerContext as SpanRow['scorerContext'],
      durationMs: durationOf(span.fields),
      retained: span.retained,
      costSource: span.costSource,
      seq: entry.seq + 1,
      createdSeq: before?.createdSeq ?? entry.seq + 1,
      ingestHash: span.ingestHash,
      createdAt: before?.createdAt ?? now,
      updatedAt: now,
    };
    const applied = applySpan(entry.state, before ? contributionOf(before) : null, contributionOf(row));
    if (applied.state.totalTokens > LIMITS.int32) {
      refuse(index, tokenOverflow(traceId, applied.state.totalTokens));
      // Refused alone (else the write failed): the trace's start may have been this span's.
      entry.recompute.startTime = true;
      continue;
    }
    entry.seq += 1;
    entry.sessionId ??= span.sessionId;
    entry.state = { ...applied.state, ...applyGeneration(applied.state, row) };
    entry.recompute.startTime ||= applied.recompute.startTime;
    entry.recompute.endTime ||= applied.recompute.endTime;
    if (row.parentId === null) {
      const root = applyRootCandidate(entry.state.root, rootFieldsOf(row));
      entry.state = { ...entry.state, root: root.root };
      entry.recompute.root ||= root.recompute;
    }
    results[index] = row;
    rows.push(row);
    changes.push({ op: before ? 'UPDATED' : 'CREATED', span: row });
  }
  await insertSpanRows(dialect, tx, rows, replaced.size > 0);
  // Bounds a replaced span held and gave up: asked of the database, now that it holds this write.
  for (const [traceId, entry] of states) {
    if (entry.recompute.startTime || entry.recompute.endTime) {
      const bounds = await traceBounds(tx, projectId, traceId);
      entry.state = { ...entry.state, startTime: bounds.startTime ?? entry.state.startTime, endTime: bounds.endTime };
    }
    if (entry.recompute.root) {
      const first = await firstRootSpan(tx, projectId, traceId);
      if (first) entry.state = { ...entry.state, root: rootFieldsOf(first) };
    }
  }
  const traces = [...states].map(([traceId, { state, seq, sessionId }]) => ({ ...checkedTraceRow(locked.get(traceId)!, state, seq, now), sessionId }));
  await writeTraceRows(dialect, tx, traces);
  await writeSessionDeltas(dialect, tx, projectId, locked, traces, now);
  const eventRows = events.length ? await insertSpanEvents(dialect, tx, projectId, events, ids, traceIds, rows) : [];
  return { spans: results, changes, traces, events: eventRows, refused: refusals() };
}

/** The sessions the written traces belong to, changed by what those traces changed. */
async function writeSessionDeltas(dialect: Dialect, tx: Tx, projectId: string, locked: Map<string, LockedTrace>, traces: TraceRow[], now: Date) {
  const deltas = sessionDeltas(
    traces.map((after) => {
      const before = locked.get(after.id)!;
      // A trace without a session before (new, or none named yet) joins with all it holds.
      return { before, after };
    }),
  );
  if (deltas.length) await upsertSessionDeltas(dialect, tx, projectId, deltas, now);
}

/**
 * Events of the written spans. Ids derive from the span and what the event records, so a batch sent
 * again (an exporter's retry, a complete span after its pending copy) adds none twice.
 */
async function insertSpanEvents(dialect: Dialect, tx: Tx, projectId: string, events: SpanEventInput[], ids: string[], traceIds: (string | undefined)[], rows: SpanRow[]) {
  const writtenIds = new Set(rows.map((row) => row.id));
  const inputs: EventRowInput[] = events
    .filter((event) => writtenIds.has(ids[event.spanIndex]!))
    .map((event) => {
      const spanId = ids[event.spanIndex]!;
      const digest = createHash('sha256').update(JSON.stringify([spanId, event.kind, event.source, event.time.getTime(), event.data])).digest('hex');
      return { id: `ev_${digest.slice(0, 32)}`, traceId: traceIds[event.spanIndex]!, spanId, kind: event.kind, source: event.source, data: event.data, createdAt: event.time };
    });
  const inserted = new Set(await insertEventRows(dialect, tx, projectId, inputs));
  return inputs
    .filter((event) => inserted.has(event.id))
    .map((event): EventRow => ({ projectId, ...event, data: (event.data ?? null) as EventRow['data'] }));
}

/** The trace row a rollup state makes, refused if its token count no longer fits. */
function checkedTraceRow(locked: Parameters<typeof traceRowOf>[0], state: RollupState, seq: number, now: Date): TraceRow {
  if (state.totalTokens > LIMITS.int32) throw tokenOverflow(locked.id, state.totalTokens);
  return traceRowOf(locked, traceColumns(state), seq, now);
}

function tokenOverflow(traceId: string, totalTokens: number): BadUserInput {
  return new BadUserInput(`trace ${traceId} would count ${totalTokens} tokens; the most a trace can count is ${LIMITS.int32}`);
}

/**
 * The trace of each new span: the one it names; else its parent's (stored, or in this batch); else,
 * for a span whose children arrived first, theirs; else a new trace for a root span. Every way a
 * span is tied to a trace must agree, and no span may become its own ancestor.
 *
 * A span that breaks one of these rules is handed to `refuse`, which fails the write or (skipping)
 * leaves the span out; then the others are resolved again without it, since a span whose parent in
 * the batch was left out may now join the parent's stored copy, or be refused in turn. Returns the
 * trace of each span by position and the new spans that remain.
 */
async function resolveTraces(dialect: Dialect, tx: Tx, projectId: string, prepared: RetainedSpan[], ids: string[], candidates: number[], refuse: Refuse) {
  let fresh = candidates;
  for (;;) {
    const failed = new Map<number, unknown>();
    const traceIds = await resolveOnce(dialect, tx, projectId, prepared, ids, fresh, (index, error) => {
      refuse(index, error);
      failed.set(index, error);
    });
    if (failed.size === 0) return { traceIds, fresh };
    fresh = fresh.filter((index) => !failed.has(index));
  }
}

/** One pass of resolveTraces over `fresh`; `fail` is told of each span that breaks a rule (and may throw). */
async function resolveOnce(dialect: Dialect, tx: Tx, projectId: string, prepared: RetainedSpan[], ids: string[], fresh: number[], fail: Refuse) {
  const inBatch = new Map(fresh.map((index) => [ids[index]!, index]));
  const freshIds = fresh.map((index) => ids[index]!);
  const outsideParents = [...new Set(fresh.map((index) => prepared[index]!.parentId).filter((id): id is string => !!id && !inBatch.has(id)))];
  const [parents, waiting] = await Promise.all([
    outsideParents.length ? traceOfSpans(dialect, tx, projectId, outsideParents) : [],
    // Children stored before their parent, which is among these new spans.
    freshIds.length ? waitingChildren(dialect, tx, projectId, freshIds) : [],
  ]);
  const storedParentTrace = new Map(parents.map((parent) => [parent.id, parent.traceId]));
  const childTraces = new Map<string, Set<string>>();
  for (const child of waiting) childTraces.set(child.parentId, (childTraces.get(child.parentId) ?? new Set()).add(child.traceId));

  const label = (index: number) => prepared[index]!.label;
  const traceIds: (string | undefined)[] = new Array(prepared.length);
  const resolving = new Set<number>();
  const failed = new Set<number>();
  // The trace of the span, or null when it (or a parent of it in the batch) broke a rule: a span
  // under a refused parent is decided on the next pass, without that parent.
  const resolve = (index: number): string | null => {
    const known = traceIds[index];
    if (known) return known;
    if (failed.has(index)) return null;
    try {
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
        if (batchParent !== undefined) {
          const resolved = resolve(batchParent);
          if (resolved === null) return null;
          parentTrace = resolved;
        } else parentTrace = storedParentTrace.get(span.parentId);
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
    } catch (error) {
      failed.add(index);
      fail(index, error);
      return null;
    }
  };
  for (const index of fresh) resolve(index);
  if (failed.size) return traceIds;
  await checkNoCycle(tx, projectId, prepared, ids, fresh, fresh.filter((index) => childTraces.has(ids[index]!)), fail);
  return traceIds;
}

/** Deeper than any real trace; bounds the walk up a chain of parents. */
const MAX_DEPTH = 10_000;

/**
 * A new span whose children were stored before it closes a cycle if its own chain of parents leads
 * back to it (child `a` under `b` stored first, then `b` under `a`). Walks that chain: through this
 * batch (the spans at `written` and those stored again), and through stored spans with one recursive
 * query per stretch of them. A span that would close a cycle is handed to `fail`.
 */
async function checkNoCycle(tx: Tx, projectId: string, prepared: PreparedSpan[], ids: string[], written: number[], candidates: number[], fail: Refuse) {
  const batchParent = new Map(written.map((index) => [ids[index]!, prepared[index]!.parentId]));
  for (const index of candidates) {
    const start = ids[index]!;
    const visited = new Set<string>();
    let current = prepared[index]!.parentId;
    while (current && !visited.has(current)) {
      if (current === start) {
        fail(index, new BadUserInput(`span ${start} would be its own ancestor; a trace is a tree`));
        break;
      }
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
      if (chain.some((span) => span.parentId === start)) {
        fail(index, new BadUserInput(`span ${start} would be its own ancestor; a trace is a tree`));
        break;
      }
      for (const span of chain) visited.add(span.id);
      current = chain.at(-1)?.parentId ?? null;
    }
  }
}

/** Changes a stored span; the trace's rollups change by the span's delta in the same transaction. */
export async function updateSpan(
  { db, pubsub, retention: rules, prices: priceBook }: IngestServices,
  scope: Scope,
  id: string,
  input: UpdateSpanInput,
): Promise<SpanRow> {
  const { projectId } = scope;
  const { dialect } = db;
  const retention = await rules.for(projectId);
  // What prices the cost of a span: fetched before the transaction (cached), only when it may change.
  const pricing = ['cost', 'model', 'inputTokens', 'outputTokens', 'meta'].some((field) => (input as Record<string, unknown>)[field] !== undefined);
  const prices = pricing ? await priceBook.for(projectId) : new Map();
  const result = await db.write(async (tx): Promise<WriteResult> => {
    const [located] = await storedSpans(dialect, tx, projectId, [id]);
    if (!located) throw new NotFound(`span ${id} not found`, { spanId: id });
    const locked = (await lockTraces(dialect, tx, projectId, new Map([[located.traceId, located.startTime]]), false)).get(located.traceId);
    // Under the trace's lock a concurrent update of this span has committed, or its deletion (or its
    // trace's): read it again (PostgreSQL; on SQLite the first read was already under the only write lock).
    const stored = !locked ? undefined : dialect.serializedWriters ? located : (await storedSpans(dialect, tx, projectId, [id]))[0];
    if (!locked || !stored) throw new NotFound(`span ${id} not found`, { spanId: id });
    const { retained, ...changes } = withRetention(prepareUpdate(input, spanFieldsOf(stored), 'input'), retention);
    const provided = changes.cost !== undefined ? changes.cost !== null : stored.costSource === 'PROVIDED';
    const merged = { ...spanFieldsOf(stored), ...changes };
    const priced = pricing ? costFor(merged, prices, provided) : { cost: merged.cost, costSource: stored.costSource };
    const seq = locked.spanSeq + 1;
    const now = new Date();
    const span: SpanRow = {
      ...stored,
      ...merged,
      input: merged.input as SpanRow['input'],
      output: merged.output as SpanRow['output'],
      meta: merged.meta as SpanRow['meta'],
      scorerContext: merged.scorerContext as SpanRow['scorerContext'],
      ...priced,
      durationMs: durationOf(merged),
      retained,
      seq,
      updatedAt: now,
    };
    await updateSpanRow(tx, span);

    const applied = applySpan(rollupStateOf(locked), contributionOf(stored), contributionOf(span));
    let state = { ...applied.state, ...applyGeneration(applied.state, span) };
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
    await writeTraceRows(dialect, tx, [trace]);
    await writeSessionDeltas(dialect, tx, projectId, new Map([[trace.id, locked]]), [trace], now);
    return { spans: [span], changes: [{ op: 'UPDATED', span }], traces: [trace] };
  });
  publishSpanChanges(pubsub, projectId, result.changes, result.traces);
  return result.spans[0]!;
}
