/**
 * Redis going away must not take Spantree with it: writes keep being acknowledged and stored, the
 * process stays up, and it says in its log why live updates between instances are delayed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/databases.js';
import { post, spawnServer, type ServerProcess } from './helpers/process.js';

let redis: ChildProcess | undefined;
let server: ServerProcess | undefined;
let db: TestDatabase | undefined;
afterAll(async () => {
  await server?.kill();
  redis?.kill('SIGKILL');
  await db?.drop();
});

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('when Redis goes away', () => {
  it('writes are still acknowledged and stored, and the server stays up', async () => {
    const port = await freePort();
    // A Redis of this test's own, on loopback, so that stopping it touches nothing else.
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    for (let attempt = 0; attempt < 100; attempt++) {
      const open = await new Promise<boolean>((resolve) => {
        const socket = createServer().listen(port, '127.0.0.1');
        socket.once('listening', () => socket.close(() => resolve(false)));
        socket.once('error', () => resolve(true));
      });
      if (open) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    db = await createTestDatabase();
    server = await spawnServer({ DATABASE_URL: db.url, REDIS_URL: `redis://127.0.0.1:${port}` });
    const write = (name: string) => post(server!.url, `mutation { createSpan(input: { name: "${name}" }) { id } }`);
    expect((await write('before')).errors).toBeUndefined();

    redis.kill('SIGKILL');
    await new Promise((resolve) => redis!.once('exit', resolve));
    const during = await write('during-outage');
    expect(during.errors).toBeUndefined();
    // Failed publishes surface within a few seconds; the process must survive them.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(server.child.exitCode).toBeNull();
    expect((await write('after')).errors).toBeUndefined();
    const { data } = await post(server.url, `{ traces(filter: { search: "outage" }) { totalCount } }`);
    expect(data.traces.totalCount).toBe(1);
    expect(server.output()).toMatch(/Redis: .*live updates between instances are delayed/);
  });
});
