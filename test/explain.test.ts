/**
 * The explorer's queries run on indexes at scale: 100,000 traces, and the plans of the very SQL the
 * server sends for the default listing (newest first), a status filter and, on PostgreSQL, the
 * metadata filter (GIN on JSONB) and the name search (trigram GIN).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { databaseKind } from './helpers/databases.js';
import { useTestServer } from './helpers/server.js';

const server = useTestServer();
const TRACES = 100_000;

beforeAll(async () => {
  // Fixture rows straight into the table: this test is about plans, not about writing.
  const { read } = server().services.db;
  if (databaseKind === 'postgresql') {
    await read.$executeRawUnsafe(`
      INSERT INTO "Trace" ("projectId", "id", "name", "status", "startTime", "endTime", "durationMs", "spanCount",
        "totalTokens", "cost", "composition", "tags", "meta", "spanSeq", "createdAt", "updatedAt")
      SELECT 'default', 'bulk-' || i, 'pipeline-' || md5(i::text), CASE WHEN i % 10 = 0 THEN 'ERROR' ELSE 'OK' END,
        timestamp '2026-01-01' + i * interval '1 second', timestamp '2026-01-01' + i * interval '1 second' + interval '2 seconds',
        2000, 3, i % 5000, (i % 100) / 100.0, '{"GENERATION": 1, "TOOL": 2}', '["bulk"]',
        jsonb_build_object('tenant', 't' || (i % 5000), 'plan', CASE WHEN i % 2 = 0 THEN 'pro' ELSE 'free' END), 3, now(), now()
      FROM generate_series(1, ${TRACES}) AS i`);
    // Statistics from every row, not a sample of 30,000: the plans then follow from the data, the same
    // on every run, instead of from which rows a sample happened to take.
    await read.$executeRawUnsafe(
      `ALTER TABLE "Trace" ${['projectId', 'origin', 'status', 'startTime', 'name', 'meta'].map((column) => `ALTER COLUMN "${column}" SET STATISTICS 1000`).join(', ')}`,
    );
    await read.$executeRawUnsafe('ANALYZE "Trace"');
  } else {
    await read.$executeRawUnsafe(`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${TRACES})
      INSERT INTO "Trace" ("projectId", "id", "name", "status", "startTime", "endTime", "durationMs", "spanCount",
        "totalTokens", "cost", "composition", "tags", "meta", "spanSeq", "createdAt", "updatedAt")
      SELECT 'default', 'bulk-' || i, 'pipeline-' || hex(randomblob(8)), CASE WHEN i % 10 = 0 THEN 'ERROR' ELSE 'OK' END,
        strftime('%Y-%m-%dT%H:%M:%S.000+00:00', 1767225600 + i, 'unixepoch'),
        strftime('%Y-%m-%dT%H:%M:%S.000+00:00', 1767225602 + i, 'unixepoch'),
        2000, 3, i % 5000, (i % 100) / 100.0, '{"GENERATION":1,"TOOL":2}', '["bulk"]',
        json_object('tenant', 't' || (i % 5000), 'plan', CASE WHEN i % 2 = 0 THEN 'pro' ELSE 'free' END), 3,
        strftime('%Y-%m-%dT%H:%M:%S.000+00:00', 'now'), strftime('%Y-%m-%dT%H:%M:%S.000+00:00', 'now')
      FROM n`);
    await read.$executeRawUnsafe('ANALYZE');
  }
});

/** Runs a GraphQL query and returns the SQL statements it sent, with their parameters. */
async function statementsOf(query: string): Promise<{ query: string; params: unknown[] }[]> {
  return (await server().statementsOf(() => server().gql(query))).map(({ sql, params }) => ({ query: sql, params }));
}

/** The plan of the statement that reads the page of trace ids. */
async function planOf(graphql: string): Promise<string> {
  const statements = await statementsOf(graphql);
  const page = statements.find((statement) => /FROM "Trace" AS "trace"/.test(statement.query) && /ORDER BY/.test(statement.query));
  if (!page) throw new Error(`no page query among:\n${statements.map((s) => s.query).join('\n')}`);
  const explain = databaseKind === 'postgresql' ? 'EXPLAIN ' : 'EXPLAIN QUERY PLAN ';
  const rows = await server().services.db.read.$queryRawUnsafe<Record<string, unknown>[]>(explain + page.query, ...page.params);
  return rows.map((row) => String(row['QUERY PLAN'] ?? row.detail)).join('\n');
}

/**
 * The index the default listing walks. The explorer lists an application's traces (origin APP) unless
 * it asks for playground runs, so each of its indexes has the origin after the project.
 */
const LISTING_INDEX = /Trace_projectId_origin_startTime_id_idx/;

