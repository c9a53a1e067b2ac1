/**
 * The Prisma client on the right driver adapter, opened by the application object (src/server.ts) and
 * handed to the services that read and write.
 *
 * SQLite: two connections to one WAL-mode file. Writes go through the writer connection, only inside
 * transactions, which the adapter queues one at a time; everything else reads through a connection of
 * its own. A single connection would let a read issued while a write transaction is open see (or, for
 * a write, join) that transaction's uncommitted rows.
 * PostgreSQL: one pooled client for both, through @prisma/adapter-pg.
 */
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaClient as SqliteClient, Prisma } from '../generated/sqlite/client.js';
import { providerOf, pgPoolConfig, sqliteFilePath, type Provider } from './database-url.js';
import { applyMigrations, migrationsDir } from './migrations.js';
import { readMigrations } from './schema-engine.js';
import { GroupCommit } from './group-commit.js';
import { dialectFor, type Dialect } from './dialect.js';
import { claimSqliteFile, type SqliteClaim } from './sqlite-lock.js';
import { keepSqliteFilesPrivate } from './sqlite-files.js';

/** The model API is identical for both providers (same models); this is its type. */
export type PrismaClient = SqliteClient;
/** The client inside a write transaction. */
export type Tx = Prisma.TransactionClient;

export interface Database {
  readonly provider: Provider;
  readonly dialect: Dialect;
  /** For reads. Never used to write: writes go through `write`. */
  readonly read: PrismaClient;
  /**
   * Runs `work` in one write transaction, retrying it when the database reports a transient
   * conflict (deadlock, serialization failure, a concurrent insert of the same key).
   */
  write<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * A planned read (plugin-prisma's include/select) with the relation load strategy that is faster
   * for its shape on this database. PostgreSQL's relation joins load a shallow selection in one
   * statement, but nest a LATERAL subquery per level and per row: measured on a 3,000-span trace, one
   * statement per level is as fast at 3 levels and 3.7x faster at 10. SQLite has one strategy.
   */
  planned<Query extends object>(query: Query): Query;
  /**
   * Readiness: resolves when the database answers and holds every migration this version applies;
   * rejects with a reason a person can read otherwise.
   */
  checkReady(): Promise<void>;
  close(): Promise<void>;
}

/** Called with each SQL statement sent and its parameters. */
export type QueryObserver = (sql: string, params: unknown[]) => void;

export interface DatabaseOptions {
  /**
   * Sees every statement (tests pin statement counts with it, the benchmark reports them). Left out,
   * Prisma emits no query events at all, so a server that nobody watches pays nothing for them.
   */
  onQuery?: QueryObserver;
}

const TRANSACTION_OPTIONS = {
  // Writers queue for the SQLite write lock and PostgreSQL row locks; under a burst that queue can
  // be long, and failing a write that would have succeeded a moment later is worse than waiting.
  maxWait: 60_000,
  timeout: 60_000,
};
const MAX_ATTEMPTS = 5;
/** How often SQLite's statistics are brought up to date (PRAGMA optimize). */
const OPTIMIZE_EVERY_MS = 5 * 60 * 1000;

/** Opens (creating and migrating it if needed) the database at `url`. */
export async function openDatabase(url: string, options: DatabaseOptions = {}): Promise<Database> {
  // Before any driver opens them: the files are created owner-only, and SQLite's -wal and -shm follow.
  if (providerOf(url) === 'sqlite') keepSqliteFilesPrivate(sqliteFilePath(url));
  // One server per SQLite file: refuse at once, before migrations, when another server holds it.
  const sqliteClaim = claimSqliteFile(url);
  try {
    return await openClaimed(url, sqliteClaim, options);
  } catch (error) {
    // An open that failed half-way lets the file go: the next start can claim it.
    sqliteClaim?.release();
    throw error;
  }
}

async function openClaimed(url: string, sqliteClaim: SqliteClaim | undefined, { onQuery }: DatabaseOptions): Promise<Database> {
  const provider = providerOf(url);
  const expectedMigrations = (await readMigrations(migrationsDir(provider))).migrationDirectories.length;
  await applyMigrations(provider, url);
  const log = onQuery ? ([{ level: 'query', emit: 'event' }] as const) : ([] as const);
  const observe = (client: PrismaClient) => {
    if (!onQuery) return client;
    (client as unknown as { $on(event: 'query', cb: (e: Prisma.QueryEvent) => void): void }).$on('query', (event) => {
      onQuery(event.query, parseParams(event.params));
    });
    return client;
  };

  let read: PrismaClient;
  let writer: PrismaClient;
  if (provider === 'sqlite') {
    const file = sqliteFilePath(url);
    const connect = () => new SqliteClient({ adapter: sqliteAdapter(file), log: [...log] });
    writer = observe(connect());
    read = observe(connect());
    // WAL lets readers and the writer work at once; FULL syncs every commit, so an acknowledged span
    // survives a power cut, not just a crash.
    await writer.$queryRawUnsafe('PRAGMA journal_mode = WAL');
    for (const client of [writer, read]) await client.$executeRawUnsafe('PRAGMA synchronous = FULL');
    // The query planner needs statistics, or a growing file makes it scan where an index serves.
    // analysis_limit bounds what each ANALYZE reads; 0x10002 analyses what never was, at open.
    for (const client of [writer, read]) await client.$queryRawUnsafe('PRAGMA analysis_limit = 1000');
    await writer.$queryRawUnsafe('PRAGMA optimize = 0x10002');
  } else {
    // Loaded only on PostgreSQL: an embedded SQLite start does not load the driver it does not use.
    const [{ PrismaPg }, { PrismaClient: PostgresClient }] = await Promise.all([import('@prisma/adapter-pg'), import('../generated/postgresql/client.js')]);
    const client = new PostgresClient({ adapter: new PrismaPg(pgPoolConfig(url)), log: [...log] }) as unknown as PrismaClient;
    read = writer = observe(client);
  }

  // SQLite: one writer, so writes that queue behind each other are committed together (group commit).
  const group = provider === 'sqlite' ? new GroupCommit<Tx>((run) => writer.$transaction(run, TRANSACTION_OPTIONS)) : undefined;
  // Statistics kept current as the file grows: cheap when little has changed (SQLite's advice).
  const optimizer =
    provider === 'sqlite'
      ? setInterval(() => void db.write((tx) => tx.$queryRawUnsafe('PRAGMA optimize')).catch(() => {}), OPTIMIZE_EVERY_MS)
      : undefined;
  optimizer?.unref();
  const db: Database = {
    provider,
    dialect: dialectFor(provider),
    read,
    async write(work) {
      if (group) return group.write(work);
      for (let attempt = 1; ; attempt++) {
        try {
          return await writer.$transaction((tx) => work(tx), TRANSACTION_OPTIONS);
        } catch (error) {
          if (attempt >= MAX_ATTEMPTS || !isTransient(error)) throw error;
          await new Promise((resolve) => setTimeout(resolve, 5 * attempt * Math.random()));
        }
      }
    },
    planned(query) {
      if (provider !== 'postgresql') return query;
      return { ...query, relationLoadStrategy: relationDepth(query) <= JOIN_DEPTH ? 'join' : 'query' };
    },
    async checkReady() {
      let applied: number;
      try {
        const rows = await read.$queryRawUnsafe<{ applied: number | bigint }[]>(
          'SELECT COUNT(*) AS "applied" FROM "_prisma_migrations" WHERE "finished_at" IS NOT NULL AND "rolled_back_at" IS NULL',
        );
        applied = Number(rows[0]?.applied ?? 0);
      } catch {
        throw new Error('the database is not reachable');
      }
      if (applied < expectedMigrations) throw new Error(`the database holds ${applied} of ${expectedMigrations} migrations`);
    },
    async close() {
      clearInterval(optimizer);
      await Promise.all([...new Set([read, writer])].map((client) => client.$disconnect()));
      sqliteClaim?.release();
    },
  };
  return db;
}

/** Relation nesting up to which PostgreSQL's relation joins are the faster strategy (see `planned`). */
const JOIN_DEPTH = 3;

/** How deep relations nest in a planned include/select. */
export function relationDepth(query: unknown): number {
  if (query === null || typeof query !== 'object') return 0;
  const { include, select } = query as { include?: Record<string, unknown>; select?: Record<string, unknown> };
  let deepest = 0;
  for (const planned of [include, select]) {
    for (const value of Object.values(planned ?? {})) {
      if (value !== null && typeof value === 'object') deepest = Math.max(deepest, 1 + relationDepth(value));
    }
  }
  return deepest;
}

function parseParams(params: string): unknown[] {
  try {
    const parsed = JSON.parse(params);
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

/**
 * better-sqlite3's adapter does not say how many bind values SQLite takes, so Prisma assumes the
 * 999 of old SQLite builds and splits (or refuses) larger IN lists. The bundled SQLite takes 32766:
 * a span tree level of thousands of spans stays one statement.
 */
function sqliteAdapter(file: string) {
  const factory = new PrismaBetterSqlite3({ url: `file:${file}`, timeout: 10_000 });
  const connect = factory.connect.bind(factory);
  factory.connect = async () => {
    const adapter = await connect();
    adapter.getConnectionInfo = () => ({ maxBindValues: 32_766, supportsRelationJoins: false });
    return adapter;
  };
  return factory;
}

/**
 * Conflicts that a retry resolves: PostgreSQL deadlocks and serialization failures, and a unique
 * violation from two transactions inserting the same trace or span at once (the retry finds the
 * row and takes the idempotent path).
 */
function isTransient(error: unknown): boolean {
  const known = error as { code?: string; meta?: { driverAdapterError?: { cause?: { originalCode?: string } } } };
  if (known?.code === 'P2002' || known?.code === 'P2034') return true;
  const original = known?.meta?.driverAdapterError?.cause?.originalCode;
  return original === '40001' || original === '40P01' || original === '23505';
}
