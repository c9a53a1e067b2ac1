/**
 * Whether an error means the database (or Redis) cannot be reached right now, rather than that the
 * request or the code is wrong: every transport answers the first with 503 and Retry-After (OTLP
 * exporters retry only 429, 502, 503 and 504; GraphQL clients get SERVICE_UNAVAILABLE), the second as
 * before. Narrow on purpose: a constraint violation, a bad query or a disk error is never an outage.
 */

/** Prisma's codes for a database it cannot reach, that timed out, or closed the connection; a pool with no connection to give. */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);

/** What the driver adapters report for a connection refused, reset or timed out, SQLite's busy past its timeout included. */
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);

/** PostgreSQL: connection exceptions (class 08), the server shutting down or starting, too many connections. */
const SQLSTATES = /^(08...|57P01|57P02|57P03|53300)$/;

/** Node's socket errors: refused, reset, timed out, unreachable, unresolvable. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);

/** node-postgres' own words for a connection lost or never made, and ioredis' for a connection gone. */
const MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Connection is closed\.?$|Reached the max retries per request limit)/;

/** Whether `error`, or anything it was caused by, says the database or Redis is out of reach. */
export function isOutage(error: unknown): boolean {
  const seen = new Set<unknown>();
  const pending = [error];
  while (pending.length) {
    const item = pending.pop();
    if (item === null || typeof item !== 'object' || seen.has(item)) continue;
    seen.add(item);
    const value = item as {
      code?: unknown;
      kind?: unknown;
      originalCode?: unknown;
      message?: unknown;
      cause?: unknown;
      originalError?: unknown;
      meta?: { driverAdapterError?: unknown };
    };
    if (typeof value.code === 'string' && (PRISMA_CODES.has(value.code) || SOCKET_CODES.has(value.code) || value.code.startsWith('SQLITE_BUSY'))) return true;
    if (typeof value.kind === 'string' && ADAPTER_KINDS.has(value.kind)) return true;
    if (typeof value.originalCode === 'string' && SQLSTATES.test(value.originalCode)) return true;
    if (typeof value.code === 'string' && SQLSTATES.test(value.code)) return true;
    if (typeof value.message === 'string' && MESSAGES.test(value.message)) return true;
    pending.push(value.cause, value.originalError, value.meta?.driverAdapterError);
  }
  return false;
}
