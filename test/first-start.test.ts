/**
 * The first run stays one command: with nothing set, start-up creates a key, prints it once and writes
 * it to ./data/admin-key (0600), saying which database it is for; anonymous requests are refused;
 * on loopback each start prints a login link with that key in its fragment, and no page carries it.
 * With SPANTREE_INIT_API_KEY, that exact key. A start that
 * fails changes nothing on disk, and a key file is never replaced by another database's key. All as
 * `npm start` runs, in a folder of their own.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { failedStart, spawnServer, type ServerProcess } from './helpers/process.js';
import { eventually } from './helpers/wait.js';
import { createTestDatabase, databaseKind, type TestDatabase } from './helpers/databases.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A fresh folder to run in, and the database this run of the suite is for. */
async function freshSetup(): Promise<{ dir: string; env: Record<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'spantree-first-start-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const env: Record<string, string> = { SPANTREE_INIT_API_KEY: '', SPANTREE_ADMIN_KEY_FILE: './data/admin-key' };
  if (databaseKind === 'postgresql') {
    const db: TestDatabase = await createTestDatabase();
    cleanups.push(() => db.drop());
    env.DATABASE_URL = db.url;
  } else {
    delete env.DATABASE_URL; // the default, ./data/spantree.db in that folder
  }
  return { dir, env };
}

async function start(env: Record<string, string>, cwd: string): Promise<ServerProcess> {
  const server = await spawnServer(env, { retention: 'METADATA_ONLY', cwd });
  cleanups.push(() => void server.kill());
  return server;
}

/** The login link a start printed (`Sign in by opening http://127.0.0.1:<port>/#key=...`), once it has. */
async function loginLink(server: ServerProcess): Promise<string> {
  await eventually(async () => /Sign in by opening \S+/.test(server.output()), 'the login link in the start-up output');
  return /Sign in by opening (\S+)/.exec(server.output())![1]!;
}

/** The web UI's page and GraphiQL's, as a browser on this machine gets them. */
async function pages(server: ServerProcess): Promise<string> {
  const origin = new URL(server.url).origin;
  const explorer = await (await fetch(`${origin}/`, { headers: { accept: 'text/html' } })).text();
  const graphiql = await (await fetch(server.url, { headers: { accept: 'text/html' } })).text();
  expect(explorer).toContain('<div id="app">');
  expect(graphiql).toContain('graphiql-options');
  return explorer + graphiql;
}

async function ask(url: string, key: string | undefined, query: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, body: await response.json() };
}

describe('a first start with nothing set', () => {
  it('creates an all-scope key, prints it once, writes it to ./data/admin-key (0600), and refuses anonymous requests', async () => {
    const { dir, env } = await freshSetup();
    const first = await start(env, dir);
    const printed = /First start: created an API key[\s\S]*?\n\n\s+(st_[A-Za-z0-9_-]{32})\n/.exec(first.output())?.[1];
    expect(printed, first.output()).toBeDefined();
    const file = join(dir, 'data', 'admin-key');
    // The key on the first line (`head -n1`), then which database it is for.
    const written = readFileSync(file, 'utf8');
    expect(written.split('\n')[0]).toBe(printed);
    expect(written).toContain(`# Spantree API key (every scope, project "default") for the database ${databaseOf(env, dir)}\n`);
    expect(first.output()).toContain('also written to ./data/admin-key)');
    // Content is off by default, and the first start says so, and how to turn it on.
    expect(first.output()).toMatch(/Project "default" keeps metadata only: spans are stored without their input, output and instructions\. To keep them/);
    expect(first.output()).toContain('setRetentionRule(input: { mode: FULL })');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    if (databaseKind === 'sqlite') expect(existsSync(join(dir, 'data', 'spantree.db'))).toBe(true);

    const anonymous = await ask(first.url, undefined, '{ traces { totalCount } }');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const viewer = await ask(first.url, printed, '{ viewer { scopes project { id effectiveRetention { mode } } } }');
    expect(viewer.body.data.viewer).toEqual({ scopes: ['INGEST', 'READ', 'ADMIN', 'PLAYGROUND'], project: { id: 'default', effectiveRetention: { mode: 'METADATA_ONLY' } } });

    // The login link opens the web UI with that key, in the fragment: no page carries it.
    expect(await loginLink(first)).toBe(`${new URL(first.url).origin}/#key=${printed}`);
    expect(await pages(first)).not.toContain(printed!);

    // The next start creates nothing new and prints the key only in its login link.
    await first.kill();
    const second = await start(env, dir);
    expect(await loginLink(second)).toBe(`${new URL(second.url).origin}/#key=${printed}`);
    expect(second.output()).not.toMatch(/First start|keeps metadata only/);
    expect(second.output().split(printed!)).toHaveLength(2);
    expect(readFileSync(file, 'utf8')).toBe(written);
    expect((await ask(second.url, printed, '{ apiKeys { name } }')).body.data.apiKeys).toEqual([{ name: 'first start' }]);
    await second.kill();
  });
});

