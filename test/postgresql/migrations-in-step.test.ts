/**
 * The SQLite and PostgreSQL migration folders build the same tables, columns, keys and indexes:
 * migrate a fresh database of each kind and compare what they hold. PostgreSQL adds only its search
 * indexes (GIN on JSONB, trigram on names), declared `// postgresql-only` in prisma/models.prisma.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../src/db/migrations.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { postgresShape, sqliteShape, type DatabaseShape } from '../helpers/introspect.js';

const created: TestDatabase[] = [];
afterAll(async () => {
  for (const db of created) await db.drop();
});

/** Index names of the `// postgresql-only` lines: Prisma names them <Model>_<field>_idx. */
function postgresOnlyIndexes(): string[] {
  const models = readFileSync(new URL('../../prisma/models.prisma', import.meta.url), 'utf8');
  const names: string[] = [];
  let model = '';
  for (const line of models.split('\n')) {
    model = /^model (\w+)/.exec(line)?.[1] ?? model;
    const field = /@@index\(\[(\w+)\(.*\/\/ postgresql-only/.exec(line)?.[1];
    if (field) names.push(`${model}_${field}_idx`);
  }
  return names;
}

describe('the two migration folders', () => {
  it('build the same tables, columns, primary keys and indexes', async () => {
    const sqlite = await createTestDatabase('sqlite');
    const postgres = await createTestDatabase('postgresql');
    created.push(sqlite, postgres);
    expect(await applyMigrations('sqlite', sqlite.url)).not.toEqual([]);
    expect(await applyMigrations('postgresql', postgres.url)).not.toEqual([]);

    const fromSqlite = sqliteShape(sqlite.url);
    const fromPostgres: DatabaseShape = await postgresShape(postgres.url);
    const extras = postgresOnlyIndexes();
    expect(extras).toEqual(['Trace_meta_idx', 'Trace_tags_idx', 'Trace_name_idx', 'Span_meta_idx']);
    for (const name of extras) {
      const table = name.split('_')[0]!;
      expect(fromPostgres[table]!.indexes[name], name).toBeDefined();
      delete fromPostgres[table]!.indexes[name];
    }
    expect(Object.keys(fromSqlite).sort()).toEqual(['ApiKey', 'Event', 'Metric', 'ModelPrice', 'ModelProvider', 'Organization', 'Project', 'Session', 'Span', 'Trace']);
    expect(fromPostgres).toEqual(fromSqlite);
  });

  it('are applied once: a second start applies nothing', async () => {
    const postgres = await createTestDatabase('postgresql');
    created.push(postgres);
    expect((await applyMigrations('postgresql', postgres.url)).length).toBeGreaterThan(0);
    expect(await applyMigrations('postgresql', postgres.url)).toEqual([]);
  });
});
