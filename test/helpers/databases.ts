/** A fresh database per test file: a temporary SQLite file, or a new PostgreSQL database dropped after. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { withDatabase } from '../../src/db/database-url.js';

export type TestDatabaseKind = 'sqlite' | 'postgresql';

/** Which database this run of the suite is for (set per vitest project). */
export const databaseKind = (process.env.SPANTREE_TEST_DATABASE ?? 'sqlite') as TestDatabaseKind;

export const postgresServerUrl = process.env.SPANTREE_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(kind: TestDatabaseKind = databaseKind): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'spantree-test-'));
    return { url: `file:${join(dir, 'spantree.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `spantree_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  await adminQuery(`CREATE DATABASE "${name}"`);
  return {
    url: withDatabase(postgresServerUrl, name),
    drop: () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

async function adminQuery(sql: string) {
  const client = new pg.Client({ connectionString: postgresServerUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
