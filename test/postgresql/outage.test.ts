/**
 * While PostgreSQL refuses connections, every transport answers 503 with Retry-After, which clients
 * retry (issue 22, finding 7: OTLP answered 500, which exporters drop, and GraphQL an
 * INTERNAL_SERVER_ERROR with HTTP 200). The server reaches PostgreSQL through a TCP proxy of this
 * test's own, stopped and started again: the real PostgreSQL is never touched.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { bearer, originOf, startTestServerOn, type TestServer } from '../helpers/server.js';
import { createTestDatabase, postgresServerUrl, type TestDatabase } from '../helpers/databases.js';
import { exportOf, json, post, PROTOBUF, protobufOf, RpcStatus, validSpan } from '../helpers/otlp.js';
import { eventually } from '../helpers/wait.js';

/** A TCP proxy to PostgreSQL that can be stopped (refusing connections, cutting open ones) and started again on its port. */
class Proxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    if (this.server?.listening) return;
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    if (!this.server?.listening) return;
    const closed = new Promise<void>((resolve) => this.server?.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}

const target = new URL(postgresServerUrl);
const proxy = new Proxy({ host: target.hostname, port: Number(target.port || 5432) });
let db: TestDatabase | undefined;
let server: TestServer | undefined;
afterAll(async () => {
  await proxy.start().catch(() => {});
  await server?.stop().catch(() => {});
  await proxy.stop().catch(() => {});
  await db?.drop();
});

const CREATE = `mutation($name: String!) { createSpan(input: { name: $name }) { id } }`;

async function graphql(query: string, variables: Record<string, unknown>) {
  const response = await fetch(server!.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...bearer() },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as { data?: any; errors?: any[] } };
}

async function rest(path: string, body: unknown) {
  const response = await fetch(`${originOf(server!.url)}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer() }, body: JSON.stringify(body) });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as any };
}

describe('while PostgreSQL refuses connections', () => {
  it('OTLP, GraphQL and REST answer 503 with Retry-After, and writes succeed again once it is back', { timeout: 120_000 }, async () => {
    db = await createTestDatabase('postgresql');
    await proxy.start();
    const viaProxy = new URL(db.url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    server = await startTestServerOn(viaProxy.toString());
    const before = validSpan();
    expect((await post(server, protobufOf(exportOf([before])), PROTOBUF)).status).toBe(200);
    expect((await graphql(CREATE, { name: 'before' })).body.errors).toBeUndefined();

    await proxy.stop();

    const otlp = await post(server, protobufOf(exportOf([validSpan()])), PROTOBUF);
    expect(otlp.status).toBe(503);
    expect(Number(otlp.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const status = RpcStatus.toObject(RpcStatus.decode(otlp.body)) as { code: number; message: string };
    expect(status.code).toBe(14); // UNAVAILABLE
    expect(status.message).toMatch(/database is unavailable/);
    expect(status.message).not.toMatch(/postgres|127\.0\.0\.1|SELECT|INSERT/i);
    const otlpJson = await post(server, JSON.stringify(exportOf([validSpan()])), { 'content-type': 'application/json' });
    expect(otlpJson.status).toBe(503);
    expect(json(otlpJson.body).code).toBe(14);

    const mutation = await graphql(CREATE, { name: 'during' });
    expect(mutation.status).toBe(503);
    expect(Number(mutation.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(mutation.body.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/database is unavailable/), extensions: { code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 5 } })]);
    const read = await graphql(`query($id: ID!) { span(id: $id) { id } }`, { id: before.spanId });
    expect(read.status).toBe(503);
    expect(read.body.errors?.[0].extensions.code).toBe('SERVICE_UNAVAILABLE');

    const v3 = await rest('/v3/spans', { name: 'during' });
    expect(v3.status).toBe(503);
    expect(Number(v3.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(v3.body.error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', message: expect.stringMatching(/database is unavailable/) });
    const v2 = await rest('/v2/spans', { name: 'during' });
    expect(v2.status).toBe(503);
    expect(v2.body).toMatchObject({ type: 'ServiceUnavailableError', detail: { code: 'SERVICE_UNAVAILABLE' } });

    // Back on the same port: the pool reconnects, and the writes are taken again.
    await proxy.start();
    await eventually(async () => (await post(server!, protobufOf(exportOf([validSpan()])), PROTOBUF)).status === 200, 'an export stored once PostgreSQL is back', 30_000);
    const after = validSpan();
    expect((await post(server, protobufOf(exportOf([after])), PROTOBUF)).status).toBe(200);
    expect((await graphql(CREATE, { name: 'after' })).status).toBe(200);
    expect((await rest('/v3/spans', { name: 'after' })).status).toBe(200);
    expect((await graphql(`query($id: ID!) { span(id: $id) { id } }`, { id: after.spanId })).body.data.span).toEqual({ id: after.spanId });
  });
});
