/**
 * The REST API under /v2 and /v3: the Opper tracing contract, so that an app using that vendor's SDK
 * changes only its base URL and key. The routes only translate: each authenticates and rate-limits
 * as GraphQL does (src/http/authorize.ts), validates with its route's schemas, then writes through
 * the one write path (src/ingest/) or reads through the GraphQL read path (src/rest/reads.ts).
 * Routing is find-my-way's; the OpenAPI documents come from the same route tables.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import FindMyWay from 'find-my-way';
import { GraphQLError, type DocumentNode, type ExecutionResult } from 'graphql';
import type { RateLimiter } from '../auth/rate-limit.js';
import { serviceUnavailable, type ErrorCode } from '../errors.js';
import { isOutage } from '../db/outage.js';
import { authorize } from '../http/authorize.js';
import { HttpRefusal, readBody } from '../http/request-body.js';
import type { Principal } from '../schema/context.js';
import type { Services } from '../services.js';
import { parse as parseInput } from '../validation.js';
import { openApiDocument } from './openapi.js';
import type { RestRoute, RestVersion } from './route.js';
import { V2_ROUTES } from './v2.js';
import { V3_ROUTES } from './v3.js';

/** The answer's header naming the retention rule a write was stored under, as on OTLP. */
const RETENTION_HEADER = 'spantree-retention';

export const REST_ROUTES: Record<RestVersion, readonly RestRoute[]> = { v2: V2_ROUTES, v3: V3_ROUTES };

/** Runs a GraphQL read as `principal`, through the GraphQL endpoint's envelop (src/server.ts). */
export type ExecuteRead = (
  req: IncomingMessage,
  principal: Principal,
  signal: AbortSignal,
  document: DocumentNode,
  variables: Record<string, unknown>,
) => Promise<ExecutionResult>;

export interface RestApiOptions {
  services: Services;
  rateLimiter: RateLimiter;
  maxBodyBytes: number;
  execute: ExecuteRead;
  /** Counts the request as in flight until answered, so shutdown waits for its write. */
  hold(): () => void;
}

/** The version a request's path is under, if any. */
export function restVersionOf(req: IncomingMessage): RestVersion | undefined {
  const url = req.url ?? '';
  if (url.startsWith('/v2/') || url === '/v2') return 'v2';
  if (url.startsWith('/v3/') || url === '/v3') return 'v3';
  return undefined;
}

/** The status each Spantree error code is answered with. */
const STATUS_OF_CODE: Partial<Record<ErrorCode, number>> = {
  BAD_USER_INPUT: 422,
  QUERY_LIMIT_EXCEEDED: 422,
  BAD_REQUEST: 400,
  REQUEST_ENTITY_TOO_LARGE: 413,
  NOT_FOUND: 404,
  CONFLICT: 409,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
};
/** The code a refusal made before any Spantree error carries, by status. */
const CODE_OF_STATUS: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'REQUEST_ENTITY_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'BAD_USER_INPUT',
  429: 'RATE_LIMITED',
  500: 'INTERNAL_SERVER_ERROR',
  503: 'SERVICE_UNAVAILABLE',
};
/** The /v2 SDK's error type for each status (it raises BadRequestError, UnauthorizedError ... by it). */
const V2_TYPE_OF_STATUS: Record<number, string> = {
  400: 'BadRequestError',
  401: 'UnauthorizedError',
  403: 'ForbiddenError',
  404: 'NotFoundError',
  409: 'ConflictError',
  413: 'PayloadTooLargeError',
  415: 'UnsupportedMediaTypeError',
  422: 'RequestValidationError',
  429: 'RateLimitError',
  500: 'InternalServerError',
  503: 'ServiceUnavailableError',
};

/** A refusal as the route's version writes it. */
class RestError {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {}
}

