/**
 * Spantree under test: started in this process on a fresh database, spoken to only through its
 * public GraphQL API over HTTP, as any client would. In-process so that the SQL statements a request
 * sends can be counted (database().onQuery).
 */
import { loadConfig } from '../src/config.js';
import { database } from '../src/db/database.js';
import { startServer } from '../src/server.js';
import { resetShutdownSignal } from '../src/shutdown.js';
import type { FreshDatabase } from './databases.js';
import { postJson } from './http.js';

/** The benchmark's own all-scope key, created at start (SPANTREE_INIT_API_KEY). */
const KEY = 'st_benchmark_key_0123456789abcdef';

export interface Spantree {
  url: string;
  databaseUrl: string;
  /** The project the benchmark's key writes to: the read floors query its rows. */
  projectId: string;
  /** Runs a GraphQL operation; throws on any error in the answer. */
  gql<T = any>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** The SQL statements Spantree sends while `work` runs (run it alone for a per-request count). */
  statementsDuring(work: () => Promise<unknown>): Promise<number>;
  stop(): Promise<void>;
}

export async function startSpantree(db: FreshDatabase): Promise<Spantree> {
  resetShutdownSignal();
  const server = await startServer(
    loadConfig({
      DATABASE_URL: db.url,
      PORT: '0',
      GRAPHIQL: 'false',
      SPANTREE_INIT_API_KEY: KEY,
      // A benchmark is one client sending as fast as it can: the per-key limit would measure itself.
      RATE_LIMIT_PER_SECOND: '0',
    }),
  );
  const headers = { authorization: `Bearer ${KEY}` };
  const gql = async (query: string, variables?: Record<string, unknown>) => {
    const body = (await postJson(server.url, { query, variables }, headers)) as { data?: any; errors?: unknown };
    if (body.errors) throw new Error(`Spantree answered with errors: ${JSON.stringify(body.errors).slice(0, 2000)}`);
    return body.data;
  };
  // The workloads write and read content (input, output); a project keeps only metadata by default.
  await gql(`mutation { setRetentionRule(input: { mode: FULL }) { mode } }`);
  const { viewer } = await gql(`{ viewer { project { id } } }`);
  return {
    url: server.url,
    databaseUrl: db.url,
    projectId: viewer.project.id,
    gql,
    async statementsDuring(work) {
      let count = 0;
      const stopCounting = database().onQuery(() => count++);
      try {
        await work();
      } finally {
        stopCounting();
      }
      return count;
    },
    stop: () => server.stop(),
  };
}

/** Starts Spantree on `db`, runs `work`, and always stops it again. */
export async function withSpantree<T>(db: FreshDatabase, work: (spantree: Spantree) => Promise<T>): Promise<T> {
  const spantree = await startSpantree(db);
  try {
    return await work(spantree);
  } finally {
    await spantree.stop();
  }
}
