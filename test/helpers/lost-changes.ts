/** Losing span changes on their way to subscribers, as a Redis blip or a crashed instance would. */
import type { TestServer } from './server.js';

/**
 * Drops the span changes of one trace that `lose` picks on their way to subscribers (the test
 * server's pub/sub); returns the function that restores publishing.
 */
export function losing(server: TestServer, traceId: string, lose: (seq: number) => boolean): () => void {
  const channel = server.services.pubsub;
  const publish = channel.publish.bind(channel);
  (channel as { publish: typeof publish }).publish = ((topic: string, ...args: [string, any]) => {
    if (topic === 'trace:spans' && args[1]?.span?.traceId === traceId && lose(args[1].span.seq)) return;
    return (publish as (...all: unknown[]) => void)(topic, ...args);
  }) as typeof publish;
  // The patch is an own property over the class method: deleting it restores the method.
  return () => void delete (channel as { publish?: typeof publish }).publish;
}
