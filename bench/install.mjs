// Installs what only the benchmark needs (bench/package.json, locked by bench/package-lock.json) the
// first time `npm run bench` runs, so the project's own `npm install` stays without it.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bench = fileURLToPath(new URL('.', import.meta.url));
if (!existsSync(new URL('node_modules/postgraphile/package.json', import.meta.url))) {
  console.log("Installing the benchmark's own dependencies (bench/package.json: PostGraphile, the peer it measures against)");
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: bench, stdio: 'inherit' });
}
