/**
 * The application object: `buildServer` takes the settings and makes everything a server holds (the
 * port, the database, the pub/sub, the caches, the live feeds) and hands them to the services
 * explicitly; its `start()` starts serving and `stop()` closes what it made. One HTTP server on one port: GraphQL over HTTP
 * and SSE (graphql-yoga), GraphQL over WebSocket (graphql-ws) on the same path, OTLP/HTTP, the web
 * UI, GraphiQL for people, health checks. Servers built in one process share nothing.
 */
import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type AddressInfo } from 'node:net';
import { createYoga, maskError, useReadinessCheck, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { WebSocketServer } from 'ws';
import { CloseCode } from 'graphql-ws';
import { GraphQLError, type DocumentNode, type ExecutionArgs, type ExecutionResult, type execute, type subscribe } from 'graphql';
import type { Config } from './config.js';
import { openDatabase, type Database, type QueryObserver } from './db/database.js';
import { openPubSub, type PubSub } from './pubsub.js';
import { ApiKeys } from './auth/api-key.service.js';
import type { Context, Principal } from './schema/context.js';
import type { Services } from './services.js';
import { useDeferStream } from '@graphql-yoga/plugin-defer-stream';
import { useStreamedJson } from './http/streamed-json.js';
import { SpanSnapshots } from './spans/span-snapshot.js';
import { ensureAccess, type CreatedAccess } from './auth/first-start.js';
import { keyOfDatabase } from './auth/admin-key-file.js';
import { openRateLimiter, type RateLimiter } from './auth/rate-limit.js';
import { authenticateConnection, useApiKeyAuth, type ServerContext } from './auth/request-auth.js';
import { isLoopback, NetworkGuards, useRequestBodyGuards } from './http/network-guards.js';
import { RetentionRules } from './retention/retention.service.js';
import { startRetentionSweep } from './retention/retention-sweep.js';
import { PriceBook } from './costs/cost.service.js';
import { TraceSpanFeeds } from './spans/span-feed.js';
import { TraceUpdateFeeds } from './traces/trace-feed.js';
import { schema } from './schema/index.js';
import { useQueryLimits } from './schema/limits.js';
import { budgetedSchema, useResponseBudget } from './schema/response-budget.js';
import { useStorableInput } from './schema/storable-input.js';
import { useSharedExecution } from './subscriptions/shared-execution.js';
import { SubscriptionSlots, useSubscriptionCaps } from './subscriptions/subscription-caps.js';
import { cancellableSchema, useCancelWhenClientLeaves } from './http/cancellation.js';
import { serveGraphqlWs } from './http/graphql-ws.js';
import { createWebApp } from './http/web-app.js';
import { handleOtlpTraces, isOtlpRequest, refuseOtlp } from './otlp/otlp-route.js';
import { refuseRest, RestApi, restVersionOf } from './rest/rest-api.js';
import { isGraphiQLAssetRequest, renderOfflineGraphiQL, serveGraphiQLAsset, useGraphiQLContentSecurityPolicy } from './http/graphiql-assets.js';
import { LiveFeeds, turnSlot } from './subscriptions/bounded-feed.js';
import { serviceUnavailable, SpantreeError, useErrorCodes } from './errors.js';
import { isOutage } from './db/outage.js';
import { useReadScopeRules } from './schema/read-scope.js';
import { openSecretBox, type SecretBox } from './providers/secret-box.js';
import { NetworkPolicy } from './providers/network-policy.js';
import { ProviderAccess, resealProviderSecrets } from './providers/provider.service.js';
import { PlaygroundRuns } from './playground/playground.service.js';

/** A Spantree server: what it holds, and how to start and stop it. */
export interface SpantreeServer {
  readonly config: Config;
  /** The database, pub/sub, caches and live feeds, as services and resolvers are handed them. */
  readonly services: Services;
  /** The key a first start created (to be shown once), if it created one. */
  readonly createdAccess: CreatedAccess | undefined;
  /** What the start did that its operator should know (a secret key generated, secrets re-encrypted), one sentence each. */
  readonly notices: string[];
  /** http://host:port/graphql. */
  readonly url: string;
  /**
   * The web UI's address with the first start's key in its fragment (`http://127.0.0.1:4000/#key=...`),
   * for the operator to open once: the page keeps the key and drops it from the address bar. Only on
   * a loopback bind, with the key SPANTREE_ADMIN_KEY_FILE holds for this database, while it works.
   */
  readonly loginUrl: string | undefined;
  /** The port listened on (PORT=0 picks a free one), taken when the server was built. */
  readonly port: number;
  /** Starts answering requests (until then they get a 503 with Retry-After); a start that fails closes everything. */
  start(): Promise<void>;
  /** Stops accepting, lets in-flight operations finish, closes subscribers with 1001, closes the database. */
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** Sees every SQL statement the server sends (tests and the benchmark count them); off when left out. */
  onQuery?: QueryObserver;
}

const ENDPOINT = '/graphql';

/** What GraphiQL opens with: the trace explorer's first screen, and how to go on from there. */
const GRAPHIQL_QUERY = `# Welcome to Spantree. The Docs pane (top left)
# documents every type and field.
#
# Recent traces, as the trace explorer lists
# them. Filter with
#   traces(filter: {
#     status: [ERROR]
#     hasSpan: { type: [TOOL], hasError: true }
#   })
# open one with
#   trace(id: "...") {
#     rootSpan {
#       name children { name durationMs }
#     }
#   }
# and tail a running one with
#   subscription {
#     traceSpans(traceId: "...", replay: true) {
#       op span { name durationMs }
#     }
#   }

query RecentTraces {
  traces(first: 20) {
    totalCount
    edges {
      node {
        id name status startTime durationMs
        summary cost totalTokens
        inputPreview outputPreview
      }
    }
  }
}
`;

/** Builds a server and starts it. */
export async function startServer(config: Config, options: ServerOptions = {}): Promise<SpantreeServer> {
  const server = await buildServer(config, options);
  await server.start();
  return server;
}

/**
 * Takes the port, connects to Redis, opens the database (migrating it), makes the caches and live
 * feeds, and ensures a first key exists; the server answers requests once started. In that order, so
 * that a start that cannot listen or reach Redis changes nothing on disk: no database is created or
 * migrated, no key file is written. A build that fails closes what it opened.
 */
export async function buildServer(config: Config, options: ServerOptions = {}): Promise<SpantreeServer> {
  // Until start(), a request that reaches the port (a browser opened early) is asked to come back.
  let handle: RequestListener = answerStarting;
  const httpServer = createHttpServer((req, res) => handle(req, res));
  await listen(httpServer, config);
  let db: Database | undefined;
  let pubsub: PubSub | undefined;
  let rateLimiter: RateLimiter | undefined;
  let services: Services | undefined;
  // Once, whether a failed build or start or a stop comes first.
  let closing: Promise<void> | undefined;
  const closeResources = () =>
    (closing ??= (async () => {
      services?.playground.stop();
      services?.feeds.endAll();
      await services?.providerAccess.close();
      await services?.apiKeys.close();
      services?.retention.close();
      services?.prices.close();
      await rateLimiter?.close();
      await pubsub?.close();
      await db?.close();
    })());
  try {
    pubsub = await openPubSub(config.REDIS_URL);
    rateLimiter = await openRateLimiter(config.RATE_LIMIT_PER_SECOND, config.REDIS_URL);
    db = await openDatabase(config.DATABASE_URL, { onQuery: options.onQuery });
    const secrets = await openSecretBox({ key: config.SPANTREE_SECRET_KEY, previous: config.SPANTREE_SECRET_KEY_PREVIOUS, keyFile: config.SPANTREE_SECRET_KEY_FILE });
    services = openServices(config, db, pubsub, secrets.box);
    const createdAccess = await ensureAccess(db, config);
    const notices = await secretNotices(db, secrets.box, secrets.createdFile);
    const login = await loginKey(config, services.apiKeys);
    return assemble(config, httpServer, (serve) => (handle = serve), services, rateLimiter, createdAccess, notices, closeResources, login);
  } catch (error) {
    // Whatever was opened is closed again: a failed start leaves nothing running or locked.
    await closeResources();
    await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    throw error;
  }
}

/** Listens on PORT and HOST; rejects with the listen error (a port in use: EADDRINUSE). */
function listen(httpServer: Server, config: Config): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.PORT, config.HOST, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
}

