/**
 * A real Spantree server for a test file: fresh database, random port, spoken to over HTTP.
 * In-process, so a test can also count the SQL statements a request sends.
 */
import { afterAll, beforeAll } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { database } from '../../src/db/database.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { resetShutdownSignal } from '../../src/shutdown.js';
import { createTestDatabase, type TestDatabase } from './databases.js';

export interface GraphQLResponse<T = any> {
  data?: T;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[];
}

export interface TestServer {
  url: string;
  databaseUrl: string;
  /** Sends one GraphQL operation over HTTP and returns the whole response. */
  request<T = any>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphQLResponse<T>>;
  /** Like request, but fails the test on any error and returns data. */
  gql<T = any>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** Runs `work` and returns how many SQL statements it caused. */
  countStatements(work: () => Promise<unknown>): Promise<number>;
  stop(): Promise<void>;
}

export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  return serve(await createTestDatabase(), env);
}

/** A server on an existing database, which stays when the server stops. */
export async function startTestServerOn(databaseUrl: string, env: Record<string, string> = {}): Promise<TestServer> {
  return serve({ url: databaseUrl, drop: async () => {} }, env);
}

async function serve(db: TestDatabase, env: Record<string, string>): Promise<TestServer> {
  resetShutdownSignal();
  let server: RunningServer;
  try {
    server = await startServer(loadConfig({ DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', ...env }));
  } catch (error) {
    await db.drop();
    throw error;
  }
  const request: TestServer['request'] = async (query, variables, headers) => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as GraphQLResponse;
  };
  return {
    url: server.url,
    databaseUrl: db.url,
    request,
    async gql(query, variables) {
      const response = await request(query, variables);
      if (response.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(response.errors, null, 2)}`);
      return response.data;
    },
    async countStatements(work) {
      let count = 0;
      const stop = database().onQuery(() => count++);
      try {
        await work();
      } finally {
        stop();
      }
      return count;
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
export function useTestServer(env?: Record<string, string>): () => TestServer {
  let server: TestServer | undefined;
  beforeAll(async () => {
    server = await startTestServer(env);
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('The test server has not started');
    return server;
  };
}
