/** Losing span changes on their way to subscribers, as a Redis blip or a crashed instance would. */
import { pubsub } from '../../src/pubsub.js';

/**
 * Drops the span changes of one trace that `lose` picks on their way to subscribers (this process's
 * pubsub); returns the function that restores publishing.
 */
export function losing(traceId: string, lose: (seq: number) => boolean): () => void {
  const channel = pubsub();
  const publish = channel.publish.bind(channel);
  (channel as { publish: typeof publish }).publish = ((topic: string, ...args: [string, any]) => {
    if (topic === 'trace:spans' && args[1]?.span?.traceId === traceId && lose(args[1].span.seq)) return;
    return (publish as (...all: unknown[]) => void)(topic, ...args);
  }) as typeof publish;
  return () => ((channel as { publish: typeof publish }).publish = publish);
}
