import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import Sqlite from 'better-sqlite3';
import { openSchemaEngine, readMigrations } from './schema-engine.js';
import { pgPoolConfig, sqlitePathOf, type Provider } from './database-url.js';
import { packageRoot } from '../package-root.js';

const prismaDir = join(packageRoot(), 'prisma');

/** prisma/<provider>/migrations: one Prisma Migrate folder per provider, kept in step by migrate:create. */
export function migrationsDir(provider: Provider): string {
  return join(prismaDir, provider, 'migrations');
}

/** prisma/<provider>/schema.prisma, rendered from prisma/models.prisma. */
export function schemaPath(provider: Provider): string {
  return join(prismaDir, provider, 'schema.prisma');
}

/**
 * Extensions the PostgreSQL migrations need, created by the first migration rather than declared in
 * the schema: the engine replays migrations without extensions, so declaring them there would make
 * every later diff re-create them. pg_trgm backs the trigram index that keeps `search` fast.
 */
export const postgresExtensions = '-- Trigram indexes for the explorer\'s name search\nCREATE EXTENSION IF NOT EXISTS "pg_trgm";\n';

/**
 * Brings the database at `url` up to date with the provider's migrations folder, recording each in
 * `_prisma_migrations` exactly as `prisma migrate deploy` would. Idempotent; safe to run on every start.
 */
export async function applyMigrations(provider: Provider, url: string): Promise<string[]> {
  if (provider === 'postgresql') await ensurePostgresDatabase(url);
  const migrations = await readMigrations(migrationsDir(provider));
  // Nearly every start finds nothing to do: asked of the database with its own driver, that costs a
  // statement, where the schema engine (WebAssembly) takes about half a second to load.
  const applied = await appliedMigrations(provider, url);
  if (migrations.migrationDirectories.every((directory) => applied.has(directory.path))) return [];
  const schema = await readFile(schemaPath(provider), 'utf8');
  const engine = await openSchemaEngine(provider, url, schema);
  try {
    return await engine.applyMigrations(migrations);
  } finally {
    await engine.close();
  }
}

/** Creates the database a PostgreSQL URL names when it does not exist yet, as SQLite creates its file. */
async function ensurePostgresDatabase(url: string): Promise<void> {
  const config = pgPoolConfig(url);
  const { default: pg } = await import('pg'); // loaded only on PostgreSQL
  const probe = new pg.Client(config);
  try {
    await probe.connect();
    return;
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') throw error; // anything but "database does not exist"
  } finally {
    await probe.end().catch(() => {});
  }
  const admin = new pg.Client({ ...config, database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${config.database!.replaceAll('"', '""')}"`);
  } catch (error) {
    // Created meanwhile by another instance starting at the same moment.
    if (!['42P04', '23505'].includes((error as { code?: string }).code ?? '')) throw error;
  } finally {
    await admin.end();
  }
}

/**
 * The migrations the database records as applied (finished, not rolled back), or none when it has no
 * record yet (a new database, or a SQLite file that does not exist).
 */
async function appliedMigrations(provider: Provider, url: string): Promise<Set<string>> {
  const query = 'SELECT "migration_name" FROM "_prisma_migrations" WHERE "finished_at" IS NOT NULL AND "rolled_back_at" IS NULL';
  if (provider === 'sqlite') {
    const file = sqlitePathOf(url);
    if (!existsSync(file)) return new Set();
    const db = new Sqlite(file, { fileMustExist: true });
    try {
      const table = db.prepare(`SELECT 1 FROM "sqlite_master" WHERE "type" = 'table' AND "name" = '_prisma_migrations'`).get();
      return table ? new Set(db.prepare(query).all().map((row) => (row as { migration_name: string }).migration_name)) : new Set();
    } finally {
      db.close();
    }
  }
  const { default: pg } = await import('pg');
  const client = new pg.Client(pgPoolConfig(url));
  await client.connect();
  try {
    const { rows } = await client.query<{ migration_name: string }>(query);
    return new Set(rows.map((row) => row.migration_name));
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return new Set(); // no _prisma_migrations yet
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
}
