/** Which errors are an outage (503, retried) and which stay a bug or the client's (issue 22, finding 7). */
import { describe, expect, it } from 'vitest';
import { isOutage } from '../../src/db/outage.js';

const prismaError = (code: string, driverAdapterError?: unknown) => Object.assign(new Error('query failed'), { code, meta: driverAdapterError ? { driverAdapterError } : {} });

describe('isOutage', () => {
  it('knows a database out of reach: Prisma codes, driver-adapter kinds, SQLSTATEs, socket errors, pg and ioredis words', () => {
    for (const error of [
      prismaError('P1001'),
      prismaError('P1017'),
      prismaError('P2024'),
      prismaError('P2010', { cause: { kind: 'DatabaseNotReachable' } }),
      prismaError('P2010', { cause: { kind: 'SocketTimeout' } }), // SQLite's busy past its timeout, too
      prismaError('P2010', { cause: { kind: 'postgres', originalCode: '57P01' } }),
      prismaError('P2010', { cause: { kind: 'postgres', originalCode: '08006' } }),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      new Error('outer', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) }),
      new Error('Connection terminated unexpectedly'),
      new Error('Connection is closed.'),
    ]) {
      expect(isOutage(error), String(JSON.stringify(error))).toBe(true);
    }
  });

  it('never takes a bug, a constraint violation or bad input for one', () => {
    for (const error of [
      new Error('Cannot read properties of undefined'),
      prismaError('P2002'),
      prismaError('P2010', { cause: { kind: 'UniqueConstraintViolation' } }),
      prismaError('P2010', { cause: { kind: 'postgres', originalCode: '23505' } }),
      prismaError('P2010', { cause: { kind: 'postgres', originalCode: '53200' } }), // out of shared memory: not the server gone
      Object.assign(new Error('UNIQUE constraint failed'), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' }),
      Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' }),
      null,
      'ECONNREFUSED',
    ]) {
      expect(isOutage(error), String(error)).toBe(false);
    }
  });
});
