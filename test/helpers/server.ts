/**
 * A real Spantree server for a test file: fresh database, random port, spoken to over HTTP.
 * In-process, so a test can also count the SQL statements a request sends and look at what the server
 * holds (its services: database, pub/sub, live feeds), as the application object hands them out.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { QueryObserver } from '../../src/db/database.js';
import type { Services } from '../../src/services.js';
import { startServer, type SpantreeServer } from '../../src/server.js';
import { createTestDatabase, type TestDatabase } from './databases.js';

/** The all-scope key every test server starts with (SPANTREE_INIT_API_KEY), for project `default`. */
export const TEST_API_KEY = 'st_test_suite_key_0123456789abcdef';

/** The header a client sends with `key`. */
export function bearer(key: string = TEST_API_KEY): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

/**
 * Settings every test server starts with: the suite's key, no rate limit (tests send bursts; the
 * rate-limit tests set their own), and a key file of its own.
 */
export function testServerEnv(env: Record<string, string> = {}): Record<string, string> {
  return {
    SPANTREE_INIT_API_KEY: TEST_API_KEY,
    RATE_LIMIT_PER_SECOND: '0',
    SPANTREE_ADMIN_KEY_FILE: join(tmpdir(), `spantree-admin-key-${process.pid}-${Math.random().toString(36).slice(2)}`),
    SPANTREE_SECRET_KEY_FILE: join(tmpdir(), `spantree-secret-key-${process.pid}-${Math.random().toString(36).slice(2)}`),
    ...env,
  };
}

export interface TestServerOptions {
  /**
   * The retention mode of project `default`. Most tests read back what they wrote, so FULL; the
   * retention tests start with the product's default, METADATA_ONLY.
   */
  retention?: 'FULL' | 'METADATA_ONLY';
}

export interface GraphQLResponse<T = any> {
  data?: T;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[];
}

export interface TestServer {
  url: string;
  databaseUrl: string;
  /** The server's database, pub/sub, caches and live feeds. */
  services: Services;
  /** Calls `listener` with each SQL statement the server sends from now on; returns the function that stops it. */
  onQuery(listener: QueryObserver): () => void;
  /** Sends one GraphQL operation over HTTP (with the suite's key unless `headers` say otherwise) and returns the whole response. */
  request<T = any>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphQLResponse<T>>;
  /** Like request, but fails the test on any error and returns data. */
  gql<T = any>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** Runs `work` and returns how many SQL statements it caused. */
  countStatements(work: () => Promise<unknown>): Promise<number>;
  /** Runs `work` and returns the SQL statements it caused, with their parameters. */
  statementsOf(work: () => Promise<unknown>): Promise<{ sql: string; params: unknown[] }[]>;
  /** Runs one GraphQL operation (failing on errors) and returns its data with the SQL it sent. */
  gqlWithStatements<T = any>(query: string, variables?: Record<string, unknown>): Promise<{ data: T; statements: string[] }>;
  stop(): Promise<void>;
}

export async function startTestServer(env: Record<string, string> = {}, options: TestServerOptions = {}): Promise<TestServer> {
  return serve(await createTestDatabase(), env, options);
}

/** A server on an existing database, which stays when the server stops. */
export async function startTestServerOn(databaseUrl: string, env: Record<string, string> = {}, options: TestServerOptions = {}): Promise<TestServer> {
  return serve({ url: databaseUrl, drop: async () => {} }, env, options);
}

const KEY_BOOKKEEPING = /["`]ApiKey["`]/;

async function serve(db: TestDatabase, env: Record<string, string>, { retention = 'FULL' }: TestServerOptions): Promise<TestServer> {
  let server: SpantreeServer;
  const listeners = new Set<QueryObserver>();
  const onQuery = (listener: QueryObserver) => {
    listeners.add(listener);
    return () => void listeners.delete(listener);
  };
  try {
    server = await startServer(loadConfig({ DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', ...testServerEnv(env) }), {
      onQuery: (sql, params) => {
        for (const listener of listeners) listener(sql, params);
      },
    });
  } catch (error) {
    await db.drop();
    throw error;
  }
  const request: TestServer['request'] = async (query, variables, headers) => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        ...bearer(),
        // Header names are case-insensitive: the given ones replace the defaults whatever their case.
        ...Object.fromEntries(Object.entries(headers ?? {}).map(([name, value]) => [name.toLowerCase(), value])),
      },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as GraphQLResponse;
  };
  const gql: TestServer['gql'] = async (query, variables) => {
    const response = await request(query, variables);
    if (response.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(response.errors, null, 2)}`);
    return response.data;
  };
  const statementsOf: TestServer['statementsOf'] = async (work) => {
    const sent: { sql: string; params: unknown[] }[] = [];
    // Key bookkeeping runs on its own clock (a key's lastUsedAt is written at most once a minute, cached
    // keys are re-checked periodically), so it would land in whichever window is open at the time:
    // test/auth.test.ts counts it on its own.
    const stop = onQuery((sql, params) => {
      if (!KEY_BOOKKEEPING.test(sql)) sent.push({ sql, params });
    });
    try {
      await work();
    } finally {
      stop();
    }
    return sent;
  };
  if (retention === 'FULL') {
    const set = await request(`mutation { setRetentionRule(input: { mode: FULL }) { mode } }`);
    if (set.errors) throw new Error(`could not keep content in the test project: ${JSON.stringify(set.errors)}`);
  }
  return {
    url: server.url,
    databaseUrl: db.url,
    services: server.services,
    onQuery,
    request,
    gql,
    async countStatements(work) {
      return (await statementsOf(work)).length;
    },
    statementsOf,
    async gqlWithStatements(query, variables) {
      let data: any;
      const statements = await statementsOf(async () => {
        data = await gql(query, variables);
      });
      return { data, statements: statements.map((statement) => statement.sql) };
    },
    async stop() {
      try {
        await server.stop();
      } finally {
        await db.drop();
      }
    },
  };
}

/** Starts one server for the whole file and stops it afterwards. */
export function useTestServer(env?: Record<string, string>, options?: TestServerOptions): () => TestServer {
  let server: TestServer | undefined;
  beforeAll(async () => {
    server = await startTestServer(env, options);
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('The test server has not started');
    return server;
  };
}

/** The server's base URL (without /graphql), for its other routes. */
export function originOf(url: string): string {
  return url.replace(/\/graphql$/, '');
}

/** A plain GET: status and body text (health checks). */
export async function getText(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}
