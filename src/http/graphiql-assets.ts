/**
 * GraphiQL without the internet. yoga's own page loads GraphiQL from a CDN; the same GraphiQL ships
 * bundled in @graphql-yoga/render-graphiql (installed with Spantree). Its renderGraphiQL inlines all
 * of it, about 9 MB, into every page and starts Monaco's workers from blob: URLs, which would need
 * inline scripts and blob: workers in the page's policy. So the bundle's parts are served here as
 * files of their own under /graphiql-assets/<content hash>/, cached for good by the browser, and the
 * page itself is a few hundred bytes that may run scripts from this server only.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { GraphiQLOptions, Plugin } from 'graphql-yoga';

const ASSET_ROOT = '/graphiql-assets/';

/**
 * What the GraphiQL page may load and run: everything from this server, nothing from anywhere else.
 * Styles may be inline because Monaco and React set style attributes and add style elements as they
 * lay out; fonts and images may be data: URLs because the bundled stylesheet embeds its own.
 */
export const GRAPHIQL_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Where the web UI keeps the API key in the browser (src/web/api.ts); GraphiQL is on the same origin. */
const STORED_KEY = 'spantree.apiKey';

/**
 * Sets Monaco's worker URLs before GraphiQL loads, and renders GraphiQL once the page has parsed,
 * with the options the server wrote into the page as JSON data (not as a script, which the policy
 * would refuse). The page carries no key: a login link's `#key=` is kept as the web UI keeps it and
 * taken out of the address bar first, and the headers pane is filled with the key this browser keeps.
 */
const START_SCRIPT = `(function () {
  var key;
  try {
    var linked = new URLSearchParams(location.hash.slice(1)).get('key');
    if (linked) {
      history.replaceState(history.state, '', location.pathname + location.search);
      localStorage.setItem(${JSON.stringify(STORED_KEY)}, linked);
    }
    key = localStorage.getItem(${JSON.stringify(STORED_KEY)}) || linked;
  } catch (error) {
    // Storage off (a private window): a linked key still fills the pane, for this page only.
    key = linked;
  }
  var workers = JSON.parse(document.getElementById('graphiql-workers').textContent);
  self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: function (moduleId, label) { return workers[label]; } };
  window.addEventListener('DOMContentLoaded', function () {
    var options = JSON.parse(document.getElementById('graphiql-options').textContent);
    if (key) options.headers = JSON.stringify({ Authorization: 'Bearer ' + key }, null, 2);
    YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), options);
  });
})();
`;

interface Asset {
  body: Buffer;
  /** Compressed once, on the first request that accepts gzip. */
  gzipped?: Buffer;
  contentType: string;
  etag: string;
}

interface GraphiQLBundle {
  /** Asset path (under ASSET_ROOT) → its file. */
  assets: Map<string, Asset>;
  /** The paths the page refers to, each with its content hash in it. */
  paths: { start: string; script: string; style: string; favicon: string; workers: Record<'editorWorkerService' | 'json' | 'graphql', string> };
}

let bundle: Promise<GraphiQLBundle> | undefined;

/**
 * The bundle, loaded on first use: it is large, and a server whose GraphiQL nobody opens (or that
 * has it turned off) should not hold it in memory or parse it at start-up.
 */
