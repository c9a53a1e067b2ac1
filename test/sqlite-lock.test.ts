/**
 * One SQLite file, one server: a second server on a file another one serves fails at once, in one
 * line that says so and what to do; a server that was killed (SIGKILL) or stopped leaves nothing that
 * blocks the next start. PostgreSQL is the database several servers share, and there two servers on
 * one database both start.
 */
import { chmodSync, closeSync, existsSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseKind, type TestDatabase } from './helpers/databases.js';
import { failedStart, post, spawnServer, type ServerProcess } from './helpers/process.js';
import { getText, originOf, startTestServerOn } from './helpers/server.js';

const servers: ServerProcess[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const server of servers) await server.kill('SIGKILL');
  for (const cleanup of cleanups) await cleanup();
});

async function start(env: Record<string, string>, cwd?: string): Promise<ServerProcess> {
  const server = await spawnServer(env, { cwd });
  servers.push(server);
  return server;
}

async function database(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  return db;
}

async function writeSpan(server: ServerProcess, id: string) {
  const reply = await post(server.url, `mutation($id: ID!) { createSpan(input: { id: $id, name: "kept" }) { id } }`, { id });
  expect(reply).toEqual({ data: { createSpan: { id } } });
}

/** Which of the spans `ids` the server finds. */
async function found(server: ServerProcess, ids: string[]): Promise<string[]> {
  const fields = ids.map((id, i) => `s${i}: span(id: ${JSON.stringify(id)}) { id }`).join(' ');
  const reply = await post(server.url, `{ ${fields} }`);
  expect(reply.errors).toBeUndefined();
  return Object.values(reply.data as Record<string, { id: string } | null>).flatMap((span) => (span ? [span.id] : []));
}

if (databaseKind === 'sqlite') {
  describe('one SQLite file, one server (sqlite)', () => {
    it('a second server on the same file fails at once, in one line naming the first server and what to do', async () => {
      // The default DATABASE_URL, relative to the folder the servers start in, as in docs/settings.md.
      const cwd = mkdtempSync(join(tmpdir(), 'spantree-lock-'));
      cleanups.push(async () => rmSync(cwd, { recursive: true, force: true }));
      const env = { DATABASE_URL: 'file:./data/spantree.db' };
      const first = await start(env, cwd);
      await writeSpan(first, 'before-second');

      const second = await failedStart(env, cwd);
      expect(second.code).toBe(1);
      expect(second.output.trim()).toBe(
        `Spantree could not start: another Spantree server (pid ${first.child.pid}) is using the SQLite file ./data/spantree.db; ` +
          'stop it, or use PostgreSQL (DATABASE_URL=postgresql://...) to run several instances',
      );

      // The refused start left the first server as it was.
      expect((await getText(`${originOf(first.url)}/health`)).status).toBe(200);
      await writeSpan(first, 'after-second');
      expect(await found(first, ['before-second', 'after-second'])).toEqual(['before-second', 'after-second']);
    });

    it('after the server is killed with SIGKILL, a new server starts on the file and finds its data', async () => {
      const db = await database();
      const first = await start({ DATABASE_URL: db.url });
      await writeSpan(first, 'written-before-kill');
      expect(await first.kill('SIGKILL')).toBeNull(); // no exit code: killed, no clean-up ran

      const next = await start({ DATABASE_URL: db.url });
      expect(await found(next, ['written-before-kill'])).toEqual(['written-before-kill']);
      // And it holds the file in turn.
      const refused = await failedStart({ DATABASE_URL: db.url });
      expect(refused.code).toBe(1);
      expect(refused.output).toContain(`another Spantree server (pid ${next.child.pid}) is using the SQLite file`);
      expect(await next.kill('SIGTERM')).toBe(0);
    });

    it('a new database, its -wal, -shm and .lock files are created owner-only (0600): they hold prompts', async () => {
      const db = await database();
      const file = db.url.replace(/^file:/, '');
      const server = await startTestServerOn(db.url);
      try {
        const written = await server.gql(`mutation { createSpan(input: { id: "private", name: "kept", input: { prompt: "secret" } }) { id } }`);
        expect(written.createSpan.id).toBe('private');
        // The -wal and -shm files exist while the server runs (WAL mode), made by SQLite after the open.
        const modes = Object.fromEntries(['', '-wal', '-shm', '.lock'].map((suffix) => [suffix || 'db', statSync(`${file}${suffix}`).mode & 0o777]));
        expect(modes).toEqual({ db: 0o600, '-wal': 0o600, '-shm': 0o600, '.lock': 0o600 });
      } finally {
        await server.stop();
      }
    });

    it('an existing database file open to group or others (made before this fix) is narrowed to its owner', async () => {
      const db = await database();
      const file = db.url.replace(/^file:/, '');
      for (const made of [file, `${file}.lock`]) {
        closeSync(openSync(made, 'a'));
        chmodSync(made, 0o644);
      }
      const server = await startTestServerOn(db.url);
      try {
        await server.gql(`mutation { createSpan(input: { id: "private", name: "kept" }) { id } }`);
        expect(statSync(file).mode & 0o777).toBe(0o600);
        expect(statSync(`${file}.lock`).mode & 0o777).toBe(0o600);
        expect(existsSync(`${file}-wal`) && statSync(`${file}-wal`).mode & 0o777).toBe(0o600);
      } finally {
        await server.stop();
      }
    });

    it('after a clean stop, a new server starts on the file and finds its data', async () => {
      const db = await database();
      const first = await start({ DATABASE_URL: db.url });
      await writeSpan(first, 'written-before-stop');
      expect(await first.kill('SIGTERM')).toBe(0);

      const next = await start({ DATABASE_URL: db.url });
      expect(await found(next, ['written-before-stop'])).toEqual(['written-before-stop']);
      expect(await next.kill('SIGTERM')).toBe(0);
    });
  });
} else {
  describe('several servers on one PostgreSQL database (postgresql)', () => {
    it('a second server on the same database starts beside the first, and both serve the same data', async () => {
      const db = await database();
      const first = await start({ DATABASE_URL: db.url });
      const second = await start({ DATABASE_URL: db.url });
      await writeSpan(first, 'via-first');
      await writeSpan(second, 'via-second');
      expect(await found(first, ['via-first', 'via-second'])).toEqual(['via-first', 'via-second']);
      expect(await found(second, ['via-first', 'via-second'])).toEqual(['via-first', 'via-second']);
    });

    it('after one is killed with SIGKILL, the other serves on and a new one starts', async () => {
      const db = await database();
      const first = await start({ DATABASE_URL: db.url });
      const second = await start({ DATABASE_URL: db.url });
      await writeSpan(first, 'written-before-kill');
      expect(await first.kill('SIGKILL')).toBeNull();

      expect(await found(second, ['written-before-kill'])).toEqual(['written-before-kill']);
      const next = await start({ DATABASE_URL: db.url });
      expect(await found(next, ['written-before-kill'])).toEqual(['written-before-kill']);
      expect(await next.kill('SIGTERM')).toBe(0);
      expect(await second.kill('SIGTERM')).toBe(0);
    });
  });
}
