/**
 * The first run stays one command: with nothing set, start-up creates a key, prints it once and writes
 * it to ./data/admin-key (0600); anonymous requests are refused; GraphiQL on loopback comes with the
 * key. With SPANTREE_INIT_API_KEY, that exact key. Both as `npm start` runs, in a folder of their own.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnServer, type ServerProcess } from './helpers/process.js';
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
    expect(readFileSync(file, 'utf8')).toBe(`${printed}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    if (databaseKind === 'sqlite') expect(existsSync(join(dir, 'data', 'spantree.db'))).toBe(true);

    const anonymous = await ask(first.url, undefined, '{ traces { totalCount } }');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const viewer = await ask(first.url, printed, '{ viewer { scopes project { id effectiveRetention { mode } } } }');
    expect(viewer.body.data.viewer).toEqual({ scopes: ['INGEST', 'READ', 'ADMIN'], project: { id: 'default', effectiveRetention: { mode: 'METADATA_ONLY' } } });

    // GraphiQL, served on loopback, opens with the key in its headers pane.
    const page = await (await fetch(first.url, { headers: { accept: 'text/html' } })).text();
    expect(page).toContain(`Bearer ${printed}`);

    // The next start creates nothing new and prints no key.
    await first.kill();
    const second = await start(env, dir);
    expect(second.output()).not.toMatch(/First start|st_[A-Za-z0-9_-]{32}/);
    expect(readFileSync(file, 'utf8')).toBe(`${printed}\n`);
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
    expect(first.output()).not.toMatch(/First start|ci-secret/);
    expect(existsSync(join(dir, 'data', 'admin-key'))).toBe(false);
    expect((await ask(first.url, undefined, '{ viewer { scopes } }')).status).toBe(401);
    const viewer = await ask(first.url, key, '{ viewer { scopes project { id name } } apiKeys { name prefix } }');
    expect(viewer.body.data.viewer).toEqual({ scopes: ['INGEST', 'READ', 'ADMIN'], project: { id: 'acme', name: 'acme' } });
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
