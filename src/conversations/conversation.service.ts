/** The conversation of a trace, rebuilt from its generation spans as stored (see conversation.ts). */
import type { Database } from '../db/database.js';
import type { Scope } from '../schema/context.js';
import { conversationOf, type Conversation, type ConversationSpan } from './conversation.js';

/**
 * The trace's conversation; with `upToSpanId`, up to and including that span ("run from here").
 * One read: the trace's generation spans (and the span named, whatever its type), in start order.
 */
export async function traceConversation(db: Database, scope: Scope, traceId: string, upToSpanId?: string): Promise<Conversation> {
  const spans = await db.read.span.findMany({
    where: {
      projectId: scope.projectId,
      traceId,
      OR: [{ type: 'GENERATION' }, ...(upToSpanId ? [{ id: upToSpanId }] : [])],
    },
    select: { id: true, parentId: true, type: true, name: true, startTime: true, model: true, input: true, output: true, instructions: true, meta: true, retained: true },
    orderBy: [{ startTime: 'asc' }, { id: 'asc' }],
  });
  return conversationOf(spans as ConversationSpan[], upToSpanId);
}
