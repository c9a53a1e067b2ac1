/**
 * docs/limits-and-network.md, "Browsers and the network": what any web page the user opens could do to a Spantree server on
 * their machine, and why it fails: reading answers (CORS), forging writes (forms, text/plain),
 * opening WebSockets, and reaching the server under a name of its own (DNS rebinding). Requests go
 * through node:http, which sends exactly the headers a browser would (Origin, Host) and shows every
 * response header.
 */
import http from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { bearer, TEST_API_KEY, useTestServer, type TestServer } from './helpers/server.js';
import { uid } from './helpers/operations.js';

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request to `url`, with exactly these headers (node:http adds Host unless given). */
function send(url: string, { method = 'POST', headers = {}, body }: { method?: string; headers?: Record<string, string>; body?: string | Buffer }) {
  return new Promise<RawResponse>((resolve, reject) => {
    const request = http.request(url, { method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

const VIEWER = JSON.stringify({ query: '{ viewer { scopes } }' });
const json = (key = TEST_API_KEY) => ({ 'content-type': 'application/json', ...bearer(key) });

/** A request's JSON error: its code, and nothing internal in it. */
function errorOf(response: RawResponse): { message: string; extensions: { code: string } } {
  expect(response.headers['content-type'], `a JSON error, got ${response.status} ${JSON.stringify(response.body)}`).toMatch(/json/);
  const body = JSON.parse(response.body);
  expect(body.errors, response.body).toHaveLength(1);
  expect(body.errors[0].extensions?.code, response.body).toBeTruthy();
  expect(response.body).not.toMatch(/stack|SELECT |INSERT |prisma|\.ts:\d+|node_modules/i);
  return body.errors[0];
}

type Handshake = { accepted: true; scopes: string[] } | { accepted: false; status: number; body: string };

const opened: WebSocket[] = [];
afterAll(() => {
  for (const socket of opened) socket.terminate();
});

/**
 * Opens a graphql-ws WebSocket to `url` with these handshake headers; when accepted, authenticates
 * and runs a query over it, so "accepted" means served.
 */
function handshake(url: string, headers: Record<string, string> = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws', { headers });
    opened.push(socket);
    socket.once('unexpected-response', (request, response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => {
        resolve({ accepted: false, status: response.statusCode!, body });
        request.destroy();
      });
    });
    socket.once('error', reject);
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${TEST_API_KEY}` } })));
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.type === 'connection_ack') socket.send(JSON.stringify({ id: 'q', type: 'subscribe', payload: { query: '{ viewer { scopes } }' } }));
      if (message.type === 'next') {
        resolve({ accepted: true, scopes: message.payload.data.viewer.scopes });
        socket.close();
      }
    });
    socket.once('close', (code) => reject(new Error(`closed with ${code} before answering`)));
  });
}

const ALL_SCOPES = ['INGEST', 'READ', 'ADMIN', 'PLAYGROUND'];

function originOf(server: TestServer) {
  return new URL(server.url).origin;
}

function portOf(server: TestServer) {
  return new URL(server.url).port;
}

async function countAll(server: TestServer) {
  const data = await server.gql(`{ traces(first: 0) { totalCount } spans(first: 0) { totalCount } }`);
  return { traces: data.traces.totalCount, spans: data.spans.totalCount };
}

async function stored(server: TestServer, id: string) {
  return (await server.gql(`query($id: ID!) { span(id: $id) { id } }`, { id })).span;
}

const PREFLIGHT = { 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' };

describe('a server with its defaults (on loopback, no CORS_ORIGINS)', () => {
  const server = useTestServer();

  it('lets no other site read an answer: no Access-Control-Allow-Origin on a preflight or on a response', async () => {
    for (const origin of ['https://evil.example', 'null', originOf(server()).replace('127.0.0.1', 'localhost')]) {
      const preflight = await send(server().url, { method: 'OPTIONS', headers: { origin, ...PREFLIGHT } });
      expect(preflight.headers['access-control-allow-origin'], origin).toBeUndefined();
      expect(preflight.headers['access-control-allow-headers']).toBeUndefined();

      // The answer itself is sent (the key is valid); a browser hides it from the page.
      const answer = await send(server().url, { headers: { origin, ...json() }, body: VIEWER });
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body).data.viewer.scopes).toEqual(ALL_SCOPES);
      expect(answer.headers['access-control-allow-origin'], origin).toBeUndefined();
      expect(answer.headers['access-control-allow-credentials']).toBeUndefined();
    }
  });

  it('refuses what a cross-site form or no-cors fetch can send (form-encoded, multipart, text/plain) with 415, and writes nothing', async () => {
    const before = await countAll(server());
    const forged = (id: string) => `mutation { createSpan(input: { id: "${id}", name: "forged" }) { id } }`;
    const ids: string[] = [];
    const attempts: { what: string; headers: Record<string, string>; body: (id: string) => string | Buffer }[] = [
      // A <form method=post> on another site: no Authorization (a browser cannot add one).
      {
        what: 'form-encoded, as a cross-site form sends it',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
        body: (id) => `query=${encodeURIComponent(forged(id))}`,
      },
      // The same with a key, so the 415 is not merely the missing key.
      {
        what: 'form-encoded, with a key',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...bearer() },
        body: (id) => `query=${encodeURIComponent(forged(id))}`,
      },
      {
        what: 'multipart',
        headers: { 'content-type': 'multipart/form-data; boundary=X', ...bearer() },
        body: (id) => `--X\r\nContent-Disposition: form-data; name="query"\r\n\r\n${forged(id)}\r\n--X--\r\n`,
      },
      // fetch(url, { method: 'POST', mode: 'no-cors', body: JSON.stringify(...) }) sends JSON as text/plain.
      {
        what: 'JSON sent as text/plain',
        headers: { 'content-type': 'text/plain;charset=UTF-8', ...bearer() },
        body: (id) => JSON.stringify({ query: forged(id) }),
      },
      {
        what: 'JSON sent without a Content-Type',
        headers: { ...bearer() },
        body: (id) => JSON.stringify({ query: forged(id) }),
      },
    ];
    for (const attempt of attempts) {
      const id = uid('forged');
      ids.push(id);
      const response = await send(server().url, { headers: attempt.headers, body: attempt.body(id) });
      expect(response.status, attempt.what).toBe(415);
      const error = errorOf(response);
      expect(error.extensions.code, attempt.what).toBe('BAD_REQUEST');
      expect(error.message).toMatch(/send application\/json/);
    }
    for (const id of ids) expect(await stored(server(), id)).toBeNull();
    expect(await countAll(server())).toEqual(before);

    // A mutation in a GET URL (an <img> or a link) is refused too.
    const id = uid('forged-get');
    const viaGet = await send(`${server().url}?query=${encodeURIComponent(forged(id))}`, {
      method: 'GET',
      headers: { ...bearer(), accept: 'application/json' },
    });
    expect(viaGet.status).toBe(405);
    expect(errorOf(viaGet).extensions.code).toBe('BAD_REQUEST');
    expect(await stored(server(), id)).toBeNull();

    // While the same mutation as JSON, with a key, is what a client sends and is served.
    const served = await send(server().url, { headers: json(), body: JSON.stringify({ query: forged(uid('real')) }) });
    expect(served.status).toBe(200);
    expect(JSON.parse(served.body).data.createSpan.id).toMatch(/^real-/);
  });

  it('guards GraphQL under every path yoga serves it on: a trailing slash, any URL ending in /graphql', async () => {
    const before = await countAll(server());
    for (const path of ['/graphql/', '/anything/graphql', '/health/x?/graphql']) {
      const url = originOf(server()) + path;
      // Yoga's CSRF header lets a non-browser client through CSRF prevention; the key is still needed.
      const unauthenticated = await send(url, { headers: { 'content-type': 'application/json', 'x-graphql-yoga-csrf': '1' }, body: VIEWER });
      expect(unauthenticated.status, path).toBe(401);
      expect(errorOf(unauthenticated).extensions.code).toBe('UNAUTHENTICATED');

      const id = uid('aliased-form');
      const form = await send(url, {
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...bearer() },
        body: `query=${encodeURIComponent(`mutation { createSpan(input: { id: "${id}", name: "forged" }) { id } }`)}`,
      });
      expect(form.status, path).toBe(415);
      expect(await stored(server(), id)).toBeNull();
    }
    expect(await countAll(server())).toEqual(before);
  });

  it('accepts WebSockets from its own origin and without an Origin; refuses other origins with HTTP 403', async () => {
    const own = originOf(server());
    expect(await handshake(server().url)).toEqual({ accepted: true, scopes: ALL_SCOPES });
    expect(await handshake(server().url, { origin: own })).toEqual({ accepted: true, scopes: ALL_SCOPES });
    for (const origin of [
      'https://evil.example',
      'null', // a sandboxed iframe, a file:// page
      own.replace('127.0.0.1', 'localhost'), // another origin, though the same machine
      `http://127.0.0.1:${Number(portOf(server())) + 1}`, // another port
      'not a url',
    ]) {
      const refused = await handshake(server().url, { origin });
      expect(refused, origin).toMatchObject({ accepted: false, status: 403 });
    }
  });

  it('answers to its own names only: Host evil.example is refused with 403 over HTTP and on the WebSocket upgrade', async () => {
    const port = portOf(server());
    const before = await countAll(server());
    for (const host of ['evil.example', `evil.example:${port}`, `127.evil.example:${port}`, `localhost.evil.example:${port}`]) {
      const refused = await send(server().url, { headers: { host, ...json() }, body: VIEWER });
      expect(refused.status, host).toBe(403);
      expect(errorOf(refused).extensions.code).toBe('FORBIDDEN');
      const id = uid('rebound');
      const write = await send(server().url, {
        headers: { host, ...json() },
        body: JSON.stringify({ query: `mutation { createSpan(input: { id: "${id}", name: "rebound" }) { id } }` }),
      });
      expect(write.status).toBe(403);
      expect(await stored(server(), id)).toBeNull();
      expect(await handshake(server().url, { host }), host).toMatchObject({ accepted: false, status: 403 });
    }
    expect(await countAll(server())).toEqual(before);

    for (const host of [`localhost:${port}`, `LOCALHOST:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
      const served = await send(server().url, { headers: { host, ...json() }, body: VIEWER });
      expect(served.status, host).toBe(200);
      expect(JSON.parse(served.body).data.viewer.scopes).toEqual(ALL_SCOPES);
      // Same origin, as a page served under that name would connect.
      expect(await handshake(server().url, { host, origin: `http://${host}` }), host).toEqual({ accepted: true, scopes: ALL_SCOPES });
    }
  });
});

