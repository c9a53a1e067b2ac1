/** Readiness on PostgreSQL: not ready while the database is gone, alive all the same. */
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { getText, originOf, startTestServerOn } from '../helpers/server.js';
import { createTestDatabase, postgresServerUrl } from '../helpers/databases.js';


describe('health checks on PostgreSQL', () => {
  it('are not ready while the database is gone', async () => {
    const db = await createTestDatabase();
    const server = await startTestServerOn(db.url);
    try {
      expect((await getText(`${originOf(server.url)}/health`)).status).toBe(200);
      const admin = new pg.Client({ connectionString: postgresServerUrl });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE "${new URL(db.url).pathname.slice(1)}" WITH (FORCE)`);
      } finally {
        await admin.end();
      }
      const gone = await getText(`${originOf(server.url)}/health`);
      expect(gone.status).toBe(503);
      expect(gone.body).toBe('the database is not reachable');
      expect((await getText(`${originOf(server.url)}/health/live`)).status).toBe(200);
    } finally {
      await server.stop().catch(() => {});
      await db.drop();
    }
  });
});
