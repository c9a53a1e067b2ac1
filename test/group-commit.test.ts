/**
 * Group commit: on SQLite, writes that queue behind a running transaction commit together, each
 * still all-or-nothing for its caller; on PostgreSQL each write has a transaction of its own. Either
 * way, concurrent writers into one trace leave exact rollups and contiguous change numbers.
 */
import { describe, expect, it } from 'vitest';
import { useTestServer } from './helpers/server.js';
import { databaseKind } from './helpers/databases.js';
import { CREATE_SPAN, uid } from './helpers/operations.js';

const server = useTestServer();

describe('writes queued together', () => {
  it(
    databaseKind === 'sqlite'
      ? 'commit in one transaction, a savepoint each: the one that fails is rolled back alone'
      : 'each run in a transaction of their own: the one that fails is rolled back alone',
    async () => {
      const statements: string[] = [];
      const stop = server().onQuery((sql) => statements.push(sql));
      const ids = Array.from({ length: 10 }, () => uid('gc'));
      let outcomes: PromiseSettledResult<unknown>[];
      try {
        // Queued at once: they are committed as one group.
        outcomes = await Promise.allSettled(
          ids.map((id, index) =>
            server().services.db.write(async (tx) => {
              await tx.organization.upsert({ where: { id: id }, create: { id, name: `org ${index}` }, update: {} });
              if (index === 4) throw new Error('this write fails');
              return id;
            }),
          ),
        );
      } finally {
        stop();
      }
      expect(outcomes.map((outcome) => outcome.status)).toEqual(ids.map((_, index) => (index === 4 ? 'rejected' : 'fulfilled')));
      expect(String((outcomes[4] as PromiseRejectedResult).reason)).toMatch(/this write fails/);
      const stored = await server().services.db.read.organization.findMany({ where: { id: { in: ids } }, select: { id: true } });
      expect(stored.map((row) => row.id).sort()).toEqual(ids.filter((_, index) => index !== 4).sort());
      const savepoints = statements.filter((sql) => /^SAVEPOINT/i.test(sql.trim())).length;
      const rollbacks = statements.filter((sql) => /^ROLLBACK TO/i.test(sql.trim())).length;
      if (databaseKind === 'sqlite') {
        expect(savepoints).toBe(10);
        expect(rollbacks).toBe(1);
      } else {
        expect(savepoints).toBe(0);
      }
    },
  );

  it('concurrent span writers into one trace: failures alone, rollups exact, change numbers contiguous', async () => {
    const { gql, request } = server();
    const root = (await gql(CREATE_SPAN, { input: { name: 'busy' } })).createSpan;
    const taken = (await gql(CREATE_SPAN, { input: { id: uid('taken'), parentId: root.id, name: 'first' } })).createSpan;
    const replies = await Promise.all(
      Array.from({ length: 24 }, (_, index) =>
        index % 6 === 0
          ? request(CREATE_SPAN, { input: { id: taken.id, parentId: root.id, name: 'other content' } })
          : request(CREATE_SPAN, { input: { parentId: root.id, name: `w${index}`, inputTokens: 1 } }),
      ),
    );
    const refused = replies.filter((reply) => reply.errors);
    expect(refused).toHaveLength(4);
    expect(refused.every((reply) => reply.errors![0]!.extensions?.code === 'CONFLICT')).toBe(true);
    const { trace } = await gql(`query($id: ID!) { trace(id: $id) { spanCount totalTokens spans { name } } }`, { id: root.traceId });
    expect(trace).toMatchObject({ spanCount: 22, totalTokens: 20 });
    const rows = await server().services.db.read.span.findMany({ where: { projectId: 'default', traceId: root.traceId }, select: { seq: true } });
    expect(rows.map((row) => row.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 22 }, (_, index) => index + 1));
  });
});
