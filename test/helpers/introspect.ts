/**
 * What a migrated database actually holds, per table: columns (kind, nullability, default), primary
 * key and indexes, in a form that compares across SQLite and PostgreSQL.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { sqliteFilePath } from '../../src/db/database-url.js';

export interface TableShape {
  columns: Record<string, { kind: string; nullable: boolean; hasDefault: boolean }>;
  primaryKey: string[];
  indexes: Record<string, { unique: boolean; columns: string[] }>;
}
export type DatabaseShape = Record<string, TableShape>;

const KINDS: Record<string, string> = {
  text: 'text',
  integer: 'integer',
  real: 'float',
  'double precision': 'float',
  datetime: 'datetime',
  'timestamp without time zone': 'datetime',
  jsonb: 'json',
  boolean: 'boolean',
};

function kindOf(type: string): string {
  const kind = KINDS[type.toLowerCase().replace(/\(\d+\)$/, '')];
  if (!kind) throw new Error(`unmapped column type ${type}`);
  return kind;
}

const skip = (table: string) => table === '_prisma_migrations' || table.startsWith('sqlite_');

export function sqliteShape(url: string): DatabaseShape {
  const db = new Database(sqliteFilePath(url), { readonly: true });
  try {
    const shape: DatabaseShape = {};
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[];
    for (const { name } of tables.filter((table) => !skip(table.name))) {
      const columns = db.prepare(`PRAGMA table_info("${name}")`).all() as { name: string; type: string; notnull: number; dflt_value: unknown; pk: number }[];
      const table: TableShape = { columns: {}, primaryKey: [], indexes: {} };
      for (const column of columns) {
        table.columns[column.name] = { kind: kindOf(column.type), nullable: column.notnull === 0 && column.pk === 0, hasDefault: column.dflt_value !== null };
      }
      table.primaryKey = columns.filter((column) => column.pk > 0).sort((a, b) => a.pk - b.pk).map((column) => column.name);
      const indexes = db.prepare(`PRAGMA index_list("${name}")`).all() as { name: string; unique: number; origin: string }[];
      for (const index of indexes.filter((entry) => entry.origin !== 'pk')) {
        const parts = db.prepare(`PRAGMA index_info("${index.name}")`).all() as { seqno: number; name: string }[];
        table.indexes[index.name] = { unique: index.unique === 1, columns: parts.sort((a, b) => a.seqno - b.seqno).map((part) => part.name) };
      }
      shape[name] = table;
    }
    return shape;
  } finally {
    db.close();
  }
}

export async function postgresShape(url: string): Promise<DatabaseShape> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const shape: DatabaseShape = {};
    const columns = await client.query<{ table_name: string; column_name: string; data_type: string; is_nullable: string; column_default: string | null }>(
      `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = 'public'`,
    );
    for (const row of columns.rows.filter((column) => !skip(column.table_name))) {
      shape[row.table_name] ??= { columns: {}, primaryKey: [], indexes: {} };
      shape[row.table_name]!.columns[row.column_name] = { kind: kindOf(row.data_type), nullable: row.is_nullable === 'YES', hasDefault: row.column_default !== null };
    }
    const indexes = await client.query<{ table: string; index: string; unique: boolean; primary: boolean; columns: string[] }>(`
      SELECT t.relname AS "table", i.relname AS "index", ix.indisunique AS "unique", ix.indisprimary AS "primary",
             array_agg(a.attname ORDER BY k.ordinality)::text[] AS "columns"
      FROM pg_index ix
      JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_class i ON i.oid = ix.indexrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
      CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ordinality)
      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
      GROUP BY t.relname, i.relname, ix.indisunique, ix.indisprimary`);
    for (const row of indexes.rows.filter((index) => !skip(index.table))) {
      if (row.primary) shape[row.table]!.primaryKey = row.columns;
      else shape[row.table]!.indexes[row.index] = { unique: row.unique, columns: row.columns };
    }
    return shape;
  } finally {
    await client.end();
  }
}
