/**
 * Per-key rate limiting: each API key may start RATE_LIMIT_PER_SECOND operations a second (HTTP
 * requests, WebSocket operations). Counted in fixed one-second windows: in memory for one instance,
 * in Redis (INCR on a key that expires with its window) when REDIS_URL is set, so several instances
 * share one budget per key. None of the envelop rate limiters fits: they limit fields inside an
 * execution, while this must answer a plain HTTP 429 before the body is even parsed.
 */
import { Redis } from 'ioredis';

export type RateVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export interface RateLimiter {
  /** Counts one operation for `keyId` and says whether it may go ahead. */
  take(keyId: string): Promise<RateVerdict>;
  close(): Promise<void>;
}

const WINDOW_MS = 1000;
const ALLOWED: RateVerdict = { allowed: true };

export async function openRateLimiter(perSecond: number, redisUrl?: string): Promise<RateLimiter> {
  if (perSecond <= 0) return { take: async () => ALLOWED, close: async () => {} };
  const refuse = (windowStart: number): RateVerdict => ({
    allowed: false,
    retryAfterSeconds: Math.max(1, Math.ceil((windowStart + WINDOW_MS - Date.now()) / 1000)),
  });

  if (!redisUrl) {
    const windows = new Map<string, { start: number; count: number }>();
    return {
      async take(keyId) {
        const start = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
        let window = windows.get(keyId);
        if (!window || window.start !== start) {
          if (windows.size > 100_000) windows.clear(); // only current windows matter
          windows.set(keyId, (window = { start, count: 0 }));
        }
        return ++window.count > perSecond ? refuse(start) : ALLOWED;
      },
      close: async () => {},
    };
  }

  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  redis.on('error', () => {}); // reported by the pub/sub's clients; a limiter must not crash the server
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  return {
    async take(keyId) {
      const start = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
      const counter = `spantree:rate:${keyId}:${start}`;
      try {
        const [[, count]] = (await redis.multi().incr(counter).pexpire(counter, WINDOW_MS * 2).exec()) as [[unknown, number]];
        return count > perSecond ? refuse(start) : ALLOWED;
      } catch {
        // Redis unreachable: serve rather than refuse everyone; the outage is logged elsewhere.
        return ALLOWED;
      }
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
