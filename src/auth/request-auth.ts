/**
 * Every GraphQL request is authenticated before its body is read: `Authorization: Bearer <key>` on
 * HTTP and SSE (this yoga plugin), `connectionParams.authorization` on graphql-ws (checked at
 * connection_init, see src/server.ts). Rate limits are counted here too, per key, so a refused
 * request costs neither parsing nor the database.
 */
import type { Plugin } from 'graphql-yoga';
import { serviceUnavailable, type ErrorCode } from '../errors.js';
import { isOutage } from '../db/outage.js';
import type { Principal } from '../schema/context.js';
import { bearerKey, type ApiKeys } from './api-key.service.js';
import type { RateLimiter } from './rate-limit.js';

/** What the HTTP handler hands yoga per request; the plugin adds the principal. */
export interface ServerContext {
  req?: unknown;
  principal?: Principal;
}

export const UNAUTHENTICATED_MESSAGE =
  'An API key is required: send it as "Authorization: Bearer <key>" (over graphql-ws: connectionParams { authorization: "Bearer <key>" })';
export const UNKNOWN_KEY_MESSAGE = 'This API key is unknown or has been revoked';

/** A GraphQL-shaped error response for refusals made before GraphQL runs. */
export function errorResponse(
  fetchAPI: { Response: typeof Response },
  status: number,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return new fetchAPI.Response(JSON.stringify({ errors: [{ message, extensions: { code } }] }), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

export function useApiKeyAuth(options: { apiKeys: ApiKeys; rateLimiter: RateLimiter }): Plugin<object, ServerContext> {
  return {
    async onRequest({ request, serverContext, endResponse, fetchAPI }) {
      // Every request that gets this far needs a key, whatever its path: yoga serves GraphQL on more
      // than the endpoint itself (a trailing slash, any URL that ends in it), so checking the path here
      // let those through unauthenticated and unlimited. Health checks, GraphiQL's page and CORS
      // preflights are answered before this plugin runs.
      const key = bearerKey(request.headers.get('authorization'));
      let principal: Principal | null;
      try {
        principal = await options.apiKeys.authenticate(key);
      } catch (error) {
        // A key not seen yet is read from the database: out of reach, that is an outage, not a 500.
        if (!isOutage(error)) throw error;
        const answer = serviceUnavailable();
        endResponse(
          errorResponse(fetchAPI, 503, 'SERVICE_UNAVAILABLE', answer.message, { 'retry-after': String(answer.extensions.retryAfterSeconds) }),
        );
        return;
      }
      if (!principal) {
        endResponse(errorResponse(fetchAPI, 401, 'UNAUTHENTICATED', key ? UNKNOWN_KEY_MESSAGE : UNAUTHENTICATED_MESSAGE, { 'www-authenticate': 'Bearer' }));
        return;
      }
      const verdict = await options.rateLimiter.take(principal.keyId);
      if (!verdict.allowed) {
        endResponse(
          errorResponse(fetchAPI, 429, 'RATE_LIMITED', `This API key is over its rate limit; retry in ${verdict.retryAfterSeconds} s`, {
            'retry-after': String(verdict.retryAfterSeconds),
          }),
        );
        return;
      }
      serverContext.principal = principal;
    },
  };
}

/** The principal of a graphql-ws connection, from its connection_init payload; null refuses it. */
export function authenticateConnection(apiKeys: ApiKeys, connectionParams: Record<string, unknown> | undefined): Promise<Principal | null> {
  return apiKeys.authenticate(bearerKey(connectionParams?.authorization ?? connectionParams?.Authorization));
}