describe(`explorer query plans on ${TRACES.toLocaleString('en')} traces (${databaseKind})`, () => {
  it('the default listing, newest first, walks the (projectId, origin, startTime, id) index: no scan, no sort', async () => {
    const { traces } = await server().gql(`{ traces(first: 50) { totalCount edges { node { id } } } }`);
    expect(traces.totalCount).toBe(TRACES);
    expect(traces.edges[0].node.id).toBe(`bulk-${TRACES}`);
    const plan = await planOf(`{ traces(first: 50) { edges { node { id } } } }`);
    expect(plan).toMatch(LISTING_INDEX);
    expect(plan).not.toMatch(/Seq Scan|TEMP B-TREE|^Sort/m);
  });

  it('the next page (a cursor) uses the same index', async () => {
    const { traces } = await server().gql(`{ traces(first: 50) { pageInfo { endCursor } } }`);
    const plan = await planOf(`{ traces(first: 50, after: "${traces.pageInfo.endCursor}") { edges { node { id } } } }`);
    expect(plan).toMatch(LISTING_INDEX);
    expect(plan).not.toMatch(/Seq Scan|TEMP B-TREE/);
  });

  it('a page deep in the list seeks to its cursor on the index: no row before it is read', async () => {
    // A cursor of the default ordering 50,000 traces down the list, taken where a start-time filter
    // puts it (a cursor holds the ordering's values, so it is valid for the unfiltered list too).
    const deep = await server().gql(`{ traces(first: 1, filter: { startTime: { lte: "2026-01-01T13:53:20.000Z" } }) {
      edges { node { id } } pageInfo { endCursor } } }`);
    expect(deep.traces.edges).toEqual([{ node: { id: 'bulk-50000' } }]);
    const graphql = `{ traces(first: 50, after: "${deep.traces.pageInfo.endCursor}") { edges { node { id startTime } } } }`;
    const { traces } = await server().gql(graphql);
    expect(traces.edges.map((edge: { node: { id: string } }) => edge.node.id)).toEqual(Array.from({ length: 50 }, (_, i) => `bulk-${49_999 - i}`));

    const page = (await statementsOf(graphql)).find((statement) => /ORDER BY/.test(statement.query))!;
    expect(page.query).toMatch(/\("trace"\."startTime", "trace"\."id"\) < \(/);
    if (databaseKind === 'postgresql') {
      const [{ 'QUERY PLAN': [plan] }] = await server().services.db.read.$queryRawUnsafe<any[]>(`EXPLAIN (ANALYZE, FORMAT JSON) ${page.query}`, ...page.params);
      const nodes: any[] = [];
      const walk = (node: any) => {
        nodes.push(node);
        for (const child of node.Plans ?? []) walk(child);
      };
      walk(plan.Plan);
      const scan = nodes.find((node) => LISTING_INDEX.test(node['Index Name'] ?? ''));
      expect(scan, JSON.stringify(plan)).toBeDefined();
      // The cursor is where the scan starts (an index condition), not a filter over the rows before it.
      expect(scan['Index Cond']).toMatch(/ROW\("startTime", id\) < ROW\(/);
      expect(scan['Rows Removed by Filter'] ?? 0).toBe(0);
      expect(nodes.map((node) => node['Rows Removed by Filter'] ?? 0)).toEqual(nodes.map(() => 0));
      expect(scan['Actual Rows']).toBeLessThanOrEqual(51);
    } else {
      const rows = await server().services.db.read.$queryRawUnsafe<{ detail: string }[]>(`EXPLAIN QUERY PLAN ${page.query}`, ...page.params);
      const plan = rows.map((row) => row.detail).join('\n');
      // The cursor bounds the index search, next to the project: SQLite starts reading at it.
      expect(plan).toMatch(/SEARCH trace USING (COVERING )?INDEX Trace_projectId_origin_startTime_id_idx \(projectId=\? AND origin=\? AND \(startTime,id\)<\(\?,\?\)\)/);
    }
  });

  it('a status filter is served by an index', async () => {
    const plan = await planOf(`{ traces(first: 50, filter: { status: [ERROR] }) { edges { node { id } } } }`);
    expect(plan).toMatch(/Trace_projectId_origin_status_startTime_idx|Trace_projectId_origin_startTime_id_idx/);
    expect(plan).not.toMatch(/Seq Scan/);
  });

  if (databaseKind === 'postgresql') {
    it('the metadata filter uses the GIN index on meta (JSONB @>)', async () => {
      const plan = await planOf(`{ traces(first: 50, filter: { meta: { tenant: "t42" } }) { edges { node { id } } } }`);
      expect(plan).toContain('Trace_meta_idx');
      expect(plan).not.toMatch(/Seq Scan/);
    });

    it('name search uses the trigram index', async () => {
      const plan = await planOf(`{ traces(first: 50, filter: { search: "pipeline-c4ca4238" }) { edges { node { id } } } }`);
      expect(plan).toContain('Trace_name_idx');
      expect(plan).not.toMatch(/Seq Scan/);
    });
  }
});
