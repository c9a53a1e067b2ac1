/**
 * A session's rollups (trace count, first and last time, tokens, cost, failed traces), kept by the
 * deltas of its traces: each write adds what its traces contribute now and takes away what they
 * contributed before, so the cost of a write does not depend on the size of the session. The deltas
 * are computed here in memory, and applied by one statement (`upsertSessionDeltas`) in the write's
 * transaction: by the write path, and by trace deletion. Deletions narrow the first and last times,
 * which a delta cannot: those are read again from the session's traces (`recomputeSessionTimes`).
 */
import { addCosts } from '../costs/money.js';
import type { Tx } from '../db/database.js';
import { inChunks, join, raw, sql, type Dialect } from '../db/dialect.js';

/** What a write changes in one session's rollups (see sessionDeltas). */
export interface SessionDelta {
  sessionId: string;
  traceCount: number;
  totalTokens: number;
  cost: number;
  errorCount: number;
  firstTime: Date;
  lastTime: Date;
}

/**
 * Applies session deltas in one statement: a new session is inserted with them, a stored one adds
 * them to its counts (the database adds, so no read or lock of the session row is needed, and
 * concurrent writers to one session each add their own part).
 */
export async function upsertSessionDeltas(dialect: Dialect, tx: Tx, projectId: string, deltas: SessionDelta[], now: Date): Promise<void> {
  const stored = (name: string) => raw(`"Session"."${name}"`);
  const added = (name: string) => raw(`"${name}" = "Session"."${name}" + excluded."${name}"`);
  await inChunks(dialect, deltas, 10, (chunk) =>
    tx.$executeRaw(sql`INSERT INTO "Session" ("projectId", "id", "traceCount", "firstTime", "lastTime", "totalTokens", "cost", "errorCount", "createdAt", "updatedAt")
      VALUES ${join(
        chunk.map(
          (delta) =>
            sql`(${projectId}, ${delta.sessionId}, ${delta.traceCount}, ${delta.firstTime}, ${delta.lastTime}, ${delta.totalTokens}, ${delta.cost}, ${delta.errorCount}, ${now}, ${now})`,
        ),
      )}
      ON CONFLICT ("projectId", "id") DO UPDATE SET ${added('traceCount')}, ${added('totalTokens')}, ${added('errorCount')},
        "cost" = ${dialect.roundCost(sql`${stored('cost')} + excluded."cost"`)},
        "firstTime" = ${dialect.least(stored('firstTime'), raw('excluded."firstTime"'))},
        "lastTime" = ${dialect.greatest(stored('lastTime'), raw('excluded."lastTime"'))},
        "updatedAt" = excluded."updatedAt"`),
  );
}

/** What a trace contributes to its session. */
export interface SessionContribution {
  sessionId: string | null;
  startTime: Date;
  endTime: Date | null;
  totalTokens: number;
  cost: number;
  errorCount: number;
}

/**
 * The session deltas of a write: for each trace, `before` (null for a trace the write created) and
 * `after`. A trace joins its session once, with all it holds then; afterwards it adds its changes.
 * Deltas of traces in one session are merged: one row per session, as one upsert needs.
 */
export function sessionDeltas(changes: { before: SessionContribution | null; after: SessionContribution }[]): SessionDelta[] {
  const bySession = new Map<string, SessionDelta>();
  for (const { before, after } of changes) {
    if (!after.sessionId) continue;
    const joined = !before || before.sessionId !== after.sessionId;
    const lastTime = after.endTime ?? after.startTime;
    const delta: SessionDelta = {
      sessionId: after.sessionId,
      traceCount: joined ? 1 : 0,
      totalTokens: after.totalTokens - (joined ? 0 : before.totalTokens),
      cost: addCosts(after.cost, joined ? 0 : -before.cost),
      errorCount: Number(after.errorCount > 0) - (joined ? 0 : Number(before.errorCount > 0)),
      firstTime: after.startTime,
      lastTime,
    };
    const merged = bySession.get(after.sessionId);
    if (!merged) {
      bySession.set(after.sessionId, delta);
      continue;
    }
    merged.traceCount += delta.traceCount;
    merged.totalTokens += delta.totalTokens;
    merged.cost = addCosts(merged.cost, delta.cost);
    merged.errorCount += delta.errorCount;
    if (delta.firstTime < merged.firstTime) merged.firstTime = delta.firstTime;
    if (delta.lastTime > merged.lastTime) merged.lastTime = delta.lastTime;
  }
  // Written even when no count changed: the trace may have ended, which moves the session's last time.
  return [...bySession.values()];
}

/**
 * Sets a session's first and last times from its traces as they stand, for when a trace left the
 * session or its own times narrowed (spans deleted from it): deltas only ever widen them. One
 * statement, on the session's index of its traces; nothing for a session that is gone. Run after the
 * session's delta in the same transaction, which then holds the session's row: what it reads
 * includes every trace change committed by a writer that held the row before, and a writer after it
 * adds its delta to these times.
 */
export async function recomputeSessionTimes(tx: Tx, projectId: string, sessionId: string, now: Date): Promise<void> {
  const traces = sql`FROM "Trace" WHERE "projectId" = ${projectId} AND "sessionId" = ${sessionId}`;
  await tx.$executeRaw(sql`UPDATE "Session" SET
      "firstTime" = COALESCE((SELECT MIN("startTime") ${traces}), "firstTime"),
      "lastTime" = COALESCE((SELECT MAX(COALESCE("endTime", "startTime")) ${traces}), "lastTime"),
      "updatedAt" = ${now}
    WHERE "projectId" = ${projectId} AND "id" = ${sessionId}`);
}
