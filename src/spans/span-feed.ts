/**
 * A live view of one trace: every span change, in the order the changes were committed.
 *
 * Each change carries its trace-wide number (`seq`, assigned under the trace's row lock, so numbers
 * follow commit order). A subscriber delivers change n+1 only after n. A change that has not arrived
 * in GAP_WAIT_MS (reordered or lost between instances) is filled in from the database: the spans whose
 * last change is past what was delivered are exactly the state the missing changes led to.
 *
 * With `replay`, the spans already stored come first, as CREATED in start order, read in one
 * statement; the listener is registered before that read, and changes numbered up to the snapshot
 * are skipped, so there is no gap and no duplicate between the two.
 */
import { database } from '../db/database.js';
import { NotFound } from '../errors.js';
import { isTraceDeletion, subscribe, traceKey, type SpanChangeMessage } from '../pubsub.js';
import { BoundedFeed, listen, type FeedFailure, type FeedOptions } from '../subscriptions/bounded-feed.js';
import type { Scope, SpanRow } from './span.service.js';

export interface SpanChangeEvent {
  op: 'CREATED' | 'UPDATED';
  span: SpanRow;
  seq: number;
  /** Sent from the stored snapshot of a replay, rather than as a live change. */
  replayed: boolean;
}

/** How long an out-of-order change waits for the ones before it before the database fills the gap. */
const GAP_WAIT_MS = 150;
/** One catch-up read soon after subscribing covers changes published while a Redis SUBSCRIBE was in flight. */
const CATCH_UP_AFTER_MS = 500;

export async function openTraceSpanFeed(
  scope: Scope,
  traceId: string,
  options: FeedOptions & { replay: boolean },
): Promise<AsyncIterable<SpanChangeEvent | FeedFailure>> {
  const { projectId } = scope;
  const { read } = database();
  const feed = new BoundedFeed<SpanChangeEvent>(options);
  const pending = new Map<number, SpanChangeMessage>();
  let delivered: number | undefined; // highest seq delivered; undefined until the baseline is read
  let baseline = 0;
  const seenSince = new Set<string>(); // spans created after the baseline that this subscriber has seen
  let filling = false;
  let gapTimer: NodeJS.Timeout | undefined;

  const deliver = (span: SpanRow) => {
    // A span the subscriber has not seen yet arrives as CREATED, whatever became of it since.
    const isNew = span.createdSeq > baseline && !seenSince.has(span.id);
    if (span.createdSeq > baseline) seenSince.add(span.id);
    feed.push({ op: isNew ? 'CREATED' : 'UPDATED', span, seq: span.seq, replayed: false });
    delivered = Math.max(delivered ?? 0, span.seq);
  };

  const drain = () => {
    if (delivered === undefined || filling || feed.closed) return;
    for (const seq of pending.keys()) if (seq <= delivered) pending.delete(seq);
    while (pending.has(delivered + 1)) {
      const message = pending.get(delivered + 1)!;
      pending.delete(delivered + 1);
      deliver(message.span);
    }
    if (pending.size === 0) {
      clearTimeout(gapTimer);
      gapTimer = undefined;
    } else if (pending.size > options.bufferLimit) {
      void fill(); // a long gap: no need to wait, and no need to hold more
    } else {
      // Timed from when the gap opened, not from the latest arrival: busy traces must not postpone it.
      gapTimer ??= setTimeout(() => {
        gapTimer = undefined;
        void fill();
      }, GAP_WAIT_MS);
    }
  };

  const fill = async () => {
    if (filling || feed.closed || delivered === undefined) return;
    filling = true;
    try {
      const rows = await read.span.findMany({
        where: { projectId, traceId, seq: { gt: delivered } },
        orderBy: { seq: 'asc' },
      });
      for (const row of rows) deliver(row);
    } catch {
      feed.interrupt();
    } finally {
      filling = false;
    }
    drain();
  };

  listen(subscribe('trace:spans', traceKey(projectId, traceId)), feed, (message) => {
    if (isTraceDeletion(message)) return feed.deleted(`trace ${traceId}`);
    if (delivered !== undefined && message.span.seq <= delivered) return;
    pending.set(message.span.seq, message);
    drain();
  });
  feed.onEnd(() => clearTimeout(gapTimer));

  try {
    const trace = await read.trace.findUnique({
      where: { projectId_id: { projectId, id: traceId } },
      select: { spanSeq: true },
    });
    if (!trace) throw new NotFound(`trace ${traceId} not found`, { traceId });
    if (options.replay) {
      // One statement: a consistent snapshot, whose highest seq is the last change it reflects.
      const stored = await read.span.findMany({ where: { projectId, traceId }, orderBy: [{ startTime: 'asc' }, { id: 'asc' }] });
      baseline = stored.reduce((max, span) => Math.max(max, span.seq), 0);
      feed.preload(stored.map((span) => ({ op: 'CREATED' as const, span, seq: span.seq, replayed: true })));
    } else {
      baseline = trace.spanSeq;
    }
    delivered = baseline;
  } catch (error) {
    feed.end();
    throw error;
  }
  drain();
  const catchUp = setTimeout(() => void fill(), CATCH_UP_AFTER_MS);
  feed.onEnd(() => clearTimeout(catchUp));
  return feed;
}
