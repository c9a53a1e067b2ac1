import { z } from 'zod';

/** Every setting Spantree reads from the environment, parsed and validated once. */
const ConfigSchema = z.object({
  /** `file:` path (SQLite, the default) or `postgresql://` URL. */
  DATABASE_URL: z
    .string()
    .default('file:./data/spantree.db')
    .refine((url) => /^(file:|postgres(ql)?:\/\/)/.test(url), {
      message: 'must start with file: (SQLite) or postgresql:// (PostgreSQL)',
    }),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  /** Loopback by default: exposing the server is a decision, not an accident. */
  HOST: z.string().default('127.0.0.1'),
  /** Set to carry subscription events between server instances through Redis. */
  REDIS_URL: z.string().optional(),
  /** How long SIGTERM waits for in-flight requests before closing connections. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  /** The most spans one createSpans call may carry. */
  MAX_BATCH_SPANS: z.coerce.number().int().min(1).default(1000),
  /**
   * How many changes a subscriber may fall behind before it is closed with SUBSCRIBER_TOO_SLOW: the
   * bound on what one slow client can make the server hold.
   */
  SUBSCRIPTION_BUFFER: z.coerce.number().int().min(1).default(1000),
  /**
   * How many subscriptions one connection (a graphql-ws socket) may hold open at once; more are
   * refused with QUERY_LIMIT_EXCEEDED. A dashboard holds a handful.
   */
  MAX_SUBSCRIPTIONS_PER_CONNECTION: z.coerce.number().int().min(1).default(200),
  /**
   * How many subscriptions one API key may hold open at once on this server instance, over every
   * connection and transport (WebSocket and SSE); more are refused with QUERY_LIMIT_EXCEEDED.
   */
  MAX_SUBSCRIPTIONS_PER_KEY: z.coerce.number().int().min(1).default(2000),
  /** WebSocket ping interval; a client that does not answer within it is disconnected. */
  KEEPALIVE_MS: z.coerce.number().int().min(0).default(12_000),
  /** GraphiQL at /graphql; on by default, `false` turns it off. */
  GRAPHIQL: flag(true),
  /** Schema introspection; `false` in production also stops field suggestions ("Did you mean ..."). */
  INTROSPECTION: flag(true),

  /**
   * An API key created at start-up, with every scope, if no key with this value exists (scripted
   * set-ups and CI). Without it, a first start with no key in the database creates one and prints it.
   */
  SPANTREE_INIT_API_KEY: z.preprocess(
    (value) => (value === '' ? undefined : value), // set but empty means unset, as shells write it
    z
      .string()
      .regex(/^[\x21-\x7e]{16,256}$/, 'must be 16 to 256 printable ASCII characters without spaces')
      .optional(),
  ),
  /** The project the start-up key is for (created if missing). */
  SPANTREE_INIT_PROJECT: z.string().regex(/^[\x21-\x7e]{1,128}$/, 'must be 1 to 128 printable ASCII characters').default('default'),
  /** Where a first start writes the key it created (mode 0600). */
  SPANTREE_ADMIN_KEY_FILE: z.string().min(1).default('./data/admin-key'),

  /** Browser origins allowed to call the API cross-origin (comma-separated); none by default. */
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((value) => value.split(',').map((origin) => origin.trim()).filter(Boolean)),
  /**
   * Host names accepted in the Host header when listening on loopback, besides localhost and the
   * loopback addresses (comma-separated): a DNS-rebinding page reaches the server under its own name.
   */
  ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((value) => value.split(',').map((host) => host.trim().toLowerCase()).filter(Boolean)),

  /** The largest request body (HTTP) or message (WebSocket) accepted, in bytes. */
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(8 * 1024 * 1024),
  /** Operations each API key may start per second (HTTP requests, WebSocket operations); 0 turns it off. */
  RATE_LIMIT_PER_SECOND: z.coerce.number().int().min(0).default(1000),
  /** How deep a selection may nest: room for a 25-level span tree in one request. */
  MAX_QUERY_DEPTH: z.coerce.number().int().min(1).default(40),
  /** How many aliases one operation may use. */
  MAX_ALIASES: z.coerce.number().int().min(0).default(50),
  /** How many tokens one GraphQL document may have. */
  MAX_TOKENS: z.coerce.number().int().min(100).default(20_000),
  /** How many directives one operation may use. */
  MAX_DIRECTIVES: z.coerce.number().int().min(0).default(50),
  /** The estimated cost an operation may have: fields, times the page sizes of the lists they are in. */
  MAX_COMPLEXITY: z.coerce.number().int().min(1).default(20_000),
  /**
   * How many list items one response may hold, counted as it is built (a span's ancestors count one
   * each): what a query of a few fields can make the server build is bounded by its data, not its text.
   */
  MAX_RESPONSE_ROWS: z.coerce.number().int().min(1).default(200_000),
  /** How many bytes of JSON one response may hold (estimated as it is built: text by its length). */
  MAX_RESPONSE_BYTES: z.coerce.number().int().min(1024).default(32 * 1024 * 1024),

  /** How often the retention sweep erases expired content and deletes expired traces. */
  RETENTION_SWEEP_MS: z.coerce.number().int().min(10).default(10 * 60 * 1000),
  /**
   * How often cached API keys are checked against the database, so a revocation whose message
   * between instances was lost still takes effect. Revocations normally apply at once.
   */
  API_KEY_RECHECK_MS: z.coerce.number().int().min(10).default(30_000),
  /**
   * How long a RUNNING trace may go without any change before it counts as stale (`Trace.stale`,
   * `TraceFilter.stale`): a run that crashed without closing its spans, shown as stuck.
   */
  STALE_AFTER_MS: z.coerce.number().int().min(1000).default(30 * 60 * 1000),

  /**
   * The key that encrypts secrets at rest (model providers' API keys and headers), AES-256-GCM: 32
   * bytes as base64 or hex (`openssl rand -base64 32`), or any text of 32 characters or more. Without
   * it, a first start generates one and keeps it in SPANTREE_SECRET_KEY_FILE.
   */
  SPANTREE_SECRET_KEY: z.preprocess((value) => (value === '' ? undefined : value), z.string().min(32, 'must be at least 32 characters (openssl rand -base64 32)').optional()),
  /** The key secrets were encrypted under before a rotation; the server re-encrypts them under the new one at start. */
  SPANTREE_SECRET_KEY_PREVIOUS: z.preprocess((value) => (value === '' ? undefined : value), z.string().min(32, 'must be at least 32 characters').optional()),
  /** Where a generated secret key is kept (mode 0600) when SPANTREE_SECRET_KEY is not set. */
  SPANTREE_SECRET_KEY_FILE: z.string().min(1).default('./data/secret-key'),
  /**
   * Whether the playground may call model providers on loopback and private networks (Ollama or vLLM
   * on the same machine or network). Off by default: a key holder could otherwise reach internal
   * services through the server. Link-local and cloud metadata addresses are refused either way.
   */
  PLAYGROUND_ALLOW_PRIVATE_NETWORKS: flag(false),
  /** How long one playground run may take before it is aborted. */
  PLAYGROUND_TIMEOUT_MS: z.coerce.number().int().min(100).default(120_000),
  /** The most output tokens one playground run may ask for. */
  PLAYGROUND_MAX_TOKENS: z.coerce.number().int().min(1).default(4096),
  /** How many playground runs one API key may have going at once (per server instance). */
  PLAYGROUND_MAX_RUNS_PER_KEY: z.coerce.number().int().min(1).default(4),
});

/** A `true`/`false` setting. */
function flag(defaultValue: boolean) {
  return z
    .enum(['true', 'false'])
    .default(defaultValue ? 'true' : 'false')
    .transform((value) => value === 'true');
}

export type Config = z.infer<typeof ConfigSchema>;

/** Parses settings from `env`; throws one readable error naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid configuration: ${problems.join('; ')}`);
  }
  return parsed.data;
}
