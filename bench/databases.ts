/**
 * The databases a run measures, each able to hand out fresh, empty databases: every workload starts
 * from an empty one, so no workload's rows slow down (or warm up) another's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { withDatabase, type Provider } from '../src/db/database-url.js';

export interface FreshDatabase {
  url: string;
  drop(): Promise<void>;
}

export interface BenchDatabase {
  provider: Provider;
  /** A new empty database (not migrated: Spantree migrates on start, floors with applyMigrations). */
  fresh(label: string): Promise<FreshDatabase>;
  /** Removes whatever is left (the scratch folder). */
  close(): Promise<void>;
}

let counter = 0;

export function sqliteDatabases(): BenchDatabase {
  const scratch = mkdtempSync(join(tmpdir(), 'spantree-bench-'));
  return {
    provider: 'sqlite',
    async fresh(label) {
      const file = join(scratch, `${label}-${++counter}.db`);
      return {
        url: `file:${file}`,
        async drop() {
          for (const suffix of ['', '-wal', '-shm', '-journal', '.lock']) rmSync(file + suffix, { force: true });
        },
      };
    },
    async close() {
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

export function postgresDatabases(serverUrl: string): BenchDatabase {
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  return {
    provider: 'postgresql',
    async fresh(label) {
      const name = `spantree_bench_${process.pid}_${label.replace(/\W/g, '_')}_${++counter}`;
      await admin(`CREATE DATABASE "${name}"`);
      return { url: withDatabase(serverUrl, name), drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
    },
    async close() {},
  };
}
