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
  /** WebSocket ping interval; a client that does not answer within it is disconnected. */
  KEEPALIVE_MS: z.coerce.number().int().min(0).default(12_000),
  /** GraphiQL at /graphql; on by default, `false` turns it off. */
  GRAPHIQL: z
    .enum(['true', 'false'])
    .default('true')
    .transform((value) => value === 'true'),
});

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