describe('CORS_ORIGINS', () => {
  const APP = 'https://app.example';
  const ADMIN = 'https://admin.example';
  const server = useTestServer({ CORS_ORIGINS: `${APP}, ${ADMIN}/` });

  it('allows a listed origin: its preflight and its answers name it', async () => {
    for (const origin of [APP, ADMIN]) {
      const preflight = await send(server().url, { method: 'OPTIONS', headers: { origin, ...PREFLIGHT } });
      expect(preflight.status).toBeLessThan(300);
      expect(preflight.headers['access-control-allow-origin']).toBe(origin);
      expect(preflight.headers['access-control-allow-methods']).toMatch(/POST/);
      expect(preflight.headers['access-control-allow-headers']).toMatch(/authorization/);
      expect(preflight.headers['access-control-allow-headers']).toMatch(/content-type/);
      expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();

      const answer = await send(server().url, { headers: { origin, ...json() }, body: VIEWER });
      expect(answer.status).toBe(200);
      expect(answer.headers['access-control-allow-origin']).toBe(origin);
      // The answer depends on the origin: caches must keep one per origin.
      expect(answer.headers.vary).toMatch(/origin/i);
      expect(JSON.parse(answer.body).data.viewer.scopes).toEqual(ALL_SCOPES);
    }
  });

  it('allows no other origin, not even "null"', async () => {
    for (const origin of ['https://evil.example', 'null', 'https://app.example.evil.example', 'http://app.example']) {
      const preflight = await send(server().url, { method: 'OPTIONS', headers: { origin, ...PREFLIGHT } });
      expect(preflight.headers['access-control-allow-origin'], origin).toBeUndefined();
      const answer = await send(server().url, { headers: { origin, ...json() }, body: VIEWER });
      expect(answer.headers['access-control-allow-origin'], origin).toBeUndefined();
    }
  });

  it('accepts WebSockets from listed origins and refuses others with 403', async () => {
    for (const origin of [APP, ADMIN]) expect(await handshake(server().url, { origin }), origin).toEqual({ accepted: true, scopes: ALL_SCOPES });
    for (const origin of ['https://evil.example', 'null']) {
      expect(await handshake(server().url, { origin }), origin).toMatchObject({ accepted: false, status: 403 });
    }
  });
});

