/**
 * Aborted when the server begins to stop: long-lived work (subscription streams) listens to it and
 * ends cleanly, so SSE responses complete and WebSocket subscribers get their final messages.
 */
import { setMaxListeners } from 'node:events';

export let shutdownSignal = newController();

/** A fresh signal for a server started again in the same process (tests, benchmarks). */
export function resetShutdownSignal(): void {
  shutdownSignal = newController();
}

function newController() {
  const controller = new AbortController();
  // Every live subscription listens: thousands are expected, not a leak.
  setMaxListeners(0, controller.signal);
  return controller;
}
