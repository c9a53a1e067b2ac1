import { GraphQLError } from 'graphql';

/**
 * Client-actionable failures. Each carries a stable `extensions.code` that integrators can branch on;
 * anything else thrown is unexpected and masked by yoga, so no stack trace or SQL reaches a client.
 */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'RATE_LIMITED';

export class SpantreeError extends GraphQLError {
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message, { extensions: { code, ...details } });
  }
}

export class BadUserInput extends SpantreeError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('BAD_USER_INPUT', message, details);
  }
}

export class NotFound extends SpantreeError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('NOT_FOUND', message, details);
  }
}

export class Conflict extends SpantreeError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('CONFLICT', message, details);
  }
}