describe('ALLOWED_HOSTS', () => {
  const server = useTestServer({ ALLOWED_HOSTS: 'spantree.internal' });

  it('accepts a listed name, with or without a port, over HTTP and WebSocket; still refuses others', async () => {
    const port = portOf(server());
    for (const host of [`spantree.internal:${port}`, 'spantree.internal', `SPANTREE.internal:${port}`]) {
      const served = await send(server().url, { headers: { host, ...json() }, body: VIEWER });
      expect(served.status, host).toBe(200);
      expect(JSON.parse(served.body).data.viewer.scopes).toEqual(ALL_SCOPES);
      expect(await handshake(server().url, { host }), host).toEqual({ accepted: true, scopes: ALL_SCOPES });
    }
    for (const host of [`evil.example:${port}`, `spantree.internal.evil.example:${port}`]) {
      expect((await send(server().url, { headers: { host, ...json() }, body: VIEWER })).status, host).toBe(403);
      expect(await handshake(server().url, { host }), host).toMatchObject({ accepted: false, status: 403 });
    }
  });
});

describe('a server on another loopback address (HOST=127.0.0.2)', () => {
  const server = useTestServer({ HOST: '127.0.0.2' });

  it('answers to its own address, and still refuses other names', async () => {
    expect(new URL(server().url).hostname).toBe('127.0.0.2');
    const served = await send(server().url, { headers: json(), body: VIEWER });
    expect(served.status).toBe(200);
    expect(JSON.parse(served.body).data.viewer.scopes).toEqual(ALL_SCOPES);
    expect(await handshake(server().url)).toEqual({ accepted: true, scopes: ALL_SCOPES });
    expect((await send(server().url, { headers: { host: 'evil.example', ...json() }, body: VIEWER })).status).toBe(403);
    expect(await handshake(server().url, { host: 'evil.example' })).toMatchObject({ accepted: false, status: 403 });
  });
});

describe('a server bound to a non-loopback address (HOST=0.0.0.0)', () => {
  const server = useTestServer({ HOST: '0.0.0.0' });

  it('does not check Host: it is reached under names of its own choosing', async () => {
    const url = `http://127.0.0.1:${portOf(server())}/graphql`;
    for (const host of ['evil.example', 'spantree.example.com:443']) {
      const served = await send(url, { headers: { host, ...json() }, body: VIEWER });
      expect(served.status, host).toBe(200);
      expect(JSON.parse(served.body).data.viewer.scopes).toEqual(ALL_SCOPES);
      expect(await handshake(url, { host }), host).toEqual({ accepted: true, scopes: ALL_SCOPES });
    }
    // The Origin check for WebSockets still applies.
    expect(await handshake(url, { host: 'evil.example', origin: 'https://other.example' })).toMatchObject({ accepted: false, status: 403 });
  });
});
