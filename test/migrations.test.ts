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
