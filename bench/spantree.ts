/**
 * Spantree under test: started in this process on a fresh database, spoken to only through its
 * public GraphQL API over HTTP, as any client would. In-process so that the SQL statements a request
 * sends can be counted, for the workloads that report them (`countStatements`); the others run the
 * server as it runs in production, with no query events at all.
 */
import { loadConfig } from '../src/config.js';
import type { QueryObserver } from '../src/db/database.js';
import { startServer } from '../src/server.js';
import type { FreshDatabase } from './databases.js';
import { postJson } from './http.js';
import { SECRET_KEY } from './secret-key.js';

/** The benchmark's own all-scope key, created at start (SPANTREE_INIT_API_KEY). */
export const KEY = 'st_benchmark_key_0123456789abcdef';

export interface Spantree {
  url: string;
  databaseUrl: string;
  /** The project the benchmark's key writes to: the read floors query its rows. */
  projectId: string;
  /** Runs a GraphQL operation; throws on any error in the answer. */
  gql<T = any>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** The SQL statements Spantree sends while `work` runs (run it alone for a per-request count); needs `countStatements`. */
  statementsDuring(work: () => Promise<unknown>): Promise<number>;
  stop(): Promise<void>;
}

export interface SpantreeOptions {
  /** Count the SQL statements sent (statementsDuring): Prisma then emits an event per statement. */
  countStatements?: boolean;
  /** Settings beyond the benchmark's own (e.g. PLAYGROUND_ALLOW_PRIVATE_NETWORKS for a loopback provider). */
  env?: Record<string, string>;
}

export async function startSpantree(db: FreshDatabase, { countStatements = false, env = {} }: SpantreeOptions = {}): Promise<Spantree> {
  let counting: QueryObserver | undefined;
  const server = await startServer(
    loadConfig({
      DATABASE_URL: db.url,
      PORT: '0',
      GRAPHIQL: 'false',
      SPANTREE_INIT_API_KEY: KEY,
      // A benchmark is one client sending as fast as it can: the per-key limit would measure itself.
      RATE_LIMIT_PER_SECOND: '0',
      // Given, so that a start never generates ./data/secret-key in the checkout the benchmark runs in.
      SPANTREE_SECRET_KEY: SECRET_KEY,
      ...env,
    }),
    countStatements ? { onQuery: (sql, params) => counting?.(sql, params) } : {},
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
      if (!countStatements) throw new Error('statementsDuring needs a Spantree started with countStatements');
      let count = 0;
      counting = () => count++;
      try {
        await work();
      } finally {
        counting = undefined;
      }
      return count;
    },
    stop: () => server.stop(),
  };
}

/** Starts Spantree on `db`, runs `work`, and always stops it again. */
export async function withSpantree<T>(db: FreshDatabase, work: (spantree: Spantree) => Promise<T>, options: SpantreeOptions = {}): Promise<T> {
  const spantree = await startSpantree(db, options);
  try {
    return await work(spantree);
  } finally {
    await spantree.stop();
  }
}
