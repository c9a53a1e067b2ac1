/**
 * Graceful shutdown: SIGTERM while writers are busy. Every span the server acknowledged is stored,
 * and the process exits cleanly.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/databases.js';
import { post, spawnServer } from './helpers/process.js';
import { Agent, createServer, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { bearer, startTestServer, startTestServerOn } from './helpers/server.js';

let db: TestDatabase | undefined;
afterAll(async () => db?.drop());

describe('stopping the server', () => {
  it('on SIGTERM finishes in-flight writes: every acknowledged span is stored', async () => {
    db = await createTestDatabase();
    const server = await spawnServer({ DATABASE_URL: db.url });
    const WRITERS = 4;
    const WRITES = 400;
    const acknowledged: string[] = [];
    let refused = 0;
    let onAcknowledged = () => {};
    const writer = async (w: number) => {
      for (let i = 0; i < WRITES; i++) {
        const id = `w${w}-${i}`;
        try {
          const reply = await post(server.url, `mutation($id: ID!) { createSpans(input: [
            { id: $id, traceId: "shutdown", name: "work", startTime: "2026-11-24T09:00:00Z", input: { i: ${i} } }
          ]) { id } }`, { id });
          if (reply.data?.createSpans?.[0]?.id === id) {
            acknowledged.push(id);
            onAcknowledged();
          } else {
            refused++;
          }
        } catch {
          refused++; // connection refused or reset: not acknowledged, so nothing is owed
          return;
        }
      }
    };
    // Let the writers get going (40 writes acknowledged), then stop the server under them.
    const going = new Promise<void>((resolve) => (onAcknowledged = () => acknowledged.length >= 40 && resolve()));
    const writers = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    await Promise.race([going, writers]);
    if (acknowledged.length < 40) throw new Error(`the writers stopped after ${acknowledged.length} writes:\n${server.output()}`);
    const exitCode = await server.kill('SIGTERM');
    await writers;
    expect(exitCode).toBe(0);
    expect(server.output()).toMatch(/SIGTERM: finishing in-flight requests/);
    // The shutdown came while the writers were busy, and cut them off: they did not all finish.
    expect(acknowledged.length).toBeLessThan(WRITERS * WRITES);
    expect(refused).toBeGreaterThan(0);

    // Reopen the database with a fresh server: everything acknowledged is there, rollups agree.
    const reopened = await startTestServerOn(db.url);
    try {
      const { trace } = await reopened.gql(`{ trace(id: "shutdown") { spanCount spans { id } } }`);
      const stored = new Set(trace.spans.map((span: { id: string }) => span.id));
      expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
      expect(trace.spanCount).toBe(stored.size);
    } finally {
      await reopened.stop();
    }
  });

  it('Ctrl-C under npm start (SIGINT from the terminal, then again from npm) still stops gracefully', async () => {
    const own = await createTestDatabase();
    try {
      // A request whose body never finishes keeps the graceful stop waiting (up to its timeout):
      // the window in which npm's copy of the signal arrives.
      const server = await spawnServer({ DATABASE_URL: own.url, SHUTDOWN_TIMEOUT_MS: '3000' });
      const { port } = new URL(server.url);
      const socket = connect(Number(port), '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(`POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"query":`);
      const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
      server.child.kill('SIGINT');
      const deadline = Date.now() + 20_000;
      while (!/SIGINT: finishing in-flight requests/.test(server.output()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      server.child.kill('SIGINT');
      expect(await exited).toBe(0);
      socket.destroy();
    } finally {
      await own.drop();
    }
  });
});

/** One POST through `agent`: status, headers, body, and whether it went on a connection opened before. */
function postThrough(agent: Agent, url: string, body: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string; reusedSocket: boolean }>((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', ...bearer(), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text, reusedSocket: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('keep-alive connections while stopping', () => {
  it('on SIGTERM, a request on a keep-alive connection opened before gets 503 SHUTTING_DOWN and Connection: close, not a reset', async () => {
    const own = await createTestDatabase();
    try {
      const server = await spawnServer({ DATABASE_URL: own.url, SHUTDOWN_TIMEOUT_MS: '30000' });
      const origin = server.url.replace(/\/graphql$/, '');
      // One connection per agent, kept open between requests: a GraphQL writer and an OTLP exporter.
      const graphql = new Agent({ keepAlive: true, maxSockets: 1 });
      const otlp = new Agent({ keepAlive: true, maxSockets: 1 });
      const otlpBody = JSON.stringify({ resourceSpans: [] });
      try {
        expect((await postThrough(graphql, server.url, JSON.stringify({ query: '{ __typename }' }))).status).toBe(200);
        expect((await postThrough(otlp, `${origin}/v1/traces`, otlpBody)).status).toBe(200);

        // A request still arriving keeps the server draining: its headers are in (the server's
        // "100 Continue" says it has taken the request), its body never comes.
        const { port } = new URL(server.url);
        const slow = connect(Number(port), '127.0.0.1');
        const taken = new Promise<void>((resolve) => slow.on('data', (chunk) => /100 Continue/.test(String(chunk)) && resolve()));
        slow.write(
          `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: ${bearer().authorization}\r\n` +
            `Expect: 100-continue\r\nContent-Length: 1000\r\n\r\n`,
        );
        await taken;

        const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
        server.child.kill('SIGTERM');
        const deadline = Date.now() + 20_000;
        while (!/SIGTERM: finishing in-flight requests/.test(server.output()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));

        // Sent on the connections opened before SIGTERM: answered, refused with a code, and closed.
        const refused = await postThrough(graphql, server.url, JSON.stringify({ query: 'mutation { createSpan(input: { name: "late" }) { id } }' }));
        expect(refused.reusedSocket).toBe(true);
        expect(refused.status).toBe(503);
        expect(refused.headers.connection).toBe('close');
        expect(refused.headers['retry-after']).toBe('1');
        expect(JSON.parse(refused.body)).toEqual({ errors: [{ message: 'The server is shutting down; retry the request', extensions: { code: 'SHUTTING_DOWN' } }] });

        const exportRefused = await postThrough(otlp, `${origin}/v1/traces`, otlpBody);
        expect(exportRefused.reusedSocket).toBe(true);
        expect(exportRefused.status).toBe(503); // OTLP exporters retry a 503
        expect(exportRefused.headers.connection).toBe('close');
        expect(JSON.parse(exportRefused.body)).toMatchObject({ code: 14, message: expect.stringMatching(/shutting down/) });

        slow.destroy(); // the last request in flight goes: the drain ends
        expect(await exited).toBe(0);
      } finally {
        graphql.destroy();
        otlp.destroy();
      }
    } finally {
      await own.drop();
    }
  });
});

describe('starting the server', () => {
  it('a failed start (the port is taken) leaves nothing open behind it: the next start works', async () => {
    const first = await startTestServer();
    try {
      const port = new URL(first.url).port;
      await first.stop(); // frees the database slot of this process, keeps nothing
      const blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(Number(port), '127.0.0.1', resolve));
      try {
        await expect(startTestServer({ PORT: port })).rejects.toThrow(/EADDRINUSE/);
      } finally {
        blocker.close();
      }
      const again = await startTestServer();
      expect((await again.gql(`{ traces { totalCount } }`)).traces.totalCount).toBe(0);
      await again.stop();
    } catch (error) {
      await first.stop().catch(() => {});
      throw error;
    }
  });
});
