/** Entry point: read the settings, serve, and stop cleanly on SIGTERM or SIGINT. */
import { loadConfig } from './config.js';
import { startServer } from './server.js';

const config = loadConfig();
const server = await startServer(config);
console.log(`Spantree is serving GraphQL at ${server.url} (database: ${redact(config.DATABASE_URL)})`);

let signals = 0;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (++signals > 1) process.exit(1); // a second signal means "now"
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
