/**
 * Trace start times, for where a span starts within its trace (Span.startOffsetMs). Each trace's is
 * read at most once per execution: taken from the trace rows the execution loaded anyway, else read
 * in one statement for every trace asked about, however many spans and tree levels ask.
 */
import DataLoader from 'dataloader';
import type { GraphQLResolveInfo } from 'graphql';
import type { Context } from '../schema/context.js';
import { executionLoader } from '../schema/loaders.js';

export interface TraceStarts {
  /** Takes a trace row's start time, when the row has it, so that no statement reads it again. */
  remember(trace: { id: string; startTime?: unknown }): void;
  /** The start time of a trace: at once when known, else batched with the others asked for in this tick. */
  of(traceId: string): Date | Promise<Date>;
}

/** The trace start times of the execution `info` belongs to. */
export function traceStarts(ctx: Context, info: GraphQLResolveInfo): TraceStarts {
  return executionLoader(ctx, info, 'traceStarts', () => {
    const known = new Map<string, Date>();
    const loader = new DataLoader<string, Date>(async (traceIds) => {
      const rows = await ctx.services.db.read.trace.findMany({
        where: { projectId: ctx.scope.projectId, id: { in: [...traceIds] } },
        select: { id: true, startTime: true },
      });
      for (const row of rows) known.set(row.id, row.startTime);
      return traceIds.map((traceId) => known.get(traceId) ?? new Error(`trace ${traceId} not found while its spans were read`));
    });
    return {
      remember(trace) {
        if (trace.startTime instanceof Date && !known.has(trace.id)) known.set(trace.id, trace.startTime);
      },
      of: (traceId) => known.get(traceId) ?? loader.load(traceId),
    };
  });
}
