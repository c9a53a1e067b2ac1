/**
 * How the server serves the web UI, over plain HTTP: every UI route answers the page (never with a
 * key, not even on loopback, nor GraphiQL's; a strict Content-Security-Policy; always revalidated),
 * hashed assets are cached
 * for good with the right content types, a missing asset is a 404, and the API's own paths are
 * untouched.
 */
import { readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/package-root.js';
import { originOf, TEST_API_KEY, useTestServer } from '../helpers/server.js';

/** A GET with headers fetch will not send (Host), over plain node:http to the server on loopback. */
function get(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, path, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    request.on('error', reject);
    request.end();
  });
}
const assets = readdirSync(join(packageRoot(), 'dist', 'web', 'assets'));

describe('the web UI over HTTP', () => {
  // One server at a time per process: each describe starts its own.
  const server = useTestServer();
  it('answers index.html for every UI route, revalidated, with a strict CSP and no key, on loopback with a start-up key too', async () => {
    const origin = originOf(server().url);
    const host = new URL(origin).host;
    for (const path of ['/', '/traces/tr-1', '/traces/tr-1/', '/traces/tr%201/spans/sp-2', '/traces/tr-1/conversation', '/traces/tr-1/playground', '/traces/tr-1/spans/sp-2/playground', '/?q=agent&status=ERROR']) {
      const response = await fetch(origin + path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      // It names the current hashed assets: always revalidated.
      expect(response.headers.get('cache-control')).toBe('no-cache');
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).toContain(`connect-src 'self' ws://${host} wss://${host}`);
      const html = await response.text();
      expect(html).toMatch(/<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js"><\/script>/);
      // Any local user may fetch it: it carries no key (the login link the server prints does).
      expect(html).not.toContain(TEST_API_KEY);
      expect(html).not.toContain('spantree-key');
      // No inline script: every <script> has a src.
      expect(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g) ?? []).toEqual([]);
    }
  });

  it('serves each hashed asset with its content type, cached for a year as immutable', async () => {
    const origin = originOf(server().url);
    const js = assets.find((name) => name.endsWith('.js'));
    const css = assets.find((name) => name.endsWith('.css'));
    expect(js).toBeDefined();
    expect(css).toBeDefined();
    for (const [name, type] of [
      [js!, 'text/javascript; charset=utf-8'],
      [css!, 'text/css; charset=utf-8'],
    ] as const) {
      const response = await fetch(`${origin}/assets/${name}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(type);
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect((await response.text()).length).toBeGreaterThan(100);
    }
    const head = await fetch(`${origin}/assets/${js}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(100);
  });

  it('answers 404 for a missing asset and for names that try to leave the folder', async () => {
    const origin = originOf(server().url);
    for (const path of ['/assets/index-nothere.js', '/assets/..%2Fpackage.json', '/assets/.hidden', '/assets/']) {
      const response = await fetch(origin + path);
      expect(response.status, path).toBe(404);
      expect(response.headers.get('cache-control')).toBe('no-cache');
    }
  });

  it('leaves /graphql, /health and /health/live to the API', async () => {
    const origin = originOf(server().url);
    const graphql = await fetch(`${origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_API_KEY}` },
      body: JSON.stringify({ query: '{ viewer { project { name } } }' }),
    });
    expect(graphql.status).toBe(200);
    expect(await graphql.json()).toEqual({ data: { viewer: { project: { name: 'default' } } } });
    const health = await fetch(`${origin}/health`);
    expect(health.status).toBe(200);
    expect(await health.text()).not.toContain('<html');
    const live = await fetch(`${origin}/health/live`);
    expect(live.status).toBe(200);
    expect(await live.text()).not.toContain('<html');
    // A POST to a UI route is not the page's (and /v1/traces stays OTLP's).
    const post = await fetch(`${origin}/traces/tr-1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(post.headers.get('content-type') ?? '').not.toContain('text/html');
    const otlp = await fetch(`${origin}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(otlp.status).toBe(401);
  });

  it('writes no key into a page (nor into GraphiQL) asked for directly, through a proxy, or under a name that is not loopback', async () => {
    const { port } = new URL(server().url);
    const forwarded: Record<string, string>[] = [{}, { 'x-forwarded-for': '203.0.113.9' }, { forwarded: 'for=203.0.113.9' }, { 'x-real-ip': '203.0.113.9' }, { 'x-forwarded-host': 'spantree.example' }];
    for (const headers of forwarded) {
      const page = await get(Number(port), '/', headers);
      expect(page.status, JSON.stringify(headers)).toBe(200);
      expect(page.body).toContain('<div id="app">');
      expect(page.body, JSON.stringify(headers)).not.toContain('spantree-key');
      expect(page.body).not.toContain(TEST_API_KEY);
      expect(page.headers['cache-control']).toBe('no-cache');
      const graphiql = await get(Number(port), '/graphql', { ...headers, accept: 'text/html' });
      expect(graphiql.status).toBe(200);
      expect(graphiql.body).toContain('graphiql-options');
      expect(graphiql.body, JSON.stringify(headers)).not.toContain(TEST_API_KEY);
    }
  });
});

describe('the web UI behind a name in ALLOWED_HOSTS (what a reverse proxy is given)', () => {
  const named = useTestServer({ ALLOWED_HOSTS: 'spantree.example' });
  it('answers the page under that name without the start-up key', async () => {
    const { port } = new URL(named().url);
    const page = await get(Number(port), '/', { host: `spantree.example:${port}` });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<div id="app">');
    expect(page.body).not.toContain('spantree-key');
    const graphiql = await get(Number(port), '/graphql', { host: `spantree.example:${port}`, accept: 'text/html' });
    expect(graphiql.body).toContain('graphiql-options');
    expect(graphiql.body).not.toContain(TEST_API_KEY);
    expect((await get(Number(port), '/', {})).body).not.toContain(TEST_API_KEY);
  });
});