/** The answer to a request that arrives while the server is still starting: come back in a second. */
function answerStarting(req: IncomingMessage, res: ServerResponse): void {
  if (isOtlpRequest(req)) return refuseOtlp(req, res, 503, 'The server is starting; retry the export', { 'retry-after': '1' });
  if (restVersionOf(req)) return refuseRest(req, res, 503, 'The server is starting; retry in a moment', { 'retry-after': '1' });
  res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
  res.end(JSON.stringify({ errors: [{ message: 'The server is starting; retry in a moment', extensions: { code: 'SERVICE_UNAVAILABLE' } }] }));
  req.resume();
}

/**
 * Re-encrypts provider secrets sealed under SPANTREE_SECRET_KEY_PREVIOUS, and says what an operator
 * must know: a secret key generated (back it up), secrets re-encrypted, secrets no key opens.
 */
async function secretNotices(db: Database, secrets: SecretBox, createdFile: string | undefined): Promise<string[]> {
  const notices: string[] = [];
  if (createdFile) notices.push(`Generated the secret key that encrypts model provider keys, in ${createdFile} (mode 0600); back it up with the database.`);
  const { resealed, unreadable } = await resealProviderSecrets(db, secrets);
  if (resealed) notices.push(`Re-encrypted the secrets of ${resealed} model provider(s) under the current SPANTREE_SECRET_KEY.`);
  if (unreadable) {
    notices.push(
      `The secrets of ${unreadable} model provider(s) were encrypted under a key this server does not have: set SPANTREE_SECRET_KEY_PREVIOUS to it, or set their keys again.`,
    );
  }
  return notices;
}

