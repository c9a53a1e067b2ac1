/**
 * Migrations are applied on start, offline, and describe the schema exactly: replaying the folder
 * and diffing it against prisma/<provider>/schema.prisma finds nothing to do.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openSchemaEngine, readMigrations } from '../src/db/schema-engine.js';
import { migrationsDir, schemaPath } from '../src/db/migrations.js';
import { createTestDatabase, databaseKind } from './helpers/databases.js';

describe(`${databaseKind} migrations`, () => {
  it('match the schema: `npm run migrate:create` has nothing left to write', async () => {
    const db = await createTestDatabase();
    const schema = readFileSync(schemaPath(databaseKind), 'utf8');
    const engine = await openSchemaEngine(databaseKind, db.url, schema);
    try {
      const migrations = await readMigrations(migrationsDir(databaseKind));
      expect(migrations.migrationDirectories.length).toBeGreaterThan(0);
      expect(await engine.diffToSchema(migrations, schema)).toBe('');
      // And the check can fail: against an empty history there is a whole schema to create.
      expect(await engine.diffToSchema('empty', schema)).toMatch(/CREATE TABLE "Span"/);
    } finally {
      await engine.close();
      await db.drop();
    }
  });
});

describe(`${databaseKind} upgrade to tenancy`, () => {
  it('moves data written before organizations into the default organization, and keeps its content retained', async () => {
    const db = await createTestDatabase();
    const schema = readFileSync(schemaPath(databaseKind), 'utf8');
    const all = await readMigrations(migrationsDir(databaseKind));
    const tenancy = all.migrationDirectories.findIndex((migration) => migration.path.endsWith('_tenancy_retention'));
    expect(tenancy).toBeGreaterThan(0);
    const migrate = async (list: typeof all) => {
      const engine = await openSchemaEngine(databaseKind, db.url, schema);
      try {
        return await engine.applyMigrations(list);
      } finally {
        await engine.close();
      }
    };
    const { default: pg } = await import('pg');
    const { default: Sqlite } = await import('better-sqlite3');
    const { sqliteFilePath } = await import('../src/db/database-url.js');
    try {
      await migrate({ ...all, migrationDirectories: all.migrationDirectories.slice(0, tenancy) });
      // What a server of the version before wrote: the default project, a trace and its root span.
      const statements = [
        `INSERT INTO "Project" ("id", "name") VALUES ('default', 'Default project')`,
        `INSERT INTO "Trace" ("projectId", "id", "status", "startTime", "composition", "tags", "rootSpanId", "inputPreview", "updatedAt") VALUES ('default', 't1', 'OK', '2026-11-01T00:00:00.000Z', '{}', '[]', 's1', 'hello', '2026-11-01T00:00:00.000Z')`,
        `INSERT INTO "Span" ("projectId", "id", "traceId", "name", "type", "startTime", "input", "tags", "seq", "ingestHash", "updatedAt") VALUES ('default', 's1', 't1', 'root', 'FUNCTION', '2026-11-01T00:00:00.000Z', '"hello"', '[]', 1, 'h', '2026-11-01T00:00:00.000Z')`,
      ];
      const query = async (sql: string): Promise<unknown[]> => {
        if (databaseKind === 'sqlite') {
          const sqlite = new Sqlite(sqliteFilePath(db.url));
          try {
            const statement = sqlite.prepare(sql);
            return statement.reader ? statement.all() : (statement.run(), []);
          } finally {
            sqlite.close();
          }
        }
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        try {
          return (await client.query(sql)).rows;
        } finally {
          await client.end();
        }
      };
      for (const statement of statements) await query(statement);
      expect(await migrate(all)).toEqual(all.migrationDirectories.slice(tenancy).map((migration) => migration.path));
      expect(await query(`SELECT "id", "organizationId" FROM "Project"`)).toEqual([{ id: 'default', organizationId: 'default' }]);
      expect(await query(`SELECT "id" FROM "Organization"`)).toEqual([{ id: 'default' }]);
      const retained = (rows: unknown[]) => rows.map((row) => Boolean((row as { retained: unknown }).retained));
      expect(retained(await query(`SELECT "retained" FROM "Span"`))).toEqual([true]);
      expect(retained(await query(`SELECT "retained" FROM "Trace"`))).toEqual([true]);
    } finally {
      await db.drop();
    }
  });
});
