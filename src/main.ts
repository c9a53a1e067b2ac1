/** Entry point: read the settings, serve, and stop cleanly on SIGTERM or SIGINT. */
import { loadConfig } from './config.js';
import { startServer } from './server.js';
import { startFailure } from './start-failure.js';

let server: Awaited<ReturnType<typeof startServer>>;
let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
  server = await startServer(config);
} catch (error) {
  // One readable line, not a stack trace: what failed and what to check.
  console.error(`Spantree could not start: ${startFailure(error)}`);
  process.exit(1);
}
if (server.createdAccess) {
  const { key, projectId } = server.createdAccess;
  console.log(
    `First start: created an API key with every scope for project "${projectId}" (shown only this once; ${whereWritten(server.createdAccess)}):\n\n    ${key}\n\nSend it as "Authorization: Bearer <key>".`,
  );
  // Content is off by default, and a first trace with no prompt in it should not be a mystery.
  console.log(
    `Project "${projectId}" keeps metadata only: spans are stored without their input, output and instructions. ` +
      'To keep them, switch the project to FULL in the trace explorer, or run mutation { setRetentionRule(input: { mode: FULL }) { mode } } (docs/retention.md).',
  );
}
for (const notice of server.notices) console.log(notice);
console.log(`Spantree is serving GraphQL at ${server.url} (database: ${redact(config.DATABASE_URL)})`);
console.log(`Trace explorer: ${server.url.replace(/\/graphql$/, '/')}`);
if (server.loginUrl) {
  // The key travels in the fragment, which the browser never sends: the page keeps it and drops it from the address.
  console.log(`Sign in by opening ${server.loginUrl} (this browser keeps the key; the page takes it out of the address bar)`);
}

/**
 * A promise rejected with no one listening is a bug to log, not a reason to drop every client: in a
 * request's execution it can come from a field abandoned when a sibling failed or its client left
 * (graphql-js lets go of a list's pending items). Node's default would end the process, which one
 * client could then do at will. Writes are unaffected: an acknowledged write has committed already.
 */
process.on('unhandledRejection', (reason) => {
  // The executor, told that a client left, rejects the fields it had under way with the signal's
  // AbortError and takes them up a turn later: thousands of them for a large read, and expected.
  const aborted = (error: unknown) => (error as { name?: unknown } | null)?.name === 'AbortError';
  if (aborted(reason) || aborted((reason as { originalError?: unknown } | null)?.originalError)) return;
  console.error('A promise was rejected with no handler (the server goes on):', reason);
});
// Those taken up later would each print a PromiseRejectionHandledWarning; a listener stands in for it.
process.on('rejectionHandled', () => {});

/**
 * The first SIGTERM or SIGINT stops gracefully; a second one means "now". Except the same signal
 * within a second of the first: Ctrl-C under `npm start` reaches the server twice, once from the
 * terminal and once forwarded by npm, and that must not cut the graceful stop short.
 */
let stopping: { signal: NodeJS.Signals; at: number } | undefined;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) {
      if (stopping.signal === signal && Date.now() - stopping.at < 1000) return;
      process.exit(1);
    }
    stopping = { signal, at: Date.now() };
    console.log(`${signal}: finishing in-flight requests, then stopping`);
    server.stop().then(
      () => process.exit(0),
      (error) => {
        console.error('Error while stopping', error);
        process.exit(1);
      },
    );
  });
}

/** Where the first start's key was written, and what was in the way. */
function whereWritten({ file, keptFiles, replacedStale }: NonNullable<typeof server.createdAccess>): string {
  const kept = keptFiles.length ? `${keptFiles.join(' and ')} ${keptFiles.length > 1 ? 'hold' : 'holds'} another database's key and ${keptFiles.length > 1 ? 'were' : 'was'} left as ${keptFiles.length > 1 ? 'they were' : 'it was'}` : '';
  if (!file) return `written to no file: ${kept}`;
  const written = `also written to ${file}${replacedStale ? ', which held the key of an earlier database at the same place' : ''}`;
  return kept ? `${written}; ${kept}` : written;
}

function redact(url: string) {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
