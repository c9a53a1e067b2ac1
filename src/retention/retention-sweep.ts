/**
 * The retention sweep: every RETENTION_SWEEP_MS, for each project whose rule has clocks, erase the
 * content of spans older than contentTtlDays (their metadata stays) and delete traces older than
 * traceTtlDays. It works in steps of at most SWEEP_BATCH_ROWS rows a statement, each its own short
 * transaction, so writers never wait long for it; on PostgreSQL, rows another instance's sweep holds
 * are skipped, so several instances can sweep at once.
 */
import type { Database } from '../db/database.js';
import type { Services } from '../services.js';
import { join, sql } from '../db/dialect.js';
import { deleteTraceInSteps } from '../traces/trace.service.js';
import { effectiveRetention } from './retention.service.js';

/** The most rows one sweep statement touches. */
export const SWEEP_BATCH_ROWS = 500;
/** Expired traces looked up at a time; each is then deleted in steps. */
const TRACES_PER_LOOKUP = 100;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface SweepResult {
  erasedSpans: number;
  deletedTraces: number;
}

/** One pass over every project: what the clocks say is due now. */
export async function sweepRetention(
  services: Pick<Services, 'db' | 'pubsub'>,
  now = new Date(),
  shouldStop: () => boolean = () => false,
): Promise<SweepResult> {
  const { db } = services;
  const result: SweepResult = { erasedSpans: 0, deletedTraces: 0 };
  const projects = await db.read.project.findMany({ include: { organization: true } });
  for (const project of projects) {
    const retention = effectiveRetention(project, project.organization);
    if (retention.contentTtlDays) {
      const cutoff = new Date(now.getTime() - retention.contentTtlDays * DAY_MS);
      for (let erased = SWEEP_BATCH_ROWS; erased === SWEEP_BATCH_ROWS && !shouldStop(); ) {
        erased = await eraseContentBatch(db, project.id, cutoff);
        result.erasedSpans += erased;
      }
    }
    if (retention.traceTtlDays) {
      const cutoff = new Date(now.getTime() - retention.traceTtlDays * DAY_MS);
      for (;;) {
        if (shouldStop()) break;
        const expired = await db.read.$queryRaw<{ id: string }[]>(
          sql`SELECT "id" FROM "Trace" WHERE "projectId" = ${project.id} AND "startTime" < ${cutoff}
              ORDER BY "startTime" LIMIT ${TRACES_PER_LOOKUP}`,
        );
        for (const { id } of expired) {
          if (shouldStop()) break;
          await deleteTraceInSteps(services, project.id, id, SWEEP_BATCH_ROWS);
          result.deletedTraces++;
        }
        if (expired.length < TRACES_PER_LOOKUP) break;
      }
    }
  }
  return result;
}

/**
 * Erases the content (input, output, instructions, observations, scorerContext) of up to
 * SWEEP_BATCH_ROWS spans that started before `cutoff` and still hold content, and the previews of
 * traces taken from them (as root or generation).
 */
async function eraseContentBatch(db: Database, projectId: string, cutoff: Date): Promise<number> {
  const { dialect } = db;
  return db.write(async (tx) => {
    const due = await tx.$queryRaw<{ id: string; traceId: string }[]>(
      sql`SELECT "id", "traceId" FROM "Span" WHERE "projectId" = ${projectId} AND "retained" = true AND "startTime" < ${cutoff}
          ORDER BY "startTime" LIMIT ${SWEEP_BATCH_ROWS}${dialect.forUpdateSkipLocked}`,
    );
    if (due.length === 0) return 0;
    const ids = due.map((row) => row.id);
    const traceIds = [...new Set(due.map((row) => row.traceId))];
    const now = new Date();
    await tx.$executeRaw(
      sql`UPDATE "Span" SET "input" = NULL, "output" = NULL, "instructions" = NULL, "observations" = NULL, "scorerContext" = NULL,
          "retained" = false, "updatedAt" = ${now}
          WHERE "projectId" = ${projectId} AND "id" IN (${join(ids)})`,
    );
    await tx.$executeRaw(
      sql`UPDATE "Trace" SET "inputPreview" = NULL, "outputPreview" = NULL, "retained" = false, "updatedAt" = ${now}
          WHERE "projectId" = ${projectId} AND "rootSpanId" IN (${join(ids)})`,
    );
    // Previews taken from the erased generations go with them (their traces found by key, not by a scan).
    await tx.$executeRaw(
      sql`UPDATE "Trace" SET "generationInputPreview" = NULL, "generationInputSpanId" = NULL, "generationInputStart" = NULL, "updatedAt" = ${now}
          WHERE "projectId" = ${projectId} AND "id" IN (${join(traceIds)}) AND "generationInputSpanId" IN (${join(ids)})`,
    );
    await tx.$executeRaw(
      sql`UPDATE "Trace" SET "generationOutputPreview" = NULL, "generationOutputSpanId" = NULL, "generationOutputStart" = NULL, "updatedAt" = ${now}
          WHERE "projectId" = ${projectId} AND "id" IN (${join(traceIds)}) AND "generationOutputSpanId" IN (${join(ids)})`,
    );
    return ids.length;
  });
}

/** Runs the sweep every `intervalMs`, one pass at a time; `stop` waits for a pass in progress. */
export function startRetentionSweep(services: Pick<Services, 'db' | 'pubsub'>, intervalMs: number): { stop(): Promise<void> } {
  let stopping = false;
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = sweepRetention(services, new Date(), () => stopping)
      .catch((error) => console.error(`Retention sweep failed (it runs again in ${intervalMs} ms): ${(error as Error).message}`))
      .finally(() => (running = undefined));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopping = true;
      clearInterval(timer);
      await running;
    },
  };
}
