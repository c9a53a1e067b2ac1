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
  console.log(
    `First start: created an API key with every scope for project "default" (shown only this once; also written to ${server.createdAccess.file}):\n\n    ${server.createdAccess.key}\n\nSend it as "Authorization: Bearer <key>".`,
  );
}
console.log(`Spantree is serving GraphQL at ${server.url} (database: ${redact(config.DATABASE_URL)})`);
console.log(`Trace explorer: ${server.url.replace(/\/graphql$/, '/')}`);

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

function redact(url: string) {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
