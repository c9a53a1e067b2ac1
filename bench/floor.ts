/**
 * The floor: what a user would compare Spantree against, a minimal `node:http` server in this same
 * process that parses the same JSON body and talks to the database with the raw driver
 * (better-sqlite3 or pg), with no GraphQL, no ORM and no validation. Its handlers live in the
 * workload files; this module holds the server and the raw connections.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { pgPoolConfig, providerOf, sqliteFilePath, type Provider } from '../src/db/database-url.js';

export type FloorHandler = (body: any) => unknown | Promise<unknown>;

export interface FloorServer {
  /** http://127.0.0.1:port/<route> */
  url(route: string): string;
  stop(): Promise<void>;
}

export async function startFloor(routes: Record<string, FloorHandler>): Promise<FloorServer> {
  const server = createServer(async (request, response) => {
    try {
      const handler = routes[(request.url ?? '/').slice(1)];
      if (!handler) {
        response.writeHead(404).end();
        return;
      }
      const result = await handler(JSON.parse(await readBody(request)));
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
    } catch (error) {
      response.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ message: String(error) }] }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (route) => `http://127.0.0.1:${port}/${route}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A raw driver connection: better-sqlite3 for SQLite, a node-postgres pool for PostgreSQL. */
export interface RawDatabase {
  provider: Provider;
  sqlite: BetterSqlite3.Database | undefined;
  pool: pg.Pool | undefined;
  /** Rows of one statement, `?` placeholders on both databases. */
  all<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export function openRaw(url: string): RawDatabase {
  const provider = providerOf(url);
  if (provider === 'sqlite') {
    const sqlite = new BetterSqlite3(sqliteFilePath(url), { timeout: 10_000 });
    // Spantree's durability (src/db/database.ts): WAL, and every commit synced.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    return {
      provider,
      sqlite,
      pool: undefined,
      all: async (sql, params = []) => sqlite.prepare(sql).all(...(params as unknown[])) as any[],
      close: async () => void sqlite.close(),
    };
  }
  // node-postgres' default pool size (10), as Spantree's adapter uses.
  const pool = new pg.Pool(pgPoolConfig(url));
  // An idle client whose connection the server ends (the workload's database dropped WITH (FORCE)
  // while the pool winds down) is an 'error' event on the pool: without a listener, the end of the run.
  pool.on('error', () => {});
  return {
    provider,
    sqlite: undefined,
    pool,
    all: async (sql, params = []) => (await pool.query(numbered(sql), params)).rows,
    close: () => pool.end(),
  };
}

/** `?` placeholders as PostgreSQL's `$1, $2, ...`. */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
