import { database, type Tx } from '../db/database.js';
import { sql, raw } from '../db/dialect.js';
import { traceRollup, type SpanTypeAggregate } from './trace-rollup.js';
import { BadUserInput } from '../errors.js';
import { LIMITS } from '../spans/span-input.js';
import { Prisma, type Trace } from '../generated/sqlite/client.js';

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
      select: { id: true, name: true, input: true, output: true, meta: true },
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