describe('SPANTREE_INIT_API_KEY', () => {
  it('creates that exact key for SPANTREE_INIT_PROJECT if missing, and nothing else', async () => {
    const { dir, env } = await freshSetup();
    const key = 'ci-secret-key-0123456789';
    const setup = { ...env, SPANTREE_INIT_API_KEY: key, SPANTREE_INIT_PROJECT: 'acme' };
    const first = await start(setup, dir);
    expect(first.output()).not.toMatch(/First start|ci-secret|Sign in by opening/);
    expect(await pages(first)).not.toContain(key);
    expect(existsSync(join(dir, 'data', 'admin-key'))).toBe(false);
    expect((await ask(first.url, undefined, '{ viewer { scopes } }')).status).toBe(401);
    const viewer = await ask(first.url, key, '{ viewer { scopes project { id name } } apiKeys { name prefix } }');
    expect(viewer.body.data.viewer).toEqual({ scopes: ['INGEST', 'READ', 'ADMIN', 'PLAYGROUND'], project: { id: 'acme', name: 'acme' } });
    expect(viewer.body.data.apiKeys).toEqual([{ name: 'SPANTREE_INIT_API_KEY', prefix: 'ci-secre' }]);
    await first.kill();
    // Again: the key exists, so nothing is added.
    const second = await start(setup, dir);
    expect((await ask(second.url, key, '{ apiKeys { name } }')).body.data.apiKeys).toHaveLength(1);
    await second.kill();
  });

  it('refuses a key too short to be a secret, in one readable line', async () => {
    const { failedStart } = await import('./helpers/process.js');
    const { code, output } = await failedStart({ SPANTREE_INIT_API_KEY: 'short' });
    expect(code).toBe(1);
    expect(output.trim()).toBe(
      'Spantree could not start: Invalid configuration: SPANTREE_INIT_API_KEY: must be 16 to 256 printable ASCII characters without spaces',
    );
  });
});

/** The database a setup's server uses, as a key file names it. */
function databaseOf(env: Record<string, string>, dir: string): string {
  if (env.DATABASE_URL) {
    const url = new URL(env.DATABASE_URL);
    return `postgresql://${url.hostname}:${url.port || 5432}${url.pathname}`;
  }
  return `file:${join(dir, 'data', 'spantree.db')}`;
}

/** Every file under `dir`, with its mode and a digest of its content: what a start may not change when it fails. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        files[`${relative(dir, path)}/`] = 'folder';
        walk(path);
      } else {
        const content = createHash('sha256').update(readFileSync(path)).digest('hex');
        files[relative(dir, path)] = `${(statSync(path).mode & 0o777).toString(8)} ${content}`;
      }
    }
  };
  walk(dir);
  return files;
}

/** A port another process holds, until `release` is called. */
async function takenPort(): Promise<{ port: number; release(): Promise<void> }> {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const { port } = holder.address() as { port: number };
  return { port, release: () => new Promise((resolve) => holder.close(() => resolve())) };
}

