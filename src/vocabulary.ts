/**
 * The vocabulary of the domain (span types, trace statuses, event kinds), shared by every entry point.
 * Stored as strings because SQLite has no enum type; the GraphQL enums and the services' validation
 * both come from here.
 */

/** What kind of step a span is. GENERATION is an LLM call. */
export const SPAN_TYPES = ['GENERATION', 'FUNCTION', 'CALL', 'TOOL', 'AGENT', 'RETRIEVAL', 'EMBEDDING'] as const;
export type SpanType = (typeof SPAN_TYPES)[number];

export const SPAN_TYPE_DESCRIPTIONS: Record<SpanType, string> = {
  GENERATION: 'An LLM call: carries model, tokens, cost and instructions.',
  FUNCTION: 'A function or pipeline step of the application.',
  CALL: 'A call to an external service or API.',
  TOOL: 'A tool invoked by a model (web_search, web_fetch, ...).',
  AGENT: 'An agent loop that plans and invokes other steps.',
  RETRIEVAL: 'A retrieval step: vector search, document lookup.',
  EMBEDDING: 'An embedding call.',
};

/** The short label a trace explorer row uses for each type ("8 llm · 11 tool"). */
export const SPAN_TYPE_LABELS: Record<SpanType, string> = {
  GENERATION: 'llm',
  TOOL: 'tool',
  FUNCTION: 'function',
  CALL: 'call',
  AGENT: 'agent',
  RETRIEVAL: 'retrieval',
  EMBEDDING: 'embedding',
};

export const TRACE_STATUSES = ['RUNNING', 'OK', 'ERROR'] as const;
export type TraceStatus = (typeof TRACE_STATUSES)[number];

export const EVENT_KINDS = ['GUARDRAIL', 'OBSERVE', 'ROUTE', 'COMPLY', 'FEEDBACK'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/**
 * What an API key may do: write spans and what attaches to them, read, administer its organization,
 * run the playground (which spends the model provider's money, so it is a scope of its own).
 */
export const API_KEY_SCOPES = ['INGEST', 'READ', 'ADMIN', 'PLAYGROUND'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** What a retention rule keeps: metadata only (the default), or content (input, output, instructions, a judge's results) too. */
export const RETENTION_MODES = ['METADATA_ONLY', 'FULL'] as const;
export type RetentionMode = (typeof RETENTION_MODES)[number];

/** Where a trace comes from: the application that recorded it, or a run of the playground. */
export const TRACE_ORIGINS = ['APP', 'PLAYGROUND'] as const;
export type TraceOrigin = (typeof TRACE_ORIGINS)[number];

/** The wire formats of the model providers the playground calls. */
export const MODEL_PROVIDER_KINDS = ['OPENAI_COMPATIBLE', 'ANTHROPIC'] as const;
export type ModelProviderKind = (typeof MODEL_PROVIDER_KINDS)[number];
