/**
 * A session's rollups (trace count, first and last time, tokens, cost, failed traces), kept by the
 * deltas of its traces: each write adds what its traces contribute now and takes away what they
 * contributed before, so the cost of a write does not depend on the size of the session. Pure.
 */
import { addCosts } from '../costs/money.js';
import type { SessionDelta } from '../ingest/statements.js';

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
