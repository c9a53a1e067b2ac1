/**
 * Prisma's schema engine, compiled to WebAssembly (@prisma/schema-engine-wasm), driven through our own
 * driver adapters. It is what `prisma migrate` would run natively; the native engine downloads a binary
 * from a host that many machines cannot reach, while this comes from the npm registry.
 *
 * Used at start-up (apply migrations), by `npm run migrate:create` (diff the migrations folder against
 * the schema) and by the drift test.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import type { Provider } from './database-url.js';
import { pgPoolConfig, sqliteFilePath } from './database-url.js';

/** The subset of the engine's API Spantree uses (see schema_engine.d.ts in the package). */
interface WasmSchemaEngine {
  diff(params: unknown): Promise<{ exitCode: number; stdout?: string | null }>;
  applyMigrations(params: unknown): Promise<{ appliedMigrationNames: string[] }>;
  free(): void;
}

/** A Prisma-Migrate-layout folder, as the engine reads it. */
export interface MigrationsList {
  baseDir: string;
  lockfile: { path: string; content: string | null };
  shadowDbInitScript: string;
  migrationDirectories: { path: string; migrationFile: { path: string; content: { tag: 'ok'; value: string } } }[];
}

type DiffTarget =
  | { tag: 'empty' }
  | { tag: 'schemaDatamodel'; files: { path: string; content: string }[] }
  | ({ tag: 'migrations' } & MigrationsList);

const NO_FILTERS = { externalTables: [], externalEnums: [] };

let wasmModule: Promise<{ SchemaEngine: { new: (...args: unknown[]) => Promise<WasmSchemaEngine> } }> | undefined;

/**
 * The package's entry imports a .wasm file, which Node refuses as a module; instantiate it by hand,
 * once per process, the way wasm-bindgen's own loader would.
 */
function loadWasm() {
  wasmModule ??= (async () => {
    // Rust panics report through this global before trapping; without it a panic becomes a TypeError.
    const registry = globalThis as { PRISMA_WASM_PANIC_REGISTRY?: unknown };
    let panic = '';
    registry.PRISMA_WASM_PANIC_REGISTRY ??= {
      get: () => panic,
      set_message: (message: string) => {
        panic = `RuntimeError: ${message}`;
      },
    };
    const bindingsUrl = import.meta.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const bindings = await import(bindingsUrl);
    const bytes = await readFile(new URL('./schema_engine_bg.wasm', bindingsUrl));
    const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': bindings });
    bindings.__wbg_set_wasm(instance.exports);
    (instance.exports as { __wbindgen_start(): void }).__wbindgen_start();
    return bindings;
  })();
  return wasmModule;
}

