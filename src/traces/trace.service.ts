/**
 * Deleting traces: for erasure requests (deleteTrace), for the retention sweep's trace clock, and for
 * deleteSpan of a root span (src/ingest/span-deletes.ts).
 */
import type { Database, Tx } from '../db/database.js';
import { sql, raw } from '../db/dialect.js';
import type { TraceRow } from '../db/rows.js';
import { traceKey, type PubSub } from '../pubsub.js';
import type { Services } from '../services.js';
import { recomputeSessionTimes, upsertSessionDeltas, type SessionDelta } from '../sessions/session-rollup.js';

/**
 * Tables whose rows belong to a trace (by "traceId"), deleted before the trace itself. Spans first:
 * an event or metric being written holds its span (spanTrace), so it has committed by the time its
 * span is deleted, and the statements after delete it too.
 */
const TRACE_MEMBERS = ['Span', 'Event', 'Metric'] as const;

/**
 * Deletes a trace with its spans, events and metrics in one transaction, for erasure requests; its
 * live subscribers are told it is gone. Returns false when there is no such trace in the project.
 * Plain SQL: Prisma's emulated Restrict relations would refuse to delete a span that has children.
 */
export async function deleteTrace({ db, pubsub }: Pick<Services, 'db' | 'pubsub'>, projectId: string, traceId: string): Promise<boolean> {
  const deleted = await db.write((tx) => removeTrace(db, tx, projectId, traceId));
  if (deleted) announceTraceDeletion(pubsub, projectId, traceId);
  return deleted;
}

/**
 * Locks the trace (writers to it wait), then deletes it and everything in it, and takes it out of its
 * session; false if absent. Inside the caller's transaction, so that a write which finds it must
 * delete the whole trace (deleteSpan on the root) does so under the lock it already holds; the
 * caller announces the deletion after commit (`announceTraceDeletion`).
 */
export async function removeTrace(db: Database, tx: Tx, projectId: string, traceId: string): Promise<boolean> {
  const [found] = await tx.$queryRaw<Pick<TraceRow, 'sessionId' | 'startTime' | 'endTime' | 'totalTokens' | 'cost' | 'errorCount'>[]>(
    sql`SELECT "sessionId", "startTime", "endTime", "totalTokens", "cost", "errorCount" FROM "Trace"
        WHERE "projectId" = ${projectId} AND "id" = ${traceId}${db.dialect.forUpdate}`,
  );
  if (!found) return false;
  for (const table of TRACE_MEMBERS) {
    await tx.$executeRaw(sql`DELETE FROM ${raw(`"${table}"`)} WHERE "projectId" = ${projectId} AND "traceId" = ${traceId}`);
  }
  await tx.$executeRaw(sql`DELETE FROM "Trace" WHERE "projectId" = ${projectId} AND "id" = ${traceId}`);
  if (found.sessionId) await leaveSession(db, tx, projectId, found as typeof found & { sessionId: string });
  return true;
}

/**
 * Takes a deleted trace out of its session's counts; a session left without traces goes too. Its
 * first and last times are read again from the traces left: the deleted one may have held them.
 */
async function leaveSession(
  db: Database,
  tx: Tx,
  projectId: string,
  trace: Pick<TraceRow, 'startTime' | 'endTime' | 'totalTokens' | 'cost' | 'errorCount'> & { sessionId: string },
) {
  const startTime = new Date(trace.startTime);
  const delta: SessionDelta = {
    sessionId: trace.sessionId,
    traceCount: -1,
    totalTokens: -trace.totalTokens,
    cost: -trace.cost,
    errorCount: -Number(trace.errorCount > 0),
    firstTime: startTime,
    lastTime: startTime,
  };
  const now = new Date();
  await upsertSessionDeltas(db.dialect, tx, projectId, [delta], now);
  await tx.$executeRaw(sql`DELETE FROM "Session" WHERE "projectId" = ${projectId} AND "id" = ${trace.sessionId} AND "traceCount" <= 0`);
  await recomputeSessionTimes(tx, projectId, trace.sessionId, now);
}

/**
 * Deletes traces in steps of at most `batchRows` rows a statement, each step its own short
 * transaction, so a sweep through large traces never holds writers up for long. The trace row goes
 * last, under its lock, with anything written into it meanwhile.
 */
export async function deleteTraceInSteps(
  { db, pubsub }: Pick<Services, 'db' | 'pubsub'>,
  projectId: string,
  traceId: string,
  batchRows: number,
): Promise<void> {
  for (const table of TRACE_MEMBERS) {
    const name = raw(`"${table}"`);
    for (;;) {
      const removed = await db.write((tx) =>
        tx.$executeRaw(sql`DELETE FROM ${name} WHERE "projectId" = ${projectId} AND "id" IN (
          SELECT "id" FROM ${name} WHERE "projectId" = ${projectId} AND "traceId" = ${traceId} LIMIT ${batchRows})`),
      );
      if (removed < batchRows) break;
    }
  }
  if (await db.write((tx) => removeTrace(db, tx, projectId, traceId))) announceTraceDeletion(pubsub, projectId, traceId);
}

/** The last message on a deleted trace's channels, once its deletion has committed: its subscribers end with NOT_FOUND. */
export function announceTraceDeletion(pubsub: PubSub, projectId: string, traceId: string) {
  const key = traceKey(projectId, traceId);
  pubsub.publish('trace:spans', key, { deletedTraceId: traceId });
  pubsub.publish('trace:events', key, { deletedTraceId: traceId });
}
