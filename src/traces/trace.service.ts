import { database, type Tx } from '../db/database.js';
import { sql, raw } from '../db/dialect.js';
import { traceRollup, type SpanTypeAggregate } from './trace-rollup.js';
import { BadUserInput } from '../errors.js';
import { LIMITS } from '../spans/span-input.js';
import { Prisma, type Trace } from '../generated/sqlite/client.js';
import { publish, traceKey } from '../pubsub.js';

export type TraceRow = Trace;

/**
 * Creates the trace if it does not exist yet and locks its row until the transaction ends, so that
 * writers to one trace take turns: rollups are computed from the spans they can all see, and span
 * change numbers follow commit order. Returns the last change number so far.
 */
export async function lockTrace(tx: Tx, projectId: string, traceId: string, startTime: Date): Promise<number> {
  const { dialect } = database();
  const now = new Date();
  await tx.$executeRaw`
    INSERT INTO "Trace" ("projectId", "id", "name", "status", "startTime", "spanCount", "totalTokens", "cost",
                         "composition", "tags", "spanSeq", "createdAt", "updatedAt")
    VALUES (${projectId}, ${traceId}, '', 'RUNNING', ${startTime}, 0, 0, 0, '{}', '[]', 0, ${now}, ${now})
    ON CONFLICT ("projectId", "id") DO NOTHING`;
  const rows = await tx.$queryRaw<{ spanSeq: number | bigint }[]>(
    sql`SELECT "spanSeq" FROM "Trace" WHERE "projectId" = ${projectId} AND "id" = ${traceId}${dialect.forUpdate}`,
  );
  return Number(rows[0]!.spanSeq);
}

/**
 * Recomputes the trace's rollups from its spans and records `spanSeq` as its last change number.
 * Recomputing (rather than adding deltas) keeps them exact whatever the write was: an update that
 * moves a span's start, removes its error or changes its tags is handled like any other.
 */
export async function refreshTraceRollup(tx: Tx, projectId: string, traceId: string, spanSeq: number): Promise<TraceRow> {
  const { dialect } = database();
  const where = { projectId, traceId };
  const [groups, root, tagRows] = await Promise.all([
    tx.span.groupBy({
      by: ['type'],
      where,
      _count: { _all: true, endTime: true, error: true },
      _sum: { totalTokens: true, cost: true },
      _min: { startTime: true },
      _max: { endTime: true },
    }),
    tx.span.findFirst({
      where: { ...where, parentId: null },
      orderBy: [{ startTime: 'asc' }, { id: 'asc' }],
      select: { id: true, name: true, input: true, output: true, meta: true, retained: true },
    }),
    tx.$queryRaw<{ tag: string }[]>(
      dialect.distinctArrayElements(
        raw('"span"."tags"'),
        raw('"Span" AS "span"'),
        sql`"span"."projectId" = ${projectId} AND "span"."traceId" = ${traceId}`,
      ),
    ),
  ]);
  const aggregates: SpanTypeAggregate[] = groups.map((group) => ({
    type: group.type,
    count: group._count._all,
    endedCount: group._count.endTime,
    errorCount: group._count.error,
    totalTokens: group._sum.totalTokens ?? 0,
    cost: group._sum.cost ?? 0,
    minStartTime: group._min.startTime,
    maxEndTime: group._max.endTime,
  }));
  const rollup = traceRollup(aggregates, root, new Date());
  if (rollup.totalTokens > LIMITS.int32) {
    throw new BadUserInput(`trace ${traceId} would count ${rollup.totalTokens} tokens; the most a trace can count is ${LIMITS.int32}`);
  }
  return tx.trace.update({
    where: { projectId_id: { projectId, id: traceId } },
    data: {
      ...rollup,
      // Prisma writes SQL NULL into a nullable JSON column only when told so explicitly.
      meta: rollup.meta === null ? Prisma.DbNull : (rollup.meta as Prisma.InputJsonValue),
      tags: tagRows.map((row) => row.tag).sort(),
      spanSeq,
    },
  });
}


/** Tables whose rows belong to a trace (by "traceId"), deleted before the trace itself. */
const TRACE_MEMBERS = ['Event', 'Metric', 'Span'] as const;

/**
 * Deletes a trace with its spans, events and metrics in one transaction, for erasure requests; its
 * live subscribers are told it is gone. Returns false when there is no such trace in the project.
 * Plain SQL: Prisma's emulated Restrict relations would refuse to delete a span that has children.
 */
export async function deleteTrace(projectId: string, traceId: string): Promise<boolean> {
  const deleted = await database().write((tx) => removeTrace(tx, projectId, traceId));
  if (deleted) announceDeletion(projectId, traceId);
  return deleted;
}

/** Locks the trace (writers to it wait), then deletes it and everything in it; false if absent. */
async function removeTrace(tx: Tx, projectId: string, traceId: string): Promise<boolean> {
  const found = await tx.$queryRaw<unknown[]>(
    sql`SELECT 1 AS "found" FROM "Trace" WHERE "projectId" = ${projectId} AND "id" = ${traceId}${database().dialect.forUpdate}`,
  );
  if (found.length === 0) return false;
  for (const table of TRACE_MEMBERS) {
    await tx.$executeRaw(sql`DELETE FROM ${raw(`"${table}"`)} WHERE "projectId" = ${projectId} AND "traceId" = ${traceId}`);
  }
  await tx.$executeRaw(sql`DELETE FROM "Trace" WHERE "projectId" = ${projectId} AND "id" = ${traceId}`);
  return true;
}

/**
 * Deletes traces in steps of at most `batchRows` rows a statement, each step its own short
 * transaction, so a sweep through large traces never holds writers up for long. The trace row goes
 * last, under its lock, with anything written into it meanwhile.
 */
export async function deleteTraceInSteps(projectId: string, traceId: string, batchRows: number): Promise<void> {
  for (const table of TRACE_MEMBERS) {
    const name = raw(`"${table}"`);
    for (;;) {
      const removed = await database().write((tx) =>
        tx.$executeRaw(sql`DELETE FROM ${name} WHERE "projectId" = ${projectId} AND "id" IN (
          SELECT "id" FROM ${name} WHERE "projectId" = ${projectId} AND "traceId" = ${traceId} LIMIT ${batchRows})`),
      );
      if (removed < batchRows) break;
    }
  }
  if (await database().write((tx) => removeTrace(tx, projectId, traceId))) announceDeletion(projectId, traceId);
}

/** The last message on a deleted trace's channels: its subscribers end with NOT_FOUND. */
function announceDeletion(projectId: string, traceId: string) {
  const key = traceKey(projectId, traceId);
  publish('trace:spans', key, { deletedTraceId: traceId });
  publish('trace:events', key, { deletedTraceId: traceId });
}
