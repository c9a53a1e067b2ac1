/**
 * What a browser may do to Spantree from another web page. Binding to loopback is no protection: a
 * page can post a form to http://127.0.0.1:4000, open a WebSocket to it, or (DNS rebinding) reach it
 * under a name of its own. So:
 * - the Host header must name this server when it listens on loopback;
 * - WebSockets are accepted only from the same origin or from CORS_ORIGINS (tools without a browser
 *   send no Origin and are let in; they still need a key);
 * - bodies a browser can send cross-site without a preflight (forms, text/plain) are refused;
 * - CORS is off unless CORS_ORIGINS lists origins (configured in src/server.ts through yoga).
 */
import type { IncomingMessage } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config.js';
import { errorResponse } from '../auth/request-auth.js';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);
const LOOPBACK_IPV4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

export function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.has(host.toLowerCase()) || /^127\./.test(host);
}

/** The host name of a Host header or an origin, without port, lower-case ("[::1]" for IPv6). */
function hostName(hostAndPort: string): string {
  const host = hostAndPort.trim().toLowerCase();
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  return host.replace(/:\d+$/, '');
}

type CorsOptions = { origin: string[]; credentials: false; allowedHeaders: string[]; methods: string[]; maxAge: number };

export class NetworkGuards {
  private readonly corsOrigins: Set<string>;
  private readonly allowedHosts: Set<string>;
  private readonly checkHost: boolean;

  constructor(config: Pick<Config, 'HOST' | 'CORS_ORIGINS' | 'ALLOWED_HOSTS'>) {
    this.corsOrigins = new Set(config.CORS_ORIGINS.map((origin) => origin.replace(/\/$/, '').toLowerCase()));
    this.allowedHosts = new Set([...LOOPBACK_NAMES, ...config.ALLOWED_HOSTS]);
    this.checkHost = isLoopback(config.HOST);
  }

  /** Why a request must be refused for its Host header, or undefined when it may go on. */
  hostProblem(req: IncomingMessage): string | undefined {
    if (!this.checkHost) return undefined;
    const host = req.headers.host;
    // Any loopback address, not only the listed names: a server bound to 127.0.0.2 is reached as
    // 127.0.0.2. Strictly four numbers, so that a name like 127.evil.example stays refused.
    if (host && (this.allowedHosts.has(hostName(host)) || LOOPBACK_IPV4.test(hostName(host)))) return undefined;
    return `Host ${JSON.stringify(host ?? '')} is not this server's name; a server on loopback answers only to localhost and ALLOWED_HOSTS`;
  }

  /** Why a WebSocket handshake must be refused for its Origin, or undefined. */
  originProblem(req: IncomingMessage): string | undefined {
    const origin = req.headers.origin;
    if (!origin) return undefined;
    const normalized = origin.replace(/\/$/, '').toLowerCase();
    if (this.corsOrigins.has(normalized)) return undefined;
    try {
      if (req.headers.host && new URL(normalized).host === req.headers.host.toLowerCase()) return undefined;
    } catch {
      // an unparseable Origin is refused below
    }
    return `WebSocket connections from origin ${origin} are not allowed; add it to CORS_ORIGINS`;
  }

  /** yoga's CORS setting: none unless origins are listed, and none for an origin that is not listed. */
  cors(): false | ((request: Request) => CorsOptions | false) {
    if (this.corsOrigins.size === 0) return false;
    const options: CorsOptions = {
      origin: [...this.corsOrigins],
      credentials: false,
      allowedHeaders: ['authorization', 'content-type', 'accept'],
      methods: ['GET', 'POST', 'OPTIONS'],
      maxAge: 600,
    };
    // Decided per request: given the list itself, yoga answers an unlisted origin with
    // `Access-Control-Allow-Origin: null` (with two or more listed), which every page whose origin is
    // "null" (a sandboxed iframe, a file) matches, or with the one listed origin.
    return (request) => {
      const origin = request.headers.get('origin');
      return origin && this.corsOrigins.has(origin.replace(/\/$/, '').toLowerCase()) ? options : false;
    };
  }
}

/**
 * The bodies GraphQL over HTTP is sent in. Everything else is refused, above all what a browser sends
 * cross-site without asking first (form-encoded, multipart, text/plain) and, with its own message and
 * code, what yoga would answer with a bare 415 (no Content-Type, an unknown one).
 */
const GRAPHQL_BODY_TYPES = ['application/json', 'application/graphql+json', 'application/graphql'];

/**
 * Refuses, on every path (yoga serves GraphQL on more than its endpoint: a trailing slash, any URL
 * ending in it), before the body is read:
 * - form-encoded, multipart, text/plain and any other non-GraphQL body, with 415;
 * - a body whose declared length is over MAX_BODY_BYTES, with 413 naming the limit. Bodies without a
 *   declared length are cut off by yoga's own limit (maxRequestBodySize) while they stream in.
 */
export function useRequestBodyGuards(maxBytes: number): Plugin {
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      if (request.method !== 'POST') return;
      const type = (request.headers.get('content-type') ?? '').toLowerCase();
      const essence = type.split(/[;,]/)[0]!.trim();
      if (!GRAPHQL_BODY_TYPES.includes(essence)) {
        endResponse(
          errorResponse(fetchAPI, 415, 'BAD_REQUEST', `Content-Type ${essence || '(none)'} is not accepted; send application/json`),
        );
        return;
      }
      const length = Number(request.headers.get('content-length') ?? 0);
      if (length > maxBytes) {
        endResponse(
          errorResponse(
            fetchAPI,
            413,
            'REQUEST_ENTITY_TOO_LARGE',
            `The request body is ${length} bytes; the limit is ${maxBytes} (setting MAX_BODY_BYTES)`,
          ),
        );
      }
    },
  };
}
