/**
 * Deleting a span, for every transport. A span goes with its whole subtree: every span under it, at
 * any depth, with their events and metrics. A subtree left behind would be spans whose parent never
 * arrives, shown as extra roots of the trace, which is not what deleting a step means. Deleting the
 * root span, or the last spans of a trace, deletes the whole trace as deleteTrace does.
 *
 * Everything happens in one transaction under the trace's lock, so writers of the trace take turns
 * with it. What is left keeps exact rollups: the sums, counts and bounds are recomputed from the
 * remaining spans by one aggregate statement (a delta would carry forward whatever the stored rollups
 * hold), the root stays, and a generation preview held by a deleted span is taken over by the next
 * generation that offers one. After commit, live subscribers of the trace get a DELETED change per
 * span, numbered in the trace's commit order like every change, and the trace explorer the new rollups.
 */
import type { Database, Tx } from '../db/database.js';
import type { TraceRow } from '../db/rows.js';
import { NotFound } from '../errors.js';
import type { SpanChangeMessage } from '../pubsub.js';
import type { Scope } from '../schema/context.js';
import type { Services } from '../services.js';
import { recomputeSessionTimes, sessionDeltas, upsertSessionDeltas } from '../sessions/session-rollup.js';
import {
  generationPreviewText,
  rollupOfGroups,
  traceColumns,
  type GenerationPreview,
  type RollupState,
} from '../traces/trace-rollup.js';
import { announceTraceDeletion, removeTrace } from '../traces/trace.service.js';
import { publishSpanChanges } from './publish.js';
import {
  deleteSpanRows,
  generationsOf,
  lockSpanIds,
  lockTraces,
  rollupStateOf,
  spanGroups,
  subtreeSpanIds,
  subtreeSpans,
  traceOfSpans,
  traceRowOf,
  writeTraceRows,
  type LockedTrace,
} from './statements.js';

/** What deleting a span did. */
export interface SpanDeletion {
  /** The trace the span was in. */
  traceId: string;
  /** How many spans were deleted: the span and its descendants, or every span of the trace when it went whole. */
  deletedSpans: number;
  /** The trace with its rollups after the deletion; null when the whole trace was deleted. */
  trace: TraceRow | null;
}

/** What a span deletion uses: the database, and the pub/sub to tell live subscribers on after commit. */
export type SpanDeleteServices = Pick<Services, 'db' | 'pubsub'>;

/**
 * Deletes a span with its subtree, their events and metrics (see the top of this file). A span that
 * is not stored in the caller's project is NOT_FOUND, whether it exists in another project or not.
 */
export async function deleteSpan({ db, pubsub }: SpanDeleteServices, scope: Scope, spanId: string): Promise<SpanDeletion> {
  const { projectId } = scope;
  const { deletion, changes } = await db.write((tx) => removeSpan(db, tx, projectId, spanId));
  if (deletion.trace) publishSpanChanges(pubsub, projectId, changes, [deletion.trace]);
  else announceTraceDeletion(pubsub, projectId, deletion.traceId);
  return deletion;
}

function spanNotFound(spanId: string): NotFound {
  return new NotFound(`span ${spanId} not found`, { spanId });
}

async function removeSpan(db: Database, tx: Tx, projectId: string, spanId: string): Promise<{ deletion: SpanDeletion; changes: SpanChangeMessage[] }> {
  const { dialect } = db;
  const [located] = await traceOfSpans(dialect, tx, projectId, [spanId]);
  if (!located) throw spanNotFound(spanId);
  const { traceId } = located;
  // On PostgreSQL, writers that create, replace or name as a parent one of these spans take their
  // span locks before the trace's (see insertSpans): taken in the same order here, a write in flight
  // on the subtree commits first and is deleted with it, and one that comes later finds it gone.
  if (!dialect.serializedWriters) await lockSpanIds(dialect, tx, projectId, await subtreeSpanIds(tx, projectId, traceId, spanId));
  const locked = (await lockTraces(dialect, tx, projectId, new Map([[traceId, new Date()]]), false)).get(traceId);
  if (!locked) throw spanNotFound(spanId);
  const wholeTrace = async () => {
    await removeTrace(db, tx, projectId, traceId);
    return { deletion: { traceId, deletedSpans: locked.spanCount, trace: null }, changes: [] };
  };
  if (locked.rootSpanId === spanId) return wholeTrace();

  // Read under the trace's lock: a concurrent deletion of the span, or a child added, has committed.
  const subtree = await subtreeSpans(tx, projectId, traceId, spanId);
  if (subtree.length === 0) throw spanNotFound(spanId);
  const removed = new Set(subtree.map((span) => span.id));
  await deleteSpanRows(dialect, tx, projectId, [...removed]);
  const kept = rollupStateOf(locked);
  const state = rollupOfGroups(await spanGroups(dialect, tx, projectId, traceId), {
    root: kept.root,
    ...(await generationPreviewsWithout(tx, projectId, traceId, kept, removed)),
  });
  // No span is left: the subtree was the whole trace (one whose root has not arrived).
  if (!state) return wholeTrace();

  const now = new Date();
  const trace = traceRowOf(locked, traceColumns(state), locked.spanSeq + subtree.length, now);
  await writeTraceRows(dialect, tx, [trace]);
  await leaveSessionRollups(dialect, tx, projectId, locked, trace, now);
  // One change number per deleted span, in start order (a parent before its children).
  const changes = subtree.sort(inStartOrder).map((span, index): SpanChangeMessage => ({ op: 'DELETED', span: { ...span, seq: locked.spanSeq + index + 1 } }));
  return { deletion: { traceId, deletedSpans: subtree.length, trace }, changes };
}

