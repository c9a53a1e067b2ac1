/**
 * Per-key rate limiting: each API key may start RATE_LIMIT_PER_SECOND operations a second (HTTP
 * requests, WebSocket operations, OTLP exports). rate-limiter-flexible counts them in fixed
 * one-second windows that start with a key's first operation: in memory for one instance, in Redis
 * (one atomic increment with its expiry) when REDIS_URL is set, so several instances share one budget
 * per key. The envelop rate limiters do not fit: they limit fields inside an execution, while this must
 * answer a plain HTTP 429 before the body is even parsed.
 */
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

export type RateVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export interface RateLimiter {
  /** Counts one operation for `keyId` and says whether it may go ahead. */
  take(keyId: string): Promise<RateVerdict>;
  close(): Promise<void>;
}

const ALLOWED: RateVerdict = { allowed: true };

export async function openRateLimiter(perSecond: number, redisUrl?: string): Promise<RateLimiter> {
  if (perSecond <= 0) return { take: async () => ALLOWED, close: async () => {} };
  const options = { points: perSecond, duration: 1 };
  let limiter: RateLimiterAbstract;
  let close = async () => {};
  if (redisUrl) {
    // No offline queue: while Redis is away a count fails at once (and the operation is served), rather
    // than waiting for a reconnection.
    // Loaded only when used, as the pub/sub's client is.
    const { Redis } = await import('ioredis');
    const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
    redis.on('error', () => {}); // reported by the pub/sub's clients; a limiter must not crash the server
    try {
      await redis.connect();
    } catch (error) {
      redis.disconnect();
      throw error;
    }
    limiter = new RateLimiterRedis({ ...options, storeClient: redis, keyPrefix: 'spantree:rate', rejectIfRedisNotReady: true });
    close = async () => {
      await redis.quit().catch(() => redis.disconnect());
    };
  } else {
    limiter = new RateLimiterMemory(options);
  }
  return {
    async take(keyId) {
      try {
        await limiter.consume(keyId);
        return ALLOWED;
      } catch (refusal) {
        if (refusal instanceof RateLimiterRes) {
          return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(refusal.msBeforeNext / 1000)) };
        }
        // Redis unreachable: serve rather than refuse everyone; the outage is logged by the pub/sub.
        return ALLOWED;
      }
    },
    close,
  };
}
