/**
 * Serves the browser UI that `npm run build:web` leaves in dist/web/: index.html for every UI route
 * (the page routes itself), and the hashed assets under /assets/. Everything the page needs comes from
 * here, so it works offline; a strict Content-Security-Policy lets it load script only from this
 * server and speak only to this server (HTTP and WebSocket).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { packageRoot } from '../package-root.js';

/** The routes the page draws itself; each answers index.html, so deep links work on reload. */
const PAGE_ROUTES = [
  /^\/$/,
  /^\/traces\/[^/]+\/?$/,
  /^\/traces\/[^/]+\/spans\/[^/]+\/?$/,
  /^\/traces\/[^/]+\/conversation\/?$/,
  /^\/traces\/[^/]+\/playground\/?$/,
  /^\/traces\/[^/]+\/spans\/[^/]+\/playground\/?$/,
];

/** Built asset names: letters, digits, dots, dashes, underscores; nothing that could leave the folder. */
const ASSET = /^\/assets\/([A-Za-z0-9_][A-Za-z0-9._-]*)$/;

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export interface WebAppOptions {
  /** Where the built UI is; dist/web/ under the package root when left out. */
  root?: string;
}

export interface WebApp {
  /** Whether this request is the UI's (a page route or an asset), so the caller hands it over. */
  handles(req: IncomingMessage): boolean;
  /** Answers a request `handles` accepted. */
  serve(req: IncomingMessage, res: ServerResponse): Promise<void>;
}


export function createWebApp(options: WebAppOptions = {}): WebApp {
  const root = options.root ?? join(packageRoot(), 'dist', 'web');
  return {
    handles(req) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const path = pathOf(req);
      return path.startsWith('/assets/') || PAGE_ROUTES.some((route) => route.test(path));
    },
    async serve(req, res) {
      try {
        const path = pathOf(req);
        if (path.startsWith('/assets/')) await serveAsset(root, path, req, res);
        else await servePage(root, req, res);
      } catch (error) {
        console.error('web UI: could not answer', req.url, error);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('Internal error');
      }
    },
  };
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0]!;
}

/**
 * The page's policy: its own script and styles only, no inline script, and connections to this
 * server only, over HTTP and WebSocket (named explicitly: older browsers do not count ws: as 'self').
 */
function contentSecurityPolicy(req: IncomingMessage): string {
  const host = req.headers.host ?? '';
  const sockets = /^[A-Za-z0-9.:[\]-]+$/.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self'${sockets}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  // Always revalidated: it names the current hashed assets.
  'cache-control': 'no-cache',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * The page is the same for everyone and carries no key: any local user may fetch it. The start-up
 * key reaches the browser in the login link's fragment (see loginUrl in src/server.ts).
 */
async function servePage(root: string, req: IncomingMessage, res: ServerResponse) {
  const html = await readFile(join(root, 'index.html'), 'utf8').catch(() => undefined);
  if (html === undefined) {
    res.writeHead(503, { ...PAGE_HEADERS, 'content-security-policy': "default-src 'none'" });
    res.end(
      '<!doctype html><meta charset="utf-8"><title>Spantree</title>' +
        '<h1>The web UI is not built</h1><p>Run <code>npm run build</code> (or <code>npm run build:web</code>) and reload. ' +
        'The GraphQL API is at <a href="/graphql">/graphql</a>.</p>',
    );
    return;
  }
  res.writeHead(200, { ...PAGE_HEADERS, 'content-security-policy': contentSecurityPolicy(req) });
  res.end(req.method === 'HEAD' ? undefined : html);
}

async function serveAsset(root: string, path: string, req: IncomingMessage, res: ServerResponse) {
  const name = ASSET.exec(path)?.[1];
  const file = name ? join(root, 'assets', name) : undefined;
  const info = file ? await stat(file).catch(() => undefined) : undefined;
  if (!file || !info?.isFile()) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' });
    res.end(`No asset ${path}`);
    return;
  }
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': String(info.size),
    // The name changes with the content: a browser never needs to ask again.
    'cache-control': 'public, max-age=31536000, immutable',
    'x-content-type-options': 'nosniff',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const stream = createReadStream(file);
    stream.once('error', reject);
    res.once('close', () => {
      stream.destroy();
      resolve();
    });
    stream.pipe(res).once('finish', resolve);
  });
}
