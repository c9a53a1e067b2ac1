/** Events (feedback included) on the spans of one trace, as they are recorded. */
import { database } from '../db/database.js';
import { NotFound } from '../errors.js';
import { isTraceDeletion, traceKey } from '../pubsub.js';
import { BoundedFeed, listen, type FeedFailure, type FeedOptions } from '../subscriptions/bounded-feed.js';
import type { Scope } from '../spans/span.service.js';
import type { EventRow } from './event.service.js';

export async function openSpanEventFeed(
  scope: Scope,
  traceId: string,
  options: FeedOptions & { kinds?: readonly string[] | null },
): Promise<AsyncIterable<EventRow | FeedFailure>> {
  const trace = await database().read.trace.findUnique({
    where: { projectId_id: { projectId: scope.projectId, id: traceId } },
    select: { id: true },
  });
  if (!trace) throw new NotFound(`trace ${traceId} not found`, { traceId });
  const feed = new BoundedFeed<EventRow>(options);
  const kinds = options.kinds?.length ? new Set(options.kinds) : undefined;
  listen('trace:events', traceKey(scope.projectId, traceId), feed, (event) => {
    if (isTraceDeletion(event)) return feed.deleted(`trace ${traceId}`);
    if (!kinds || kinds.has(event.kind)) feed.push(event);
  });
  return feed;
}
