/**
 * docs/deployment.md's backups, run as written: a SQLite backup taken while writers write holds every
 * span acknowledged before it began and restores into a working server; PostgreSQL's pg_dump and
 * pg_restore, likewise.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Sqlite from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseKind, postgresServerUrl } from './helpers/databases.js';
import { startTestServerOn, useTestServer } from './helpers/server.js';
import { withDatabase } from '../src/db/database-url.js';
import { CREATE_SPAN, uid } from './helpers/operations.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const page = readFileSync(new URL('../docs/deployment.md', import.meta.url), 'utf8');
const server = useTestServer();
const scratch = mkdtempSync(join(tmpdir(), 'spantree-backup-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The page's shell block that holds `marker`. */
function shellBlock(marker: string): string {
  const block = [...page.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]!).find((text) => text.includes(marker));
  if (!block) throw new Error(`docs/deployment.md has no sh block with ${marker}`);
  return block;
}

const bash = (script: string, env: Record<string, string> = {}) =>
  promisify(execFile)('bash', ['-euo', 'pipefail', '-c', script], { cwd: root, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 });

/** Writes spans until stopped; returns the ids acknowledged, each with when its answer came. */
function keepWriting() {
  const acknowledged: { id: string; at: number }[] = [];
  let stopped = false;
  const writers = Array.from({ length: 4 }, async () => {
    while (!stopped) {
      const id = uid('kept');
      await server().gql(CREATE_SPAN, { input: { id, name: 'written during the backup' } });
      acknowledged.push({ id, at: Date.now() });
    }
  });
  return {
    acknowledged,
    async stop() {
      stopped = true;
      await Promise.all(writers);
    },
  };
}

/** Which of `ids` a server on `databaseUrl` finds. */
async function foundOn(databaseUrl: string, ids: string[]): Promise<string[]> {
  const restored = await startTestServerOn(databaseUrl, {}, { retention: 'METADATA_ONLY' });
  try {
    const found: string[] = [];
    // 40 aliases a request: under MAX_ALIASES.
    for (let start = 0; start < ids.length; start += 40) {
      const batch = ids.slice(start, start + 40);
      const data = await restored.gql(
        `query { ${batch.map((id, index) => `s${index}: span(id: ${JSON.stringify(id)}) { id }`).join(' ')} }`,
      );
      for (const span of Object.values(data) as ({ id: string } | null)[]) if (span) found.push(span.id);
    }
    return found;
  } finally {
    await restored.stop();
  }
}

if (databaseKind === 'sqlite') {
  describe('npm run backup (SQLite)', () => {
    it('copies the database while the server writes: every span acknowledged before it began is in the copy, which restores', async () => {
      const command = shellBlock('npm run backup');
      const writing = keepWriting();
      // Some writes first, so the copy has something to hold.
      while (writing.acknowledged.length < 20) await new Promise((resolve) => setTimeout(resolve, 10));
      const began = Date.now();
      const ackedBefore = writing.acknowledged.filter((write) => write.at < began).map((write) => write.id);
      const { stdout } = await bash(command.replaceAll('backups/', `${scratch}/`), { DATABASE_URL: server().databaseUrl });
      await writing.stop();
      expect(stdout).toMatch(/Backed up .*spantree\.db to .*spantree-\d{4}-\d{2}-\d{2}\.db \(\d+ bytes\)/);
      expect(writing.acknowledged.length).toBeGreaterThan(ackedBefore.length);
      const copy = /to (\S+\.db) \(/.exec(stdout)![1]!;
      const check = new Sqlite(copy, { readonly: true });
      expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
      check.close();
      // Restored as the page says (the copy in place of the database, no old WAL files), then read.
      expect(await foundOn(`file:${copy}`, ackedBefore)).toEqual(ackedBefore);
    }, 180_000);

    it('refuses to overwrite a file, and says what to use for PostgreSQL', async () => {
      const existing = join(scratch, 'existing.db');
      await bash(`touch ${existing}`);
      await expect(bash(`npm run --silent backup -- ${existing}`, { DATABASE_URL: server().databaseUrl })).rejects.toMatchObject({
        stderr: expect.stringContaining('exists already'),
      });
      await expect(bash(`npm run --silent backup -- ${join(scratch, 'pg.db')}`, { DATABASE_URL: postgresServerUrl })).rejects.toMatchObject({
        stderr: expect.stringContaining('pg_dump'),
      });
    }, 120_000);
  });
} else {
  describe('pg_dump and pg_restore (PostgreSQL)', () => {
    it('dump while the server writes, and restore into a new database that a server then reads', async () => {
      const [dump, restore] = shellBlock('pg_dump').split('# restore into an empty database (stop Spantree\'s instances first):\n');
      const writing = keepWriting();
      while (writing.acknowledged.length < 20) await new Promise((resolve) => setTimeout(resolve, 10));
      const began = Date.now();
      const ackedBefore = writing.acknowledged.filter((write) => write.at < began).map((write) => write.id);
      const source = server().databaseUrl;
      const file = join(scratch, 'spantree.dump');
      await bash(dump!.replaceAll('postgresql://postgres@127.0.0.1:5432/spantree', source).replaceAll('spantree.dump', file));
      await writing.stop();
      const target = await createTestDatabase('postgresql');
      await target.drop(); // the page's createdb makes it
      const name = new URL(target.url).pathname.slice(1);
      try {
        await bash(
          restore!
            .replaceAll('spantree_restored', name)
            .replaceAll(`postgresql://postgres@127.0.0.1:5432/${name}`, withDatabase(postgresServerUrl, name))
            .replaceAll('spantree.dump', file),
          { PGHOST: new URL(postgresServerUrl).hostname, PGPORT: new URL(postgresServerUrl).port || '5432', PGUSER: 'postgres' },
        );
        expect(await foundOn(withDatabase(postgresServerUrl, name), ackedBefore)).toEqual(ackedBefore);
      } finally {
        await target.drop();
      }
    }, 180_000);
  });
}
