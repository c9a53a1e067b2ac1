/**
 * The peer for tree reads on PostgreSQL: PostGraphile v5 (Amber preset, defaults otherwise) over a
 * copy of one trace's rows. PostGraphile derives relations from foreign keys, which Spantree's tables
 * do not have (a child may arrive before its parent), so the copy lives in a schema of its own with
 * the same columns and indexes (LIKE ... INCLUDING ALL) plus the foreign keys.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { pgPoolConfig } from '../src/db/database-url.js';

// PostGraphile v5 asks for Node 22; on Node 20 the one thing it misses is Promise.withResolvers.
(Promise as unknown as { withResolvers?: unknown }).withResolvers ??= function withResolvers<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

const SCHEMA = 'pgl_copy';

export interface PostGraphilePeer {
  url: string;
  stop(): Promise<void>;
}

/** Copies trace `traceId` of `projectId` into the peer's schema, with foreign keys. */
export async function copyTraceForPeer(databaseUrl: string, projectId: string, traceId: string) {
  const client = new pg.Client(pgPoolConfig(databaseUrl));
  await client.connect();
  try {
    await client.query(`
      CREATE SCHEMA ${SCHEMA};
      CREATE TABLE ${SCHEMA}."Trace" (LIKE public."Trace" INCLUDING ALL);
      CREATE TABLE ${SCHEMA}."Span" (LIKE public."Span" INCLUDING ALL);`);
    await client.query(`INSERT INTO ${SCHEMA}."Trace" SELECT * FROM public."Trace" WHERE "projectId" = $1 AND "id" = $2`, [projectId, traceId]);
    await client.query(`INSERT INTO ${SCHEMA}."Span" SELECT * FROM public."Span" WHERE "projectId" = $1 AND "traceId" = $2`, [projectId, traceId]);
    await client.query(`
      ALTER TABLE ${SCHEMA}."Span" ADD CONSTRAINT "Span_parent_fkey" FOREIGN KEY ("projectId", "parentId") REFERENCES ${SCHEMA}."Span" ("projectId", "id");
      ALTER TABLE ${SCHEMA}."Span" ADD CONSTRAINT "Span_trace_fkey" FOREIGN KEY ("projectId", "traceId") REFERENCES ${SCHEMA}."Trace" ("projectId", "id");
      ALTER TABLE ${SCHEMA}."Trace" ADD CONSTRAINT "Trace_root_fkey" FOREIGN KEY ("projectId", "rootSpanId") REFERENCES ${SCHEMA}."Span" ("projectId", "id");
      ANALYZE ${SCHEMA}."Trace";
      ANALYZE ${SCHEMA}."Span";`);
  } finally {
    await client.end();
  }
}

/** Starts PostGraphile on its own node:http server (grafserv), over the copy schema. */
export async function startPostGraphile(databaseUrl: string): Promise<PostGraphilePeer> {
  process.env.GRAPHILE_ENV ??= 'production';
  // Imported here, after the polyfill, and only when PostgreSQL is measured. PostGraphile is the
  // benchmark's own dependency (bench/package.json, installed by `npm run bench` on first use), so
  // the project's type check, which runs without it, sees these modules untyped.
  const peer = (name: string): Promise<any> => import(name);
  const { postgraphile } = await peer('postgraphile');
  const { PostGraphileAmberPreset } = await peer('postgraphile/presets/amber');
  const { makePgService } = await peer('postgraphile/adaptors/pg');
  const { grafserv } = await peer('postgraphile/grafserv/node');
  // node-postgres' default pool size (10), as Spantree and the floor use.
  const pool = new pg.Pool(pgPoolConfig(databaseUrl));
  // As the floor's (bench/floor.ts): an idle client ended by the server is no reason to stop the run.
  pool.on('error', () => {});
  const pgl = postgraphile({
    extends: [PostGraphileAmberPreset],
    pgServices: [makePgService({ pool, schemas: [SCHEMA] })],
    grafserv: { graphqlPath: '/graphql', graphiql: false },
  });
  const serv = pgl.createServ(grafserv);
  const server = createServer();
  await serv.addTo(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await pgl.release();
      await pool.end().catch(() => {}); // ended already if PostGraphile owns it
    },
  };
}
