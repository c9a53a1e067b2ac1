/**
 * /health is readiness (database reachable, migrations applied), /health/live is liveness; a start
 * with the database or Redis unreachable ends with one readable line.
 */
import { describe, expect, it } from 'vitest';
import { getText, originOf, startTestServer } from './helpers/server.js';
import { createTestDatabase } from './helpers/databases.js';
import { failedStart } from './helpers/process.js';


describe('health checks', () => {
  it('are ready when the database answers with every migration, and say why not when it does not', async () => {
    const server = await startTestServer();
    try {
      expect((await getText(`${originOf(server.url)}/health`)).status).toBe(200);
      expect((await getText(`${originOf(server.url)}/health/live`)).status).toBe(200);
      // Take the newest migration's record away: this database is no longer what this version needs.
      await server.services.db.write((tx) =>
        tx.$executeRawUnsafe(`DELETE FROM "_prisma_migrations" WHERE "migration_name" = (SELECT MAX("migration_name") FROM "_prisma_migrations")`),
      );
      const notReady = await getText(`${originOf(server.url)}/health`);
      expect(notReady.status).toBe(503);
      expect(notReady.body).toMatch(/the database holds \d+ of \d+ migrations/);
      expect((await getText(`${originOf(server.url)}/health/live`)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});

describe('a start that cannot reach what it needs', () => {
  it('ends with one readable line when the database is unreachable', async () => {
    const { code, output } = await failedStart({ DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/spantree' });
    expect(code).toBe(1);
    expect(output.trim()).toBe(
      'Spantree could not start: the database (DATABASE_URL) is unreachable at 127.0.0.1:1 (ECONNREFUSED); check that it is running and that the URL is right',
    );
  });

  it('ends with one readable line when Redis is unreachable', async () => {
    const db = await createTestDatabase();
    try {
      const { code, output } = await failedStart({ DATABASE_URL: db.url, REDIS_URL: 'redis://127.0.0.1:1' });
      expect(code).toBe(1);
      expect(output.trim()).toBe(
        'Spantree could not start: Redis (REDIS_URL) is unreachable: connect ECONNREFUSED 127.0.0.1:1; check that it is running and that the URL is right',
      );
    } finally {
      await db.drop();
    }
  });
});