/** Spantree's field names in messages as the contract spells them (`input.startTime` → `body.start_time`). */
function contractWords(message: string): string {
  return message
    .replace(/\binput\.(?=[a-zA-Z])/g, 'body.')
    .replace(/\b(startTime|endTime|traceId|parentId|sessionId|totalTokens|inputTokens|outputTokens|scorerContext)\b/g, (name) =>
      name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`),
    );
}

function restErrorOf(error: unknown): RestError {
  if (error instanceof RestError) return error;
  if (error instanceof HttpRefusal) return new RestError(error.status, CODE_OF_STATUS[error.status] ?? 'BAD_REQUEST', error.message, undefined, error.headers);
  // Spantree's errors, and a read's errors as yoga left them (SERVICE_UNAVAILABLE, or masked).
  if (error instanceof GraphQLError) return graphQLErrorOf(error);
  // A write or an authentication that found the database out of reach (reads come as GraphQL errors).
  if (isOutage(error)) return graphQLErrorOf(serviceUnavailable());
  console.error('REST request failed:', error);
  return new RestError(500, CODE_OF_STATUS[500]!, 'The request could not be completed; retry later');
}

function graphQLErrorOf(error: GraphQLError): RestError {
  const code = error.extensions?.code as ErrorCode | undefined;
  const status = code ? STATUS_OF_CODE[code] : undefined;
  // Masked by yoga (not a Spantree error): a server fault, already logged by yoga.
  if (!code || !status) return new RestError(500, CODE_OF_STATUS[500]!, 'The request could not be completed; retry later');
  const field = typeof error.extensions.field === 'string' ? contractWords(error.extensions.field) : undefined;
  const retryAfter = error.extensions.retryAfterSeconds;
  return new RestError(status, code, contractWords(error.message), field, retryAfter ? { 'retry-after': String(retryAfter) } : {});
}

/** The body of an error answer in the version's own format, with Spantree's code inside. */
function errorBody(version: RestVersion, error: RestError): unknown {
  const details = error.field ? { field: error.field } : null;
  if (version === 'v3') return { error: { code: error.code, message: error.message, details } };
  return { type: V2_TYPE_OF_STATUS[error.status] ?? 'APIError', message: error.message, detail: { code: error.code, ...details } };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  if (status === 204) {
    res.writeHead(204, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/**
 * Refuses a REST request before it reaches a route (the server is starting or stopping: 503; a Host
 * this server does not answer to: 403), in the version's error format.
 */
export function refuseRest(req: IncomingMessage, res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const version = restVersionOf(req) ?? 'v2';
  send(res, status, errorBody(version, new RestError(status, CODE_OF_STATUS[status] ?? 'BAD_REQUEST', message)), headers);
  req.resume();
}

type Handler = (req: IncomingMessage, res: ServerResponse, params: Record<string, string | undefined>) => Promise<void>;

/** The REST API of one server: its routers and documents, over the server's services. */
export class RestApi {
  private readonly router = FindMyWay<FindMyWay.HTTPVersion.V1>({ ignoreTrailingSlash: true, caseSensitive: true });
  private readonly documents = new Map<RestVersion, string>();

  constructor(private readonly options: RestApiOptions) {
    for (const [version, routes] of Object.entries(REST_ROUTES) as [RestVersion, readonly RestRoute[]][]) {
      for (const route of routes) {
        const path = route.path.replace(/\{(\w+)\}/g, ':$1');
        this.router.on(route.method.toUpperCase() as FindMyWay.HTTPMethod, path, ((req: IncomingMessage, res: ServerResponse, params: Record<string, string | undefined>) =>
          this.serve(version, route, req, res, params as Record<string, string | undefined>)) as unknown as FindMyWay.Handler<FindMyWay.HTTPVersion.V1>);
      }
      // The documents are public: they describe routes, never data.
      this.router.on('GET', `/${version}/openapi.json`, ((_req, res) => {
        let text = this.documents.get(version);
        if (!text) this.documents.set(version, (text = JSON.stringify(openApiDocument(version, REST_ROUTES[version], '/'))));
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
        res.end(text);
      }) as FindMyWay.Handler<FindMyWay.HTTPVersion.V1>);
    }
  }

  /** Answers one request under /v2 or /v3. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const match = this.router.find(req.method as FindMyWay.HTTPMethod, (req.url ?? '/').split('?')[0]!);
    if (!match) {
      const version = restVersionOf(req) ?? 'v2';
      send(res, 404, errorBody(version, new RestError(404, 'NOT_FOUND', `No route ${req.method} ${(req.url ?? '').split('?')[0]}; see /${version}/openapi.json`)));
      req.resume();
      return;
    }
    void (match.handler as unknown as Handler)(req, res, match.params);
  }

  private async serve(version: RestVersion, route: RestRoute, req: IncomingMessage, res: ServerResponse, rawParams: Record<string, string | undefined>) {
    const release = this.options.hold();
    // Aborted when the client goes away before its answer: the read stops resolving for nobody.
    const controller = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) controller.abort();
    };
    res.on('close', onClose);
    try {
      const { services, rateLimiter } = this.options;
      const principal = await authorize(req, services.apiKeys, rateLimiter, route.scope);
      const params = route.params ? parseInput(route.params, rawParams, 'path') : undefined;
      const query = route.query ? parseInput(route.query, queryOf(req), 'query') : undefined;
      let body: unknown;
      if (route.body) {
        body = await this.jsonBody(req);
        // Validated here; handed on as received (the write path checks it again against its limits).
        parseInput(route.body, body, 'body');
      }
      const answer = await route.handle({
        services,
        principal,
        scope: { projectId: principal.projectId },
        params,
        query,
        body,
        read: async <Data>(document: DocumentNode, variables: Record<string, unknown>) => {
          const result = await this.options.execute(req, principal, controller.signal, document, variables);
          if (result.errors?.length) throw result.errors[0];
          return result.data as Data;
        },
      });
      const headers: Record<string, string> = route.scope === 'INGEST' ? { [RETENTION_HEADER]: (await services.retention.for(principal.projectId)).mode } : {};
      send(res, answer.status, answer.body, headers);
    } catch (error) {
      const refusal = restErrorOf(error);
      if (!res.headersSent) send(res, refusal.status, errorBody(version, refusal), refusal.headers);
      // An unread body would otherwise be parsed as the connection's next request.
      if (!req.complete) req.resume();
    } finally {
      res.off('close', onClose);
      release();
    }
  }

  /** The request's JSON body: application/json (415 otherwise), within MAX_BODY_BYTES (413), parseable (400). */
  private async jsonBody(req: IncomingMessage): Promise<unknown> {
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'application/json') {
      throw new HttpRefusal(415, `Content-Type must be application/json, not ${JSON.stringify(contentType || 'none')}`);
    }
    const text = (await readBody(req, this.options.maxBodyBytes, 'send less at once')).toString('utf8');
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new HttpRefusal(400, `The body is not JSON: ${(error as Error).message}`);
    }
  }
}

/** The query string as an object of its last values. */
function queryOf(req: IncomingMessage): Record<string, string> {
  const search = new URL(req.url ?? '/', 'http://localhost').searchParams;
  return Object.fromEntries(search.entries());
}
