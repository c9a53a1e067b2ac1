/**
 * Who is calling, for the routes outside GraphQL (OTLP, REST): the same key check, scope check and
 * rate limit as the GraphQL endpoint, each refusal an HttpRefusal that the route writes in its own
 * format (401 with WWW-Authenticate, 403, 429 with Retry-After).
 */
import type { IncomingMessage } from 'node:http';
import { bearerKey, type ApiKeys } from '../auth/api-key.service.js';
import type { RateLimiter } from '../auth/rate-limit.js';
import { UNAUTHENTICATED_MESSAGE, UNKNOWN_KEY_MESSAGE } from '../auth/request-auth.js';
import type { Principal } from '../schema/context.js';
import type { ApiKeyScope } from '../vocabulary.js';
import { HttpRefusal } from './request-body.js';

/** What each scope lets a key do, as refusals say it. */
const SCOPE_NEEDS: Record<ApiKeyScope, string> = {
  INGEST: 'write spans',
  READ: 'read traces',
  ADMIN: 'administer its organization',
  PLAYGROUND: 'run the playground',
};

/** The caller's principal, once its key is known, holds `scope` and is within its rate limit. */
export async function authorize(req: IncomingMessage, apiKeys: ApiKeys, rateLimiter: RateLimiter, scope: ApiKeyScope): Promise<Principal> {
  const key = bearerKey(req.headers.authorization);
  const principal = await apiKeys.authenticate(key);
  if (!principal) throw new HttpRefusal(401, key ? UNKNOWN_KEY_MESSAGE : UNAUTHENTICATED_MESSAGE, { 'www-authenticate': 'Bearer' });
  if (!principal.scopes.has(scope)) throw new HttpRefusal(403, `This API key may not ${SCOPE_NEEDS[scope]}: it needs the ${scope} scope`);
  const verdict = await rateLimiter.take(principal.keyId);
  if (!verdict.allowed) {
    throw new HttpRefusal(429, `This API key is over its rate limit; retry in ${verdict.retryAfterSeconds} s`, {
      'retry-after': String(verdict.retryAfterSeconds),
    });
  }
  return principal;
}