/** The parts of the application object that services and resolvers are handed. */
function openServices(config: Config, db: Database, pubsub: PubSub, secrets: SecretBox): Services {
  return {
    db,
    pubsub,
    feeds: new LiveFeeds(),
    apiKeys: new ApiKeys(db, pubsub, config.API_KEY_RECHECK_MS),
    retention: new RetentionRules(db, pubsub),
    prices: new PriceBook(db, pubsub),
    spanFeeds: new TraceSpanFeeds(db, pubsub),
    spanSnapshots: new SpanSnapshots(db),
    traceFeeds: new TraceUpdateFeeds(db, pubsub),
    subscriptionSlots: new SubscriptionSlots({ perConnection: config.MAX_SUBSCRIPTIONS_PER_CONNECTION, perKey: config.MAX_SUBSCRIPTIONS_PER_KEY }),
    providerAccess: new ProviderAccess(secrets, new NetworkPolicy(config.PLAYGROUND_ALLOW_PRIVATE_NETWORKS), config.PLAYGROUND_TIMEOUT_MS),
    playground: new PlaygroundRuns({
      maxTokens: config.PLAYGROUND_MAX_TOKENS,
      maxRunsPerKey: config.PLAYGROUND_MAX_RUNS_PER_KEY,
      timeoutMs: config.PLAYGROUND_TIMEOUT_MS,
    }),
  };
}

/**
 * The key of the login link printed at start: the one a first start wrote to SPANTREE_ADMIN_KEY_FILE
 * for this database, as long as it works, and only when the server listens on loopback. No page
 * carries a key: any local user can fetch a page, while the link reaches only whoever reads the
 * server's output (who can read the key file too), and a URL fragment is never sent to a server, a
 * log or a Referer. A key set in SPANTREE_INIT_API_KEY is never printed: its operator has it already.
 */
async function loginKey(config: Config, apiKeys: ApiKeys): Promise<string | undefined> {
  if (!isLoopback(config.HOST) || config.SPANTREE_INIT_API_KEY) return undefined;
  const key = await keyOfDatabase(config.SPANTREE_ADMIN_KEY_FILE, config.DATABASE_URL);
  return key && (await apiKeys.authenticate(key)) ? key : undefined;
}

