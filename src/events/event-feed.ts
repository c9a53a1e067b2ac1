/**
 * Events (feedback included) on the spans of one trace, as they are recorded. A trace id with no
 * span yet is waited for, as `traceSpans` does: its events arrive once it has some.
 *
 * With `replay`, the events already stored come first, oldest first, then the live ones. The feed
 * listens before it reads, holds what arrives meanwhile, and drops from the held events those the
 * read already had: no gap and no duplicate. The stored events go out a page at a time as the
 * subscriber reads them, so a long history never counts as falling behind.
 */
import { database } from '../db/database.js';
import { isTraceDeletion, traceKey } from '../pubsub.js';
import { BoundedFeed, listen, type FeedFailure, type FeedOptions } from '../subscriptions/bounded-feed.js';
import type { Scope } from '../spans/span.service.js';
import type { EventRow } from './event.service.js';

/** Stored events per page of a replay, at most. */
const REPLAY_PAGE = 100;

export async function openSpanEventFeed(
  scope: Scope,
  traceId: string,
  options: FeedOptions & { kinds?: readonly string[] | null; replay?: boolean },
): Promise<AsyncIterable<EventRow | FeedFailure>> {
  const feed = new BoundedFeed<EventRow>(options);
  const kinds = options.kinds?.length ? [...new Set(options.kinds)] : undefined;
  const wanted = kinds && new Set(kinds);
  /** Live events held while the stored ones are read and sent; undefined once they flow. */
  let held: EventRow[] | undefined = options.replay ? [] : undefined;
  listen('trace:events', traceKey(scope.projectId, traceId), feed, (event) => {
    if (isTraceDeletion(event)) return feed.deleted(`trace ${traceId}`);
    if (wanted && !wanted.has(event.kind)) return;
    if (!held) return feed.push(event);
    held.push(event);
    if (held.length > options.bufferLimit) feed.failTooSlow();
  });
  if (!options.replay) return feed;

  let stored: EventRow[];
  try {
    // Scoped to the caller's project: another project's trace of the same id has nothing here.
    stored = await database().read.event.findMany({
      where: { projectId: scope.projectId, traceId, ...(kinds ? { kind: { in: kinds } } : {}) },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
  } catch (error) {
    feed.end();
    throw error;
  }
  const replayed = new Set(stored.map((event) => event.id));
  const pageSize = Math.max(1, Math.min(REPLAY_PAGE, Math.floor(options.bufferLimit * 0.8)));
  let sent = 0;
  const sendPage = () => {
    if (feed.closed || !held) return;
    feed.preload(stored.slice(sent, sent + pageSize));
    sent += pageSize;
    if (sent < stored.length) return;
    // The stored events are out: those recorded meanwhile follow (each once), then the rest as it comes.
    feed.whenLow(0, undefined);
    stored = [];
    const live = held.filter((event) => !replayed.has(event.id));
    held = undefined;
    replayed.clear();
    for (const event of live) feed.push(event);
  };
  feed.whenLow(options.bufferLimit - pageSize, sendPage);
  sendPage();
  return feed;
}
