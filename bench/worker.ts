/**
 * A worker process's side of the benchmark's IPC (its parent starts it with `startWorker` in
 * bench/live/processes.ts): each message `{ id, command, args }` runs that command and is answered
 * with `{ id, result }` or `{ id, error }`; the worker exits when its parent goes.
 */
export function serveCommands(commands: Record<string, (args: any) => unknown>): void {
  process.on('message', async (message: { id: number; command: string; args: unknown }) => {
    try {
      const result = await commands[message.command]!(message.args);
      process.send!({ id: message.id, result });
    } catch (error) {
      process.send!({ id: message.id, error: String((error as Error)?.stack ?? error) });
    }
  });
  process.on('disconnect', () => process.exit(0));
}
