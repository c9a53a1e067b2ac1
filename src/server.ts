/**
 * One HTTP server on one port: GraphQL over HTTP and SSE (graphql-yoga), GraphQL over WebSocket
 * (graphql-ws) on the same path, GraphiQL for people. start() and stop() are all main.ts needs.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { GraphQLError, type DocumentNode, type ExecutionArgs, type execute, type subscribe } from 'graphql';
import type { Config } from './config.js';
import { openDatabase } from './db/database.js';
import { closePubSub, openPubSub } from './pubsub.js';
import { ensureDefaultProject, DEFAULT_PROJECT_ID } from './projects/project.service.js';
import type { Context } from './schema/builder.js';
import { schema } from './schema/index.js';
import { shutdownSignal } from './shutdown.js';
import { useErrorCodes } from './errors.js';

export interface RunningServer {
  /** http://host:port/graphql */
  url: string;
  port: number;
  /** Stops accepting, lets in-flight operations finish, closes subscribers with 1001, closes the database. */
  stop(): Promise<void>;
}

type ServerContext = { req?: unknown };

/** What GraphiQL opens with: the trace explorer's first screen, and how to go on from there. */
const GRAPHIQL_QUERY = `# Welcome to Spantree. The Docs pane (top left) documents every type and field.
#
# Recent traces, as the trace explorer lists them. Filter with
#   traces(filter: { status: [ERROR], hasSpan: { type: [TOOL], hasError: true } })
# open one with trace(id: "...") { rootSpan { name children { name durationMs } } },
# and tail a running one with
#   subscription { traceSpans(traceId: "...", replay: true) { op span { name durationMs } } }

query RecentTraces {
  traces(first: 20) {
    totalCount
    edges {
      node { id name status startTime durationMs summary cost totalTokens inputPreview outputPreview }
    }
  }
}
`;

export async function startServer(config: Config): Promise<RunningServer> {
  const db = await openDatabase(config.DATABASE_URL);
  try {
    await openPubSub(config.REDIS_URL);
    await ensureDefaultProject();
    return await serve(config, async () => {
      await closePubSub();
      await db.close();
    });
  } catch (error) {
    // Whatever was opened is closed again: a failed start leaves nothing running or locked.
    await closePubSub();
    await db.close();
    throw error;
  }
}

async function serve(config: Config, closeResources: () => Promise<void>): Promise<RunningServer> {
  const inFlight = new InFlight();
  const yoga: YogaServerInstance<ServerContext, Context> = createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    graphiql: config.GRAPHIQL ? { title: 'Spantree', subscriptionsProtocol: 'WS', defaultQuery: GRAPHIQL_QUERY } : false,
    landingPage: false,
    // Errors that are not a GraphQLError (a Prisma error, a bug) reach the client as
    // "Unexpected error." and are logged here with their stack; never turned off.
    maskedErrors: true,
    context: (): Context => ({
      scope: { projectId: DEFAULT_PROJECT_ID },
      loaders: new Map(),
      limits: { subscriptionBuffer: config.SUBSCRIPTION_BUFFER, batchSpans: config.MAX_BATCH_SPANS },
    }),
    plugins: [inFlight.plugin(), useErrorCodes()],
  });

  let stopping: Promise<void> | undefined;
  const httpServer = createServer((req, res) => {
    if (stopping) {
      // A keep-alive client may still send on a connection it opened before: refuse plainly (the
      // request was not acknowledged, so nothing is owed) and close the connection.
      res.writeHead(503, { 'content-type': 'application/json', connection: 'close', 'retry-after': '1' });
      res.end(JSON.stringify({ errors: [{ message: 'The server is shutting down; retry the request', extensions: { code: 'SHUTTING_DOWN' } }] }));
      return;
    }
    void yoga(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.PORT, config.HOST, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
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
  // Attached once listening: a failed listen is then only the HTTP server's error.
  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql' });
  const ws = useServer<Record<string, unknown>, { request: unknown }>(
    {
      // Every WebSocket operation runs through yoga's envelop, so plugins, context and limits are the
      // same as over HTTP.
      execute: (args) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
      onSubscribe: async (ctx, id, params) => {
        // Refused once stopping; otherwise counted as in flight from here, not only once it executes,
        // so shutdown waits for an operation that is still being set up.
        if (stopping) return [new GraphQLError('The server is shutting down; retry the operation', { extensions: { code: 'SHUTTING_DOWN' } })];
        const release = inFlight.hold();
        try {
          const enveloped = yoga.getEnveloped({ ...ctx, req: ctx.extra.request, socket: ctx.extra.socket, params });
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
      onError: (ctx, id) => settle(ctx, id),
      onComplete: (ctx, id) => settle(ctx, id),
      // A socket that goes away (even mid-operation) leaves nothing counted.
      onClose: (ctx) => {
        for (const release of operationsOf(ctx).values()) release();
        operations.delete(ctx.extra.socket);
      },
    },
    wsServer,
    config.KEEPALIVE_MS,
  );

  const { port } = httpServer.address() as AddressInfo;
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;

  return {
    url: `http://${host}:${port}/graphql`,
    port,
    stop: () =>
      (stopping ??= (async () => {
        const closed = closeHttp(httpServer);
        await inFlight.drain(config.SHUTDOWN_TIMEOUT_MS);
        shutdownSignal.abort();
        await ws.dispose();
        await drainConnections(httpServer, closed, config.SHUTDOWN_TIMEOUT_MS);
        await closeResources();
      })()),
  };
}

type Enveloped = {
  execute: (args: ExecutionArgs) => ReturnType<typeof execute>;
  subscribe: (args: ExecutionArgs) => ReturnType<typeof subscribe>;
};

/** Stops accepting connections and resolves once every open one has ended. */
function closeHttp(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  return closed;
}

/**
 * Keep-alive connections that were busy when closing began go idle once their response is out:
 * close each as it does, and cut whatever is left when the time is up.
 */
async function drainConnections(server: Server, closed: Promise<void>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let done = false;
  void closed.then(() => (done = true));
  while (!done && Date.now() < deadline) {
    server.closeIdleConnections();
    await Promise.race([closed, delay(25)]);
  }
  server.closeAllConnections();
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
      onExecute: () => {
        const release = this.hold();
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
