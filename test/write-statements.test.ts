/**
 * The write path's cost: a batch costs the same number of statements whatever its number of spans
 * and traces, a single write the same whatever the size of its trace, and every statement it sends
 * is served by an index (checked with the database's own EXPLAIN), so writes do not slow down as
 * the database grows.
 */
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import Sqlite from 'better-sqlite3';
import { sqliteFilePath } from '../src/db/database-url.js';
import { useTestServer } from './helpers/server.js';
import { databaseKind } from './helpers/databases.js';
import { CREATE_SPAN, CREATE_SPANS, uid, UPDATE_SPAN } from './helpers/operations.js';

const server = useTestServer();

const statementsOf = (work: () => Promise<unknown>) => server().statementsOf(work);

const batch = (traces: number, spans: number) =>
  Array.from({ length: spans }, (_, index) => ({ traceId: `t-${uid('b')}-${index % traces}`, name: `s${index}`, input: 'x'.repeat(100), tags: ['a', `t${index % 3}`] }));

describe('statements per write', () => {
  it('a createSpans batch costs the same whatever its number of spans and traces', async () => {
    const { gql } = server();
    const count = async (input: unknown[]) => (await statementsOf(() => gql(CREATE_SPANS, { input }))).length;
    await count(batch(1, 1)); // the key and the retention rule are cached from here on
    const small = await count(batch(1, 2));
    expect(await count(batch(1, 200))).toBe(small);
    expect(await count(batch(200, 200))).toBe(small);
    expect(await count(batch(37, 500))).toBe(small);
    expect(small).toBeLessThanOrEqual(9);
  });

  it('a createSpan or updateSpan costs the same in a trace of 3 spans as in one of 1,500', async () => {
    const { gql } = server();
    const costs = async (size: number) => {
      const root = (await gql(CREATE_SPAN, { input: { name: 'root', input: 'r'.repeat(100_000), startTime: '2026-11-24T09:00:00.000Z' } })).createSpan;
      for (let made = 1; made < size; made += 500) {
        const input = Array.from({ length: Math.min(500, size - made) }, (_, index) => ({
          parentId: root.id,
          name: `filler-${made + index}`,
          startTime: '2026-11-24T09:00:01.000Z',
          endTime: '2026-11-24T09:00:02.000Z',
        }));
        await gql(CREATE_SPANS, { input });
      }
      const create = await statementsOf(() => gql(CREATE_SPAN, { input: { parentId: root.id, name: 'new', startTime: '2026-11-24T09:00:03.000Z' } }));
      const span = (await gql(CREATE_SPAN, { input: { parentId: root.id, name: 'to-close', startTime: '2026-11-24T09:00:03.000Z' } })).createSpan;
      const update = await statementsOf(() => gql(UPDATE_SPAN, { id: span.id, input: { endTime: '2026-11-24T09:00:04.000Z', output: 'done' } }));
      return { create: create.length, update: update.length };
    };
    expect(await costs(1_500)).toEqual(await costs(3));
  });

  it('every statement of a create, a batch and an update is served by an index', async () => {
    const { gql } = server();
    const root = (await gql(CREATE_SPAN, { input: { name: 'indexed', startTime: '2026-11-24T09:00:00.000Z' } })).createSpan;
    const early = uid('early-child');
    const lateParent = uid('late-parent');
    const sent = [
      ...(await statementsOf(() => gql(CREATE_SPAN, { input: { parentId: root.id, name: 'child' } }))),
      ...(await statementsOf(() => gql(CREATE_SPANS, { input: [...batch(3, 6), { id: early, traceId: root.traceId, parentId: lateParent, name: 'early' }] }))),
      ...(await statementsOf(() => gql(UPDATE_SPAN, { id: root.id, input: { endTime: '2026-11-24T09:00:05.000Z', name: 'renamed' } }))),
      // A late root whose children are stored; a root that moves later, and an end moved earlier: the
      // recomputations a delta cannot do.
      ...(await statementsOf(() => gql(CREATE_SPAN, { input: { id: lateParent, traceId: root.traceId, name: 'late-root', startTime: '2026-11-24T09:00:00.700Z' } }))),
      ...(await statementsOf(() => gql(UPDATE_SPAN, { id: root.id, input: { startTime: '2026-11-24T09:00:00.500Z', endTime: '2026-11-24T09:00:01.000Z' } }))),
    ].filter(({ sql }) => /^\s*(SELECT|UPDATE|DELETE|WITH)/i.test(sql) && !/pg_advisory/.test(sql));
    expect(sent.length).toBeGreaterThan(5);
    const scans: string[] = [];
    if (databaseKind === 'sqlite') {
      const db = new Sqlite(sqliteFilePath(server().databaseUrl), { readonly: true });
      try {
        for (const { sql, params } of sent) {
          const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...(params as unknown[]).map(bindable)) as { detail: string }[];
          // "SCAN Span" reads the whole table; a SEARCH constrained by projectId alone walks the whole
          // project (what an index chosen to serve an ORDER BY or a DISTINCT does): both grow with the database.
          for (const { detail } of plan) {
            if (/^SCAN (Span|Trace)\b/.test(detail) || /^SEARCH (Span|Trace)\b.*\(projectId=\?\)/.test(detail)) scans.push(`${detail}: ${sql}`);
          }
        }
      } finally {
        db.close();
      }
    } else {
      const client = new pg.Client({ connectionString: server().databaseUrl });
      await client.connect();
      try {
        // Tables this small are read whole because that is cheaper: forbid it, and see whether an index can serve.
        await client.query('SET enable_seqscan = off');
        for (const { sql, params } of sent) {
          const plan = (await client.query(`EXPLAIN ${sql}`, params as unknown[])).rows.map((row) => row['QUERY PLAN'] as string);
          plan.forEach((line, index) => {
            if (/Seq Scan on "(Span|Trace)"/.test(line)) scans.push(`${line.trim()}: ${sql}`);
            // An index searched by the project alone walks the whole project.
            const condition = /Index (Only )?Scan using \S+ on "(Span|Trace)"/.test(line) ? plan[index + 1] : undefined;
            if (condition && /Index Cond: \("projectId" = \$\d+\)\s*$/.test(condition)) scans.push(`${line.trim()} ${condition.trim()}: ${sql}`);
          });
        }
      } finally {
        await client.end();
      }
    }
    expect(scans).toEqual([]);
  });
});

/** Parameters as better-sqlite3 binds them: no booleans, no objects. */
function bindable(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return value;
}
