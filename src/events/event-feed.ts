/**
 * Events (feedback included) on the spans of one trace, as they are recorded. A trace id with no
 * span yet is waited for, as `traceSpans` does: its events arrive once it has some.
 *
 * With `replay`, the events already stored come first, oldest first, then the live ones. The feed
 * listens before it reads, holds what arrives meanwhile, and drops those the read already had: no
 * duplicate, including an event whose publish was still on its way when the read saw it committed
 * (the ids sent are remembered for a while). No gap either: one catch-up read soon after covers an
 * event published while a Redis SUBSCRIBE was in flight, as the span feed's does. The stored events
 * go out a page at a time as the subscriber reads them, so a long history never counts as falling
 * behind.
 */
import { isTraceDeletion, traceKey } from '../pubsub.js';
import { BoundedFeed, listen, type FeedFailure, type FeedOptions } from '../subscriptions/bounded-feed.js';
import type { Scope } from '../schema/context.js';
import type { Services } from '../services.js';
import type { EventRow } from '../db/rows.js';

/** Stored events per page of a replay, at most. */
const REPLAY_PAGE = 100;
/** When a replaying feed reads once more what was recorded around its start (see above). */
const CATCH_UP_AFTER_MS = 500;
/** How far before the replay's read the catch-up looks: events are stamped before they commit, by any instance's clock. */
const CATCH_UP_MARGIN_MS = 5_000;
/** How long the ids sent are remembered, so a late publish of one of them is dropped. */
const SENT_REMEMBERED_MS = 30_000;

export async function openSpanEventFeed(
  { db, pubsub }: Pick<Services, 'db' | 'pubsub'>,
  scope: Scope,
  traceId: string,
  options: FeedOptions & { kinds?: readonly string[] | null; replay?: boolean },
): Promise<AsyncIterable<EventRow | FeedFailure>> {
  const feed = new BoundedFeed<EventRow>(options);
  const kinds = options.kinds?.length ? [...new Set(options.kinds)] : undefined;
  const wanted = kinds && new Set(kinds);
  /** Live events held while the stored ones are read and sent; undefined once they flow. */
  let held: EventRow[] | undefined = options.replay ? [] : undefined;
  /** The ids a replaying feed has sent (or will send from its read), while they are remembered. */
  let sentIds: Set<string> | undefined;
  /** Sends a live event once: never again after the read or an earlier copy had it. */
  const sendLive = (event: EventRow) => {
    if (sentIds?.has(event.id)) return;
    sentIds?.add(event.id);
    feed.push(event);
  };
  listen(pubsub, 'trace:events', traceKey(scope.projectId, traceId), feed, (event) => {
    if (isTraceDeletion(event)) return feed.deleted(`trace ${traceId}`);
    if (wanted && !wanted.has(event.kind)) return;
    if (!held) return sendLive(event);
    held.push(event);
    if (held.length > options.bufferLimit) feed.failTooSlow();
  });
  if (!options.replay) return feed;

  // Scoped to the caller's project: another project's trace of the same id has nothing here.
  const where = { projectId: scope.projectId, traceId, ...(kinds ? { kind: { in: kinds } } : {}) };
  const readStartedAt = Date.now();
  let stored: EventRow[];
  try {
    stored = await db.read.event.findMany({ where, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  } catch (error) {
    feed.end();
    throw error;
  }
  sentIds = new Set(stored.map((event) => event.id));
  const catchUp = setTimeout(() => {
    void db.read.event.findMany({ where: { ...where, createdAt: { gte: new Date(readStartedAt - CATCH_UP_MARGIN_MS) } }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] })
      .then((recent) => {
        if (feed.closed) return;
        for (const event of recent) {
          if (held) held.push(event);
          else sendLive(event);
        }
      })
      .catch(() => feed.interrupt());
  }, CATCH_UP_AFTER_MS);
  catchUp.unref();
  const forget = setTimeout(() => (sentIds = undefined), SENT_REMEMBERED_MS);
  forget.unref();
  feed.onEnd(() => {
    clearTimeout(catchUp);
    clearTimeout(forget);
  });
  feed.preloadInPages(stored, REPLAY_PAGE, () => {
    // The stored events are out: those recorded meanwhile follow (each once), then the rest as it comes.
    const live = held ?? [];
    held = undefined;
    for (const event of live) sendLive(event);
  });
  return feed;
}
