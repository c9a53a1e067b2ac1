/**
 * docs/postgresql.md as written: instances started with a DATABASE_URL whose database
 * does not exist yet create it, migrate it once between them, and serve the same data.
 */
import { readdirSync } from 'node:fs';
import pg from 'pg';
import { migrationsDir } from '../../src/db/migrations.js';
import { afterAll, describe, expect, it } from 'vitest';
import { withDatabase } from '../../src/db/database-url.js';
import { postgresServerUrl } from '../helpers/databases.js';
import { post, spawnServer, type ServerProcess } from '../helpers/process.js';

const name = `spantree_readme_${process.pid}`;
const url = withDatabase(postgresServerUrl, name);
const servers: ServerProcess[] = [];

afterAll(async () => {
  for (const server of servers) await server.kill('SIGTERM');
  const admin = new pg.Client({ connectionString: postgresServerUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
});

describe('running several instances on one PostgreSQL database', () => {
  it('two instances started at once on a new database both come up and share it', async () => {
    servers.push(...(await Promise.all([spawnServer({ DATABASE_URL: url }), spawnServer({ DATABASE_URL: url })])));
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const created = await post(a.url, `mutation { createSpan(input: { id: "via-a", name: "hello" }) { traceId } }`);
    expect(created.errors).toBeUndefined();
    const read = await post(b.url, `{ span(id: "via-a") { name trace { name spanCount } } }`);
    expect(read.data.span).toEqual({ name: 'hello', trace: { name: 'hello', spanCount: 1 } });

    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const migrations = await admin.query<{ migration_name: string }>(`SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL`);
    await admin.end();
    // Each migration applied exactly once, though both instances ran the migrations at start.
    const folders = readdirSync(migrationsDir('postgresql'), { withFileTypes: true }).filter((entry) => entry.isDirectory());
    expect(migrations.rows.map((row) => row.migration_name).sort()).toEqual(folders.map((entry) => entry.name).sort());
  });
});
