/**
 * Workload 0, start: how long `npm start` takes, from launch to its first answered GraphQL request,
 * on an existing database (created and migrated by an earlier start), beside `node -e` starting a bare
 * `node:http` server, launched and asked the same way, in the same run. Also `node dist/main.js`
 * without npm, for where the time goes. Runs built code (dist/), as `npm start` does: `npm run build`
 * first after changing src/. Target: npm start answers within 1 s (ratio to 1,000 ms).
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { BenchDatabase } from '../databases.js';
import { median } from '../measure.js';
import { record } from '../report.js';
import type { Sizes } from '../sizes.js';
import { SECRET_KEY } from '../secret-key.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const KEY = 'st_benchmark_start_key_0123456789';
const BARE_SERVER = `require('node:http').createServer((req, res) => res.end('{"data":{}}')).listen(Number(process.env.PORT), '127.0.0.1')`;

/** A free port on loopback. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Launches `command`, asks it `{ viewer { scopes } }` every few milliseconds until it answers 200 with
 * data, and returns the milliseconds from launch to that answer; then stops it (SIGTERM) and waits.
 */
async function timeToFirstAnswer(command: string, args: string[], env: Record<string, string>): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let gone = false;
  void exited.then(() => (gone = true));
  try {
    for (;;) {
      if (gone) throw new Error(`${command} ${args.join(' ')} exited before answering:\n${output}`);
      if (performance.now() - started > 60_000) throw new Error(`${command} ${args.join(' ')} did not answer within 60 s:\n${output}`);
      try {
        const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
          body: JSON.stringify({ query: '{ viewer { scopes } }' }),
        });
        const body = (await response.json()) as { data?: unknown };
        if (response.status === 200 && body.data) return performance.now() - started;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    if (!gone) child.kill('SIGTERM');
    await exited;
  }
}

export async function start(databases: BenchDatabase, sizes: Sizes['start']) {
  // SQLite only: the embedded default, what `npm start` runs with nothing set.
  if (databases.provider !== 'sqlite') return;
  const db = await databases.fresh('start');
  try {
    // A secret key given, so that no start writes ./data/secret-key into the checkout.
    const env = { DATABASE_URL: db.url, SPANTREE_INIT_API_KEY: KEY, RATE_LIMIT_PER_SECOND: '0', SPANTREE_SECRET_KEY: SECRET_KEY };
    // The first start creates and migrates the database: not measured.
    await timeToFirstAnswer('node', ['dist/main.js'], env);
    const sides: [string, () => Promise<number>][] = [
      ['npm start', () => timeToFirstAnswer('npm', ['start', '--silent'], env)],
      ['node dist/main.js', () => timeToFirstAnswer('node', ['dist/main.js'], env)],
      ['bare', () => timeToFirstAnswer('node', ['-e', BARE_SERVER], env)],
    ];
    const times = new Map<string, number[]>(sides.map(([name]) => [name, []]));
    for (let round = 0; round < sizes.rounds; round++) {
      for (const [name, launch] of sides) times.get(name)!.push(await launch());
    }
    const bare = median(times.get('bare')!);
    const npmStart = median(times.get('npm start')!);
    const node = median(times.get('node dist/main.js')!);
    const details = { rounds: sizes.rounds, bareMs: Math.round(bare), nodeMs: Math.round(node) };
    record({
      database: databases.provider,
      workload: 'start: npm start on an existing database, launch to first answered GraphQL request, p50',
      value: npmStart,
      unit: 'ms',
      baseline: 'the 1 s budget',
      baselineValue: 1000,
      target: { op: '<=', ratio: 1 },
      details,
    });
    record({
      database: databases.provider,
      workload: 'start: npm start, launch to first answer, p50',
      value: npmStart,
      unit: 'ms',
      baseline: '`node -e` bare node:http server, likewise',
      baselineValue: bare,
      target: null,
      details,
    });
    record({
      database: databases.provider,
      workload: 'start: node dist/main.js (without npm), launch to first answer, p50',
      value: node,
      unit: 'ms',
      baseline: '`node -e` bare node:http server, likewise',
      baselineValue: bare,
      target: null,
      details,
    });
  } finally {
    await db.drop();
  }
}
