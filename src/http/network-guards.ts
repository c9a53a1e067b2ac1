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

export function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.has(host.toLowerCase()) || /^127\./.test(host);
}

/** The host name of a Host header or an origin, without port, lower-case ("[::1]" for IPv6). */
function hostName(hostAndPort: string): string {
  const host = hostAndPort.trim().toLowerCase();
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  return host.replace(/:\d+$/, '');
}

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
    if (host && this.allowedHosts.has(hostName(host))) return undefined;
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

  /** yoga's CORS setting: none unless origins are listed. */
  cors(): false | { origin: string[]; credentials: false; allowedHeaders: string[]; methods: string[]; maxAge: number } {
    if (this.corsOrigins.size === 0) return false;
    return {
      origin: [...this.corsOrigins],
      credentials: false,
      allowedHeaders: ['authorization', 'content-type', 'accept'],
      methods: ['GET', 'POST', 'OPTIONS'],
      maxAge: 600,
    };
  }
}

/** Content types a browser sends cross-site without asking first; GraphQL over HTTP needs none of them. */
const SIMPLE_BODY_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];

/** Refuses form-encoded, multipart and text/plain bodies (cross-site request forgery) with 415. */
export function useNoFormBodies(endpoint: string): Plugin {
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname !== endpoint || request.method !== 'POST') return;
      const type = (request.headers.get('content-type') ?? '').toLowerCase();
      if (SIMPLE_BODY_TYPES.some((simple) => type.startsWith(simple))) {
        endResponse(
          errorResponse(fetchAPI, 415, 'BAD_REQUEST', `Content-Type ${type.split(';')[0]} is not accepted; send application/json`),
        );
      }
    },
  };
}