/**
 * The session's rollups after the trace lost spans: tokens, cost and failed traces change by the
 * trace's delta; its first and last times are read again from its traces when the trace's own
 * narrowed, since a delta only ever widens them.
 */
async function leaveSessionRollups(dialect: Database['dialect'], tx: Tx, projectId: string, before: LockedTrace, after: TraceRow, now: Date) {
  if (!after.sessionId) return;
  await upsertSessionDeltas(dialect, tx, projectId, sessionDeltas([{ before, after }]), now);
  const lastOf = (trace: TraceRow) => (trace.endTime ?? trace.startTime).getTime();
  if (after.startTime.getTime() > before.startTime.getTime() || lastOf(after) < lastOf(before)) {
    await recomputeSessionTimes(tx, projectId, after.sessionId, now);
  }
}

/** Spans in the order that picks roots and generation previews: earliest start, then id. */
function inStartOrder(a: { startTime: Date; id: string }, b: { startTime: Date; id: string }): number {
  return a.startTime.getTime() - b.startTime.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Spans whose content one statement reads while a new generation preview is looked for. */
const CONTENT_PAGE = 20;

/**
 * The generation previews once `removed` are gone. One held by a deleted span passes to the next
 * generation that offers one: for the question, the first after it (none before it offers one, or it
 * would have held the preview); for the answer, the last before it. Their content is read a page at a
 * time, nearest first, until one offers a preview: usually the first.
 */
async function generationPreviewsWithout(
  tx: Tx,
  projectId: string,
  traceId: string,
  kept: RollupState,
  removed: Set<string>,
): Promise<Pick<RollupState, 'generationInput' | 'generationOutput'>> {
  const lostInput = kept.generationInput !== null && removed.has(kept.generationInput.spanId);
  const lostOutput = kept.generationOutput !== null && removed.has(kept.generationOutput.spanId);
  if (!lostInput && !lostOutput) return { generationInput: kept.generationInput, generationOutput: kept.generationOutput };
  const generations = (await generationsOf(tx, projectId, traceId)).filter((span) => span.retained).sort(inStartOrder);
  const position = (held: GenerationPreview) => ({ id: held.spanId, startTime: held.startTime });
  return {
    generationInput: lostInput
      ? await firstOffering(tx, projectId, generations.filter((span) => inStartOrder(span, position(kept.generationInput!)) > 0), 'input')
      : kept.generationInput,
    generationOutput: lostOutput
      ? await firstOffering(tx, projectId, generations.filter((span) => inStartOrder(span, position(kept.generationOutput!)) < 0).reverse(), 'output')
      : kept.generationOutput,
  };
}

/** The first of `candidates` (generations whose content was kept) that offers a preview from `side`. */
async function firstOffering(
  tx: Tx,
  projectId: string,
  candidates: { id: string; startTime: Date }[],
  side: 'input' | 'output',
): Promise<GenerationPreview | null> {
  for (let start = 0; start < candidates.length; start += CONTENT_PAGE) {
    const page = candidates.slice(start, start + CONTENT_PAGE);
    const rows = await tx.span.findMany({
      where: { projectId, id: { in: page.map((span) => span.id) } },
      select: { id: true, [side]: true } as { id: true; input: true; output: true },
    });
    const content = new Map(rows.map((row) => [row.id, row[side]]));
    for (const span of page) {
      const text = generationPreviewText({ type: 'GENERATION', retained: true, [side]: content.get(span.id) }, side);
      if (text) return { spanId: span.id, startTime: span.startTime, text };
    }
  }
  return null;
}