describe('a start that fails', () => {
  /** A folder where a first start has run (a database and its key file), and one where nothing has. */
  async function folders() {
    const used = await freshSetup();
    const server = await start(used.env, used.dir);
    await server.kill();
    const empty = await freshSetup();
    return { used, empty };
  }

  const failures: [string, (port: number) => Record<string, string>, RegExp][] = [
    ['the port is in use', (port) => ({ PORT: String(port) }), /the port is already in use at 127\.0\.0\.1:\d+; set PORT to another one/],
    ['Redis is unreachable', () => ({ REDIS_URL: 'redis://127.0.0.1:1' }), /Redis \(REDIS_URL\) is unreachable/],
    ['a setting is wrong', () => ({ MAX_BATCH_SPANS: 'many' }), /Invalid configuration: MAX_BATCH_SPANS/],
  ];
  for (const [what, settings, says] of failures) {
    it(`changes nothing on disk when ${what}: no database is created or migrated, no key file written`, async () => {
      const { used, empty } = await folders();
      const taken = await takenPort();
      try {
        for (const [dir, env] of [
          [empty.dir, empty.env],
          [used.dir, used.env],
          // Another database in a folder that has one: the first database's key file stays as it is.
          [used.dir, { ...used.env, DATABASE_URL: 'file:./data/other.db' }],
        ] as const) {
          const before = snapshot(dir);
          const { code, output } = await failedStart({ ...env, ...settings(taken.port) }, dir);
          expect(code, output).toBe(1);
          expect(output).toMatch(says);
          expect(output).not.toMatch(/st_[A-Za-z0-9_-]{32}|First start/);
          expect(snapshot(dir)).toEqual(before);
        }
      } finally {
        await taken.release();
      }
    }, 300_000);
  }

  it('changes nothing on disk when the database is unreachable', async () => {
    const { used } = await folders();
    const before = snapshot(used.dir);
    const { code, output } = await failedStart({ ...used.env, DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/spantree' }, used.dir);
    expect(code).toBe(1);
    expect(output).toMatch(/the database \(DATABASE_URL\) is unreachable/);
    expect(snapshot(used.dir)).toEqual(before);
  }, 300_000);
});

describe('two databases side by side', () => {
  it("each keep their own key file, and each server's login link carries only the key of its own database", async () => {
    const { dir, env } = await freshSetup();
    const keyIn = (output: string) => /\n\n\s+(st_[A-Za-z0-9_-]{32})\n/.exec(output)?.[1];

    const first = await start(env, dir);
    const firstKey = keyIn(first.output())!;
    const firstFile = readFileSync(join(dir, 'data', 'admin-key'), 'utf8');
    await first.kill();

    // A second database in the same folder, with the same key file setting.
    const otherEnv = { ...env, DATABASE_URL: 'file:./data/other.db' };
    const other = await start(otherEnv, dir);
    const otherKey = keyIn(other.output())!;
    expect(otherKey).toBeDefined();
    expect(otherKey).not.toBe(firstKey);
    expect(other.output()).toContain(
      "also written to ./data/admin-key-other; ./data/admin-key holds another database's key and was left as it was",
    );
    expect(readFileSync(join(dir, 'data', 'admin-key'), 'utf8')).toBe(firstFile);
    const otherFile = readFileSync(join(dir, 'data', 'admin-key-other'), 'utf8');
    expect(otherFile.split('\n')[0]).toBe(otherKey);
    expect(otherFile).toContain(`for the database file:${join(dir, 'data', 'other.db')}\n`);
    expect(statSync(join(dir, 'data', 'admin-key-other')).mode & 0o777).toBe(0o600);
    expect(await loginLink(other)).toBe(`${new URL(other.url).origin}/#key=${otherKey}`);
    expect(other.output()).not.toContain(firstKey);
    expect(await pages(other)).not.toMatch(/st_[A-Za-z0-9_-]{32}/);
    await other.kill();

    // Back on the first database: its own key, still in its file, still the one its link carries.
    const again = await start(env, dir);
    expect(again.output()).not.toMatch(/First start/);
    expect(await loginLink(again)).toBe(`${new URL(again.url).origin}/#key=${firstKey}`);
    expect(again.output()).not.toContain(otherKey);
    await again.kill();
  }, 300_000);
});