/** The HTTP, WebSocket and OTLP front of a server over its services. */
function assemble(
  config: Config,
  httpServer: Server,
  serveWith: (listener: RequestListener) => void,
  services: Services,
  rateLimiter: RateLimiter,
  createdAccess: CreatedAccess | undefined,
  notices: string[],
  closeResources: () => Promise<void>,
  login: string | undefined,
): SpantreeServer {
  const inFlight = new InFlight();
  const guards = new NetworkGuards(config);
  const limits = {
    subscriptionBuffer: config.SUBSCRIPTION_BUFFER,
    batchSpans: config.MAX_BATCH_SPANS,
    maxComplexity: config.MAX_COMPLEXITY,
    staleAfterMs: config.STALE_AFTER_MS,
    maxResponseRows: config.MAX_RESPONSE_ROWS,
    maxResponseBytes: config.MAX_RESPONSE_BYTES,
  };
  const contextOf = (principal: Principal | undefined, signal: AbortSignal | undefined, connection?: object): Context => {
    // Every entry point authenticates first; reaching here without a principal is a bug, not a client error.
    if (!principal) throw new Error('An operation reached execution without an authenticated principal');
    return { services, principal, scope: { projectId: principal.projectId }, loaders: new Map(), limits, signal, connection };
  };
  const yoga: YogaServerInstance<ServerContext, Context> = createYoga<ServerContext, Context>({
    // Every field counts what it adds to the response (MAX_RESPONSE_ROWS, MAX_RESPONSE_BYTES).
    schema: budgetedSchema(cancellableSchema(schema)),
    graphqlEndpoint: ENDPOINT,
    // GraphiQL subscribes over SSE, which sends the headers pane (the API key) like any request.
    // The page carries no key: its script fills the headers pane with the key this browser keeps
    // for the web UI, or one from a login link (src/http/graphiql-assets.ts).
    graphiql: config.GRAPHIQL
      ? {
          title: 'Spantree',
          subscriptionsProtocol: 'SSE',
          defaultQuery: GRAPHIQL_QUERY,
          headers: JSON.stringify({ Authorization: 'Bearer <your API key>' }, null, 2),
        }
      : false,
    // The GraphiQL bundled with Spantree, its files served by this server: no CDN, works offline.
    renderGraphiQL: renderOfflineGraphiQL,
    landingPage: false,
    cors: guards.cors(),
    maxRequestBodySize: config.MAX_BODY_BYTES,
    multipart: false,
    // Liveness at /health/live; /health is readiness (database reachable, migrations applied).
    healthCheckEndpoint: '/health/live',
    // Errors that are not a GraphQLError (a Prisma error, a bug) reach the client as
    // "Unexpected error." and are logged here with their stack; never turned off. The database out of
    // reach is no bug: SERVICE_UNAVAILABLE, HTTP 503 with Retry-After, which clients retry.
    maskedErrors: {
      maskError: (error, message, isDev) => (isOutage(error) ? serviceUnavailable(error instanceof GraphQLError ? error : undefined) : maskError(error, message, isDev)),
    },
    // HTTP and SSE: the principal the auth plugin found, cancelled with the request. WebSocket: the
    // connection's principal, cancelled with the socket (see onSubscribe below).
    context: (initial) => {
      const { principal, request, signal, connection } = initial as typeof initial & { signal?: AbortSignal; connection?: object };
      return contextOf(principal, signal ?? request?.signal, connection);
    },
    plugins: [
      useRequestBodyGuards(config.MAX_BODY_BYTES),
      useReadinessCheck({ endpoint: '/health', check: () => services.db.checkReady().then(() => true) }),
      useApiKeyAuth({ apiKeys: services.apiKeys, rateLimiter }),
      // Every request carries Authorization, which browsers never send cross-site without a CORS
      // preflight; a request with neither it nor yoga's header is refused as a forgery.
      useCSRFPrevention({ requestHeaders: ['authorization', 'x-graphql-yoga-csrf'] }) as Plugin,
      ...useQueryLimits(config),
      // A key without READ: no introspection, and a write's answer shows only what it sent.
      useReadScopeRules(),
      useStorableInput(),
      // @defer and @stream: `spans @stream(initialCount: 200)` sends the first rows at once, the rest as
      // they are read, over multipart HTTP, SSE and graphql-ws.
      useDeferStream(),
      useStreamedJson(),
      useSharedExecution(),
      // After shared execution, whose subscribe function it wraps.
      useSubscriptionCaps(services.subscriptionSlots),
      useCancelWhenClientLeaves(),
      // An answer over MAX_RESPONSE_ROWS or MAX_RESPONSE_BYTES is the refusal alone.
      useResponseBudget(),
      inFlight.plugin(),
      useErrorCodes(),
      useGraphiQLContentSecurityPolicy(),
    ],
  });

  // The Opper-compatible REST API: writes through the write path, reads as GraphQL reads, each read
  // run through yoga's envelop like a WebSocket operation (same plugins, limits and cancellation).
  const restApi = new RestApi({
    services,
    rateLimiter,
    maxBodyBytes: config.MAX_BODY_BYTES,
    hold: () => inFlight.hold(),
    execute: async (req, principal, signal, document, variableValues) => {
      const enveloped = yoga.getEnveloped({ req, principal, signal });
      const errors = enveloped.validate(enveloped.schema, document);
      if (errors.length) return { errors };
      return (await enveloped.execute({ schema: enveloped.schema, document, variableValues, contextValue: await enveloped.contextFactory() })) as ExecutionResult;
    },
  });

  // The browser UI (dist/web/): pages without a key, which the login link hands over.
  const webApp = createWebApp();
  let stopping: Promise<void> | undefined;
  /** HTTP requests taken and not yet answered: idle connections are closed only once there are none. */
  let openRequests = 0;
  const serveRequest: RequestListener = (req, res) => {
    if (stopping) {
      // A keep-alive client may still send on a connection it opened before (they stay open while
      // requests drain, see stopListening): refuse plainly (the request was not acknowledged, so
      // nothing is owed) and close the connection.
      if (isOtlpRequest(req)) return refuseOtlp(req, res, 503, 'The server is shutting down; retry the export', { connection: 'close', 'retry-after': '1' });
      if (restVersionOf(req)) return refuseRest(req, res, 503, 'The server is shutting down; retry the request', { connection: 'close', 'retry-after': '1' });
      res.writeHead(503, { 'content-type': 'application/json', connection: 'close', 'retry-after': '1' });
      res.end(JSON.stringify({ errors: [{ message: 'The server is shutting down; retry the request', extensions: { code: 'SHUTTING_DOWN' } }] }));
      return;
    }
    const hostProblem = guards.hostProblem(req);
    if (hostProblem) {
      if (isOtlpRequest(req)) return refuseOtlp(req, res, 403, hostProblem);
      if (restVersionOf(req)) return refuseRest(req, res, 403, hostProblem);
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ message: hostProblem, extensions: { code: 'FORBIDDEN' } }] }));
      return;
    }
    if (isOtlpRequest(req)) {
      void handleOtlpTraces(req, res, { services, maxBodyBytes: config.MAX_BODY_BYTES, batchSpans: config.MAX_BATCH_SPANS, rateLimiter, hold: () => inFlight.hold() });
      return;
    }
    if (restVersionOf(req)) {
      restApi.handle(req, res);
      return;
    }
    if (config.GRAPHIQL && isGraphiQLAssetRequest(req)) {
      void serveGraphiQLAsset(req, res).catch((error: unknown) => {
        console.error('Serving a GraphiQL file failed', error);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end();
      });
      return;
    }
    if (webApp.handles(req)) {
      void webApp.serve(req, res);
      return;
    }
    void yoga(req, res);
  };
  /** graphql-ws on the HTTP server's port and path, attached once listening: a failed listen is then only the HTTP server's error. */
  const serveWebSocket = () => {
    // WebSocket operations in flight, per socket, each with the release of its in-flight count.
    const operations = new WeakMap<object, Map<string, () => void>>();
    const operationsOf = (ctx: { extra: { socket: object } }) => {
      let ofSocket = operations.get(ctx.extra.socket);
      if (!ofSocket) operations.set(ctx.extra.socket, (ofSocket = new Map()));
      return ofSocket;
    };
    const settle = (ctx: { extra: { socket: object } }, id: string) => {
      operationsOf(ctx).get(id)?.();
      operationsOf(ctx).delete(id);
    };
    // WebSocket operations are cancelled when their socket closes.
    const socketSignals = new WeakMap<object, AbortController>();
    // Each operation gets a signal of its own, aborted when its socket closes, and forgotten when the
    // operation ends: the executor removes the listener it adds to a signal only when that signal
    // aborts, so handing it the socket's signal would keep every finished operation (context, loaders
    // and all) alive for as long as the socket stays open.
    const operationControllers = new WeakMap<object, Map<string, AbortController>>();
    const operationSignal = (ctx: { extra: { socket: object } }, id: string): AbortSignal => {
      let ofSocket = operationControllers.get(ctx.extra.socket);
      if (!ofSocket) operationControllers.set(ctx.extra.socket, (ofSocket = new Map()));
      const controller = new AbortController();
      if (socketSignals.get(ctx.extra.socket)?.signal.aborted) controller.abort();
      ofSocket.set(id, controller);
      return controller.signal;
    };
    const forgetSignal = (ctx: { extra: { socket: object } }, id: string) => operationControllers.get(ctx.extra.socket)?.delete(id);
    const wsServer = new WebSocketServer({
      server: httpServer,
      path: ENDPOINT,
      maxPayload: config.MAX_BODY_BYTES,
      verifyClient: ({ req }: { req: IncomingMessage }, done: (ok: boolean, status?: number, message?: string) => void) => {
        const problem = guards.hostProblem(req) ?? guards.originProblem(req);
        if (problem) done(false, 403, problem);
        // A burst of connections is accepted a batch per turn, other requests served in between.
        else void turnSlot().then(() => done(true));
      },
    });
    wsServer.on('connection', (socket) => {
      const controller = new AbortController();
      socketSignals.set(socket, controller);
      socket.once('close', () => {
        controller.abort();
        for (const operation of operationControllers.get(socket)?.values() ?? []) operation.abort();
      });
    });
    const ws = serveGraphqlWs<{ principal?: Principal }>(
      {
        // The key is checked once, at connection_init: a missing or bad one closes the socket with
        // 4403 Forbidden. A revocation later closes it the same way, ending its subscriptions.
        onConnect: async (ctx) => {
          const principal = await authenticateConnection(services.apiKeys, ctx.connectionParams);
          if (!principal) return false;
          ctx.extra.principal = principal;
          const socket = ctx.extra.socket as unknown as { close(code: number, reason: string): void };
          const onRevoked = () => socket.close(CloseCode.Forbidden, 'Forbidden: the API key was revoked');
          principal.revoked.addEventListener('abort', onRevoked, { once: true });
          socketSignals.get(ctx.extra.socket)?.signal.addEventListener('abort', () => principal.revoked.removeEventListener('abort', onRevoked), { once: true });
          return true;
        },
        // Every WebSocket operation runs through yoga's envelop, so plugins, context and limits are the
        // same as over HTTP.
        execute: async (args) => {
          try {
            return await (args.rootValue as Enveloped).execute(args);
          } catch (error) {
            // Cancelled because its socket closed: nobody to answer, and no server fault to log.
            if ((args.contextValue as Context).signal?.aborted) return { data: null };
            throw error;
          }
        },
        subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
        onSubscribe: async (ctx, id, params) => {
          // Refused once stopping; otherwise counted as in flight from here, not only once it executes,
          // so shutdown waits for an operation that is still being set up.
          if (stopping) return [new GraphQLError('The server is shutting down; retry the operation', { extensions: { code: 'SHUTTING_DOWN' } })];
          // A burst of subscriptions is set up a batch per turn, other requests served in between.
          await turnSlot();
          const principal = ctx.extra.principal!;
          const verdict = await rateLimiter.take(principal.keyId);
          if (!verdict.allowed) {
            return [
              new SpantreeError('RATE_LIMITED', `This API key is over its rate limit; retry in ${verdict.retryAfterSeconds} s`, {
                retryAfterSeconds: verdict.retryAfterSeconds,
              }),
            ];
          }
          const release = inFlight.hold();
          try {
            const enveloped = yoga.getEnveloped({
              ...ctx,
              req: ctx.extra.request,
              socket: ctx.extra.socket,
              params,
              principal,
              signal: operationSignal(ctx, id),
              connection: ctx.extra.socket,
            });
            let document: DocumentNode;
            try {
              document = enveloped.parse(params.query);
            } catch (error) {
              if (error instanceof GraphQLError) {
                release();
                return [error]; // a syntax error: the client's, with its message
              }
              throw error;
            }
            const errors = enveloped.validate(enveloped.schema, document);
            if (errors.length) {
              release();
              return errors;
            }
            const args = {
              schema: enveloped.schema,
              operationName: params.operationName,
              document,
              variableValues: params.variables,
              contextValue: await enveloped.contextFactory(),
              rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
            };
            operationsOf(ctx).set(id, release);
            return args;
          } catch (error) {
            release();
            throw error;
          }
        },
        // Queries and mutations have executed (subscriptions have started): no longer in flight.
        onOperation: (ctx, id) => settle(ctx, id),
        onError: (ctx, id) => {
          settle(ctx, id);
          forgetSignal(ctx, id);
        },
        onComplete: (ctx, id) => {
          settle(ctx, id);
          forgetSignal(ctx, id);
        },
        // A socket that goes away (even mid-operation) leaves nothing counted.
        onClose: (ctx) => {
          for (const release of operationsOf(ctx).values()) release();
          operations.delete(ctx.extra.socket);
        },
      },
      wsServer,
      config.KEEPALIVE_MS,
    );
    return ws;
  };

  let ws: { dispose(): Promise<void> } | undefined;
  let sweep: { stop(): Promise<void> } | undefined;
  const address = httpServer.address() as AddressInfo;
  const origin = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${address.port}`;
  return {
    config,
    services,
    createdAccess,
    notices,
    url: `${origin}/graphql`,
    loginUrl: login ? `${origin}/#key=${encodeURIComponent(login)}` : undefined,
    port: address.port,
    async start() {
      try {
        ws = serveWebSocket();
        serveWith((req, res) => {
          openRequests++;
          res.once('close', () => openRequests--);
          serveRequest(req, res);
        });
        sweep = startRetentionSweep(services, config.RETENTION_SWEEP_MS);
      } catch (error) {
        // Whatever was opened is closed again: a failed start leaves nothing running or locked.
        await closeResources();
        throw error;
      }
    },
    stop: () =>
      (stopping ??= (async () => {
        const closed = stopListening(httpServer);
        await inFlight.drain(config.SHUTDOWN_TIMEOUT_MS);
        // Live feeds end: SSE responses complete, WebSocket subscribers get their final messages.
        services.feeds.endAll();
        await ws?.dispose();
        await drainConnections(httpServer, closed, config.SHUTDOWN_TIMEOUT_MS, () => openRequests);
        await sweep?.stop();
        await closeResources();
      })()),
  };
}