/** The adapter factory the engine talks through, with the fixes it needs (see each comment). */
function adapterFactory(provider: Provider, url: string) {
  const open = new Set<{ dispose(): Promise<void> }>();
  let inner: { connect(): Promise<any>; connectToShadowDb(): Promise<any>; provider: any; adapterName: string };
  if (provider === 'sqlite') {
    inner = new PrismaBetterSqlite3({ url: `file:${sqliteFilePath(url)}` });
  } else {
    const config = pgPoolConfig(url);
    const pgFactory = new PrismaPg(config);
    inner = pgFactory;
    // adapter-pg 7.10 drops the shadow database while its own pool is still connected to it, so the
    // drop fails and the database is left behind. End the pool first, then drop.
    inner.connectToShadowDb = async () => {
      const admin = await new PrismaPg(config).connect();
      const database = `prisma_migrate_shadow_db_${crypto.randomUUID().replaceAll('-', '')}`;
      await admin.executeScript(`CREATE DATABASE "${database}"`);
      const shadow = await new PrismaPg({ ...config, database }).connect();
      const disposeShadow = shadow.dispose.bind(shadow);
      shadow.dispose = async () => {
        try {
          await disposeShadow();
        } finally {
          try {
            await admin.executeScript(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
          } finally {
            await admin.dispose();
          }
        }
      };
      return shadow;
    };
  }

  const track = (adapter: any) => {
    if (provider === 'postgresql') reportCharColumnsAsText(adapter);
    // Replaying a migration into a shadow database sends the whole migration.sql as one executeRaw;
    // better-sqlite3 refuses several statements in one prepare(), its exec() takes them.
    const executeRaw = adapter.executeRaw.bind(adapter);
    adapter.executeRaw = async (query: { sql: string; args?: unknown[] }) => {
      try {
        return await executeRaw(query);
      } catch (error) {
        const failure = error as { message?: string; cause?: { message?: string } };
        const message = String(failure?.message ?? failure?.cause?.message ?? error);
        if ((query.args?.length ?? 0) === 0 && /more than one statement|multiple commands/i.test(message)) {
          await adapter.executeScript(query.sql);
          return 0;
        }
        throw error;
      }
    };
    // The engine never disposes the connections it opens, and on SQLite it takes an exclusive lock:
    // keep them all and close them when the engine is closed.
    const dispose = adapter.dispose.bind(adapter);
    let disposed = false;
    adapter.dispose = async () => {
      if (disposed) return;
      disposed = true;
      open.delete(adapter);
      await dispose();
    };
    open.add(adapter);
    return adapter;
  };

  const factory = bindMigrationAwareSqlAdapterFactory({
    provider: inner.provider,
    adapterName: inner.adapterName,
    connect: async () => track(await inner.connect()),
    connectToShadowDb: async () => track(await inner.connectToShadowDb()),
  } as never);
  return {
    factory,
    async disposeAll() {
      for (const adapter of [...open]) await adapter.dispose();
    },
  };
}

/**
 * The engine reads catalog columns of PostgreSQL's internal "char" type (oid 18, e.g.
 * pg_constraint.contype), which adapter-pg cannot map; node-postgres returns them as strings, so
 * report them as text.
 */
function reportCharColumnsAsText(queryable: any) {
  if (typeof queryable.performIO === 'function') {
    const performIO = queryable.performIO.bind(queryable);
    queryable.performIO = async (query: unknown) => {
      const result = await performIO(query);
      for (const field of result?.fields ?? []) if (field.dataTypeID === 18) field.dataTypeID = 25;
      return result;
    };
  }
  if (typeof queryable.startTransaction === 'function') {
    const startTransaction = queryable.startTransaction.bind(queryable);
    queryable.startTransaction = async (...args: unknown[]) => reportCharColumnsAsText(await startTransaction(...args));
  }
  return queryable;
}

/** Reads a Prisma Migrate folder: migration_lock.toml and <timestamp>_<name>/migration.sql, in order. */
export async function readMigrations(baseDir: string): Promise<MigrationsList> {
  const dir = resolve(baseDir);
  const lock = await readFile(join(dir, 'migration_lock.toml'), 'utf8').catch(() => null);
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const names = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  return {
    baseDir: dir,
    lockfile: { path: 'migration_lock.toml', content: lock },
    shadowDbInitScript: '',
    migrationDirectories: await Promise.all(
      names.map(async (name) => ({
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: { tag: 'ok' as const, value: await readFile(join(dir, name, 'migration.sql'), 'utf8') },
        },
      })),
    ),
  };
}

/** An open schema engine for one database; close it to release its connections. */
export interface SchemaEngine {
  /** Applies the migrations not yet recorded in `_prisma_migrations`; returns their names. */
  applyMigrations(migrations: MigrationsList): Promise<string[]>;
  /** The SQL that turns `from` into the schema text; empty when there is nothing to do. */
  diffToSchema(from: 'empty' | MigrationsList, schema: string): Promise<string>;
  close(): Promise<void>;
}

/** Opens the engine on the database at `url` (a shadow database is created when a diff needs one). */
export async function openSchemaEngine(provider: Provider, url: string, schema: string): Promise<SchemaEngine> {
  const { SchemaEngine: Engine } = await loadWasm();
  const { factory, disposeAll } = adapterFactory(provider, url);
  const engine = await Engine.new({ datamodels: [['schema.prisma', schema]] }, () => {}, factory);
  return {
    async applyMigrations(migrations) {
      const result = await engine.applyMigrations({ migrationsList: migrations, filters: NO_FILTERS });
      return result.appliedMigrationNames;
    },
    async diffToSchema(from, schemaText) {
      const source: DiffTarget = from === 'empty' ? { tag: 'empty' } : { tag: 'migrations', ...from };
      const target: DiffTarget = { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: schemaText }] };
      // exitCode: true makes the engine answer 2 for "there is a difference" and 0 for none.
      const result = await engine.diff({ from: source, to: target, script: true, exitCode: true, filters: NO_FILTERS });
      return result.exitCode === 0 ? '' : (result.stdout ?? '');
    },
    async close() {
      engine.free();
      await disposeAll();
    },
  };
}
