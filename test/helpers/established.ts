/**
 * Knowing that a subscription has started on the server, for tests of what it receives from a write
 * made afterwards (a subscription without replay is sent what happens after it started). The test
 * servers run in this process: a subscription's own read of its trace, or its pub/sub listener,
 * shows that it has started. Never a fixed sleep.
 */
import type { Subscription } from './clients.js';
import type { TestServer } from './server.js';
import { eventually } from './wait.js';

/**
 * Opens a subscription and waits until the server has run a statement about `traceId` whose SQL
 * matches `read` (e.g. /spanSeq/: traceSpans read where the trace's changes start), or, with
 * `read` 'listener', until one more pub/sub listener is registered (spanEvents without replay reads
 * nothing). 'listener' counts every listener of the server: call it when no other subscription is
 * starting or ending (see `untilListenersSettle`).
 */
export async function established(server: TestServer, open: () => Subscription, traceId: string, read: RegExp | 'listener'): Promise<Subscription> {
  const listenerCount = () => server.services.pubsub.followerCount;
  const listenersBefore = listenerCount();
  let seen = false;
  const stop = server.onQuery((sql, params) => {
    if (read !== 'listener' && read.test(sql) && params.includes(traceId)) seen = true;
  });
  try {
    const subscription = open();
    // A subscription that ended is not waiting for anything: the caller sees how it ended, rather than a timeout.
    let ended = false;
    void subscription.ended.then(() => (ended = true));
    await eventually(
      async () => ended || (read === 'listener' ? listenerCount() > listenersBefore : seen),
      `the subscription to ${traceId} to start`,
    );
    return subscription;
  } finally {
    stop();
  }
}

/** Waits until the pub/sub listeners are back to `count` (subscriptions stopped earlier have let go of theirs). */
export async function untilListenersSettle(server: TestServer, count: number): Promise<void> {
  await eventually(async () => server.services.pubsub.followerCount === count, `the pub/sub listeners to settle at ${count}`);
}
