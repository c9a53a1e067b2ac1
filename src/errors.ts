import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

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
  | 'RATE_LIMITED'
  | 'SUBSCRIBER_TOO_SLOW';

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

/**
 * graphql-js reports variables that do not match their declared types (a string for an Int, a bad
 * date, an unknown enum value) without an error code; they are the client's input errors, so give
 * them BAD_USER_INPUT like every other one. Parse and validation errors already carry yoga's codes.
 */
export function useInputErrorCodes(): Plugin {
  const withCode = (error: GraphQLError) =>
    error.extensions?.code || error.path
      ? error
      : new GraphQLError(error.message, {
          nodes: error.nodes,
          source: error.source,
          positions: error.positions,
          originalError: error.originalError,
          extensions: { ...error.extensions, code: 'BAD_USER_INPUT' },
        });
  return {
    onExecute: () => ({
      onExecuteDone: ({ result, setResult }) => {
        if ('errors' in result && result.errors?.length && result.data == null) {
          setResult({ ...result, errors: result.errors.map(withCode) });
        }
      },
    }),
    onSubscribe: () => ({
      onSubscribeResult: ({ result, setResult }) => {
        if ('errors' in result && result.errors?.length) setResult({ ...result, errors: result.errors.map(withCode) });
      },
    }),
  };
}
