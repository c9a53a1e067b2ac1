import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Client-actionable failures. Each carries a stable `extensions.code` that integrators can branch on;
 * anything else thrown is unexpected and masked by yoga, so no stack trace or SQL reaches a client.
 */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'BAD_REQUEST'
  | 'REQUEST_ENTITY_TOO_LARGE'
  | 'QUERY_LIMIT_EXCEEDED'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'SUBSCRIBER_TOO_SLOW'
  | 'SUBSCRIPTION_INTERRUPTED'
  /** A model provider called by the playground answered an error (its status and message are in the extensions). */
  | 'PROVIDER_ERROR'
  /** The database (or Redis) cannot be reached right now: retry after `retryAfterSeconds` (HTTP: 503 with Retry-After). */
  | 'SERVICE_UNAVAILABLE';

export class SpantreeError extends GraphQLError {
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message, { extensions: { code, ...details } });
  }
}

/** How long a client is asked to wait before retrying after an outage (Retry-After, in seconds). */
export const OUTAGE_RETRY_AFTER_SECONDS = 5;

/**
 * The database (or Redis) is out of reach (see src/db/outage.ts): an outage, not a bug, which a client
 * retries. Over HTTP yoga answers it with 503 and Retry-After (`extensions.http`, which it does not
 * send in the body); `at` is the masked error it replaces, whose place in the answer it keeps.
 */
export function serviceUnavailable(at?: GraphQLError): GraphQLError {
  return new GraphQLError(`The database is unavailable; retry in ${OUTAGE_RETRY_AFTER_SECONDS} s`, {
    nodes: at?.nodes,
    source: at?.source,
    positions: at?.positions,
    path: at?.path,
    extensions: {
      code: 'SERVICE_UNAVAILABLE' satisfies ErrorCode,
      retryAfterSeconds: OUTAGE_RETRY_AFTER_SECONDS,
      http: { status: 503, headers: { 'retry-after': String(OUTAGE_RETRY_AFTER_SECONDS) } },
    },
  });
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

export class Forbidden extends SpantreeError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('FORBIDDEN', message, details);
  }
}

export class Conflict extends SpantreeError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('CONFLICT', message, details);
  }
}

/**
 * Every error a client causes carries a code, on every transport. graphql-js reports variables that
 * do not match their declared types (a string for an Int, a bad date, an unknown enum value) without
 * one: BAD_USER_INPUT, like every other input error. Parse and validation errors get the codes yoga
 * gives them over HTTP, also where yoga does not add them itself (WebSocket, SSE).
 */
export function useErrorCodes(): Plugin {
  const withCode = (code: string) => (error: GraphQLError) =>
    error.extensions?.code || error.path
      ? error
      : new GraphQLError(error.message, {
          nodes: error.nodes,
          source: error.source,
          positions: error.positions,
          originalError: error.originalError,
          extensions: { ...error.extensions, code },
        });
  const inputError = withCode('BAD_USER_INPUT');
  return {
    onParse: () => ({ result, replaceParseResult }) => {
      if (result instanceof GraphQLError) replaceParseResult(withCode('GRAPHQL_PARSE_FAILED')(result));
    },
    onValidate: () => ({ result, setResult }) => {
      if (result.length) {
        const validation = withCode('GRAPHQL_VALIDATION_FAILED');
        setResult(result.map((error) => (error instanceof GraphQLError ? validation(error) : error)));
      }
    },
    onExecute: () => ({
      onExecuteDone: ({ result, setResult }) => {
        if ('errors' in result && result.errors?.length && result.data == null) {
          setResult({ ...result, errors: result.errors.map(inputError) });
        }
      },
    }),
    onSubscribe: () => ({
      onSubscribeResult: ({ result, setResult }) => {
        if ('errors' in result && result.errors?.length) setResult({ ...result, errors: result.errors.map(inputError) });
      },
    }),
  };
}