type Enveloped = {
  execute: (args: ExecutionArgs) => ReturnType<typeof execute>;
  subscribe: (args: ExecutionArgs) => ReturnType<typeof subscribe>;
};

/**
 * Stops accepting connections; resolves once every open one has ended. Idle keep-alive connections
 * stay open for now: http.Server.close() would close them at once, and a request that a client sends
 * on one at that moment meets a connection reset, not an answer. While the server drains, such a
 * request is answered 503 SHUTTING_DOWN with Connection: close (serveRequest), which ends it.
 */
function stopListening(server: Server): Promise<void> {
  return new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
}

/**
 * Once no request is left to answer, idle keep-alive connections are closed, each as it goes idle;
 * whatever is left is cut when the time is up. Until then an idle connection may still bring a
 * request, which gets its 503.
 */
async function drainConnections(server: Server, closed: Promise<void>, timeoutMs: number, openRequests: () => number) {
  const deadline = Date.now() + timeoutMs;
  let done = false;
  void closed.then(() => (done = true));
  while (!done && Date.now() < deadline) {
    if (openRequests() === 0) server.closeIdleConnections();
    await Promise.race([closed, delay(25)]);
  }
  server.closeAllConnections();
  // The listener is closed already; http.Server.close() also stops the timer that enforces requestTimeout.
  server.close();
}

function delay(ms: number) {
  return new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
}

/** Counts queries and mutations being executed, on any transport, so shutdown can wait for them. */
class InFlight {
  private count = 0;
  private waiters: (() => void)[] = [];

  plugin(): Plugin {
    return {
      onExecute: ({ executeFn, setExecuteFn }) => {
        const release = this.hold();
        // An execution cancelled because its client left rejects and never reaches onExecuteDone:
        // without this it would stay counted for good, and every later shutdown would wait out its
        // whole timeout.
        setExecuteFn(async (args) => {
          try {
            return await executeFn(args);
          } catch (error) {
            release();
            throw error;
          }
        });
        return { onExecuteDone: release };
      },
    };
  }

  /** Counts one more operation in flight; call the returned function (once) when it is done. */
  hold(): () => void {
    this.count++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.done();
    };
  }

  private done() {
    this.count--;
    if (this.count === 0) for (const wake of this.waiters.splice(0)) wake();
  }

  drain(timeoutMs: number): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return Promise.race([new Promise<void>((resolve) => this.waiters.push(resolve)), delay(timeoutMs)]);
  }
}
