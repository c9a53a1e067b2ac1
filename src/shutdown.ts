/**
 * Aborted when the server begins to stop: long-lived work (subscription streams) listens to it and
 * ends cleanly, so SSE responses complete and WebSocket subscribers get their final messages.
 */
export let shutdownSignal = new AbortController();

/** A fresh signal for a server started again in the same process (tests). */
export function resetShutdownSignal(): void {
  shutdownSignal = new AbortController();
}