function loadBundle(): Promise<GraphiQLBundle> {
  bundle ??= import('@graphql-yoga/render-graphiql/graphiql').then((parts) => {
    const assets = new Map<string, Asset>();
    const add = (name: string, body: Buffer, contentType: string) => {
      const hash = createHash('sha256').update(body).digest('hex').slice(0, 16);
      const path = `${ASSET_ROOT}${hash}/${name}`;
      assets.set(path, { body, contentType, etag: `"${hash}"` });
      return path;
    };
    const javascript = 'text/javascript; charset=utf-8';
    const [, faviconType = 'image/x-icon', faviconData = ''] = /^data:([^;,]+);base64,(.*)$/s.exec(parts.favicon) ?? [];
    return {
      assets,
      paths: {
        start: add('start.js', Buffer.from(START_SCRIPT), javascript),
        script: add('graphiql.js', Buffer.from(parts.js), javascript),
        style: add('graphiql.css', Buffer.from(parts.css), 'text/css; charset=utf-8'),
        favicon: add('favicon.ico', Buffer.from(faviconData, 'base64'), faviconType),
        workers: {
          editorWorkerService: add('editor.worker.js', Buffer.from(parts.editorWorkerService), javascript),
          json: add('json.worker.js', Buffer.from(parts.jsonWorker), javascript),
          graphql: add('graphql.worker.js', Buffer.from(parts.graphqlWorker), javascript),
        },
      },
    };
  });
  return bundle;
}

/** JSON that can stand inside a <script> data block: no "</script>" or "<!--" can end it early. */
function scriptData(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The GraphiQL page, for createYoga's `renderGraphiQL`: yoga's GraphiQL from
 * @graphql-yoga/render-graphiql, with every file it needs served by this server.
 */
export async function renderOfflineGraphiQL(options: GraphiQLOptions = {}): Promise<string> {
  const { paths } = await loadBundle();
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${escapeHtml(options.title ?? 'GraphiQL')}</title>
    <link rel="icon" href="${options.favicon ? escapeHtml(options.favicon) : paths.favicon}" />
    <link rel="stylesheet" href="${paths.style}" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>You need to enable JavaScript to run this app.</noscript>
    <div id="root"></div>
    <script type="application/json" id="graphiql-workers">${scriptData(paths.workers)}</script>
    <script type="application/json" id="graphiql-options">${scriptData(options)}</script>
    <script src="${paths.start}"></script>
    <script src="${paths.script}"></script>
  </body>
</html>
`;
}

/** Whether a request is for one of GraphiQL's files (answered by serveGraphiQLAsset). */
export function isGraphiQLAssetRequest(req: IncomingMessage): boolean {
  return req.url?.startsWith(ASSET_ROOT) ?? false;
}

/**
 * Answers a request for one of GraphiQL's files. Their paths carry their content hash, so a browser
 * may keep them for good; an unknown path (an old hash after an upgrade) is a 404.
 */
export async function serveGraphiQLAsset(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
    res.end('Only GET and HEAD are allowed here\n');
    return;
  }
  const { assets } = await loadBundle();
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const asset = assets.get(path);
  if (!asset) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end('No such GraphiQL file\n');
    return;
  }
  const headers: Record<string, string | number> = {
    'content-type': asset.contentType,
    'cache-control': 'public, max-age=31536000, immutable',
    etag: asset.etag,
    vary: 'accept-encoding',
    'x-content-type-options': 'nosniff',
  };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  let body = asset.body;
  if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
    // Megabytes of JavaScript shrink to a quarter; compressed once and kept.
    body = asset.gzipped ??= gzipSync(asset.body);
    headers['content-encoding'] = 'gzip';
  }
  headers['content-length'] = body.length;
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * Sends the GraphiQL page with GRAPHIQL_CONTENT_SECURITY_POLICY: yoga answers it with a content type
 * only. Every other answer on the GraphQL endpoint is JSON or an event stream and is left alone.
 */
export function useGraphiQLContentSecurityPolicy(): Plugin {
  return {
    onResponse: ({ response }) => {
      if (response.headers.get('content-type')?.startsWith('text/html')) {
        response.headers.set('content-security-policy', GRAPHIQL_CONTENT_SECURITY_POLICY);
        response.headers.set('x-content-type-options', 'nosniff');
        response.headers.set('referrer-policy', 'no-referrer');
        // The page names the current files (their hashes change with Spantree's version): kept by no cache.
        response.headers.set('cache-control', 'no-store');
      }
    },
  };
}
