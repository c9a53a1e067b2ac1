/**
 * The REST API's reads, as GraphQL documents parsed once: a REST read runs the GraphQL read path
 * (planned selections, batched loads, limits, cancellation), so it returns what GraphQL returns for
 * the same trace. The mappers below turn its answers into the contract's shapes.
 */
import { parse, type DocumentNode } from 'graphql';
import { NotFound } from '../errors.js';
import type { EventKind } from '../vocabulary.js';
import { contractScore, contractText, isoTime, wholeMs } from './span-mapping.js';

const FRAGMENTS: Record<string, string> = {
  RestSpan: `fragment RestSpan on Span {
    id traceId parentId name type startTime endTime durationMs input output error meta tags score
    model totalTokens instructions observations scorerContext
  }`,
  RestTrace: 'fragment RestTrace on Trace { id name startTime endTime durationMs status spanCount totalTokens input output }',
  RestMetric: 'fragment RestMetric on Metric { id spanId dimension value comment createdAt }',
  RestEvent: 'fragment RestEvent on Event { id spanId kind source data createdAt }',
};
/** An operation with the fragments it spreads (GraphQL refuses a document with unused ones). */
const document = (operation: string) =>
  parse([operation, ...Object.entries(FRAGMENTS).filter(([name]) => operation.includes(`...${name}`)).map(([, fragment]) => fragment)].join('\n'));

export const SPAN_READ = document(`query RestSpan($id: ID!) {
  span(id: $id) { ...RestSpan feedback: events(kind: [FEEDBACK]) { data createdAt } }
}`);
export const SPAN_METRICS_READ = document(`query RestSpanMetrics($id: ID!) { span(id: $id) { id metrics { ...RestMetric } } }`);
export const SPAN_EVENTS_READ = document(`query RestSpanEvents($id: ID!, $kind: [EventKind!]) { span(id: $id) { id events(kind: $kind) { ...RestEvent } } }`);
export const TRACE_EVENTS_READ = document(`query RestTraceEvents($id: ID!, $kind: [EventKind!]) { trace(id: $id) { id events(kind: $kind) { ...RestEvent } } }`);
export const TRACES_READ = document(`query RestTraces($first: Int!, $offset: Int!, $name: String) {
  traces(first: $first, offset: $offset, filter: { search: $name }) { totalCount edges { node { ...RestTrace } } }
}`);
export const TRACE_READ = document(`query RestTrace($id: ID!) {
  trace(id: $id) { ...RestTrace events { ...RestEvent } spans { ...RestSpan metrics { ...RestMetric } } }
}`);

/** A span as the GraphQL reads above select it. */
export interface ReadSpan {
  id: string;
  traceId: string;
  parentId: string | null;
  name: string;
  type: string;
  startTime: string;
  endTime: string | null;
  durationMs: number | null;
  input: unknown;
  output: unknown;
  error: string | null;
  meta: unknown;
  tags: string[];
  score: number | null;
  model: string | null;
  totalTokens: number | null;
  instructions: string | null;
  observations: string | null;
  scorerContext: Record<string, unknown> | null;
  metrics?: ReadMetric[];
  feedback?: { data: unknown; createdAt: string }[];
}
export interface ReadTrace {
  id: string;
  name: string;
  startTime: string;
  endTime: string | null;
  durationMs: number | null;
  status: string;
  spanCount: number;
  totalTokens: number;
  input: unknown;
  output: unknown;
  events?: ReadEvent[];
  spans?: ReadSpan[];
}
export interface ReadMetric {
  id: string;
  spanId: string;
  dimension: string;
  value: number;
  comment: string | null;
  createdAt: string | Date;
}
export interface ReadEvent {
  id: string;
  spanId: string;
  kind: EventKind;
  source: string;
  data: unknown;
  createdAt: string | Date;
}

export function metricOf(metric: ReadMetric) {
  return {
    id: metric.id,
    span_id: metric.spanId,
    dimension: metric.dimension,
    value: metric.value,
    comment: metric.comment,
    created_at: isoTime(metric.createdAt)!,
  };
}

export function eventOf(event: ReadEvent) {
  return {
    id: event.id,
    span_id: event.spanId,
    kind: event.kind.toLowerCase(),
    source: event.source,
    data: event.data ?? {},
    created_at: isoTime(event.createdAt),
  };
}

/** A span's status in the contract's words. */
export function spanStatus(span: { error: string | null; endTime: unknown }): string {
  return span.error != null ? 'error' : span.endTime == null ? 'running' : 'ok';
}

/** The `data` object the contract reads a span's generation details from. */
export function spanDataOf(span: ReadSpan) {
  return {
    input: contractText(span.input),
    output: contractText(span.output),
    total_tokens: span.totalTokens,
    model: span.model,
    instructions: span.instructions,
    function: null,
    tags: span.tags,
    score: contractScore(span.score),
    generation_id: span.type === 'GENERATION' ? span.id : null,
    observations: span.observations,
    scorer_context: span.scorerContext,
  };
}

/** The fields every trace answer of both versions starts with. */
export function traceHeadOf(trace: ReadTrace) {
  return {
    id: trace.id,
    name: trace.name,
    start_time: isoTime(trace.startTime),
    end_time: isoTime(trace.endTime),
    duration_ms: wholeMs(trace.durationMs),
    status: trace.status.toLowerCase(),
    span_count: trace.spanCount,
  };
}

/** The read's object, or NOT_FOUND as for an id that does not exist (another project's included). */
export function found<T>(value: T | null | undefined, what: string): T {
  if (value == null) throw new NotFound(`${what} not found`);
  return value;
}

/** How a route runs the reads above (RestCall's `read`). */
export type Read = <Data>(document: DocumentNode, variables: Record<string, unknown>) => Promise<Data>;

/** A page of traces as both versions list them: newest first, name a case-insensitive substring. */
export async function tracePage(read: Read, query: { offset: number; limit: number; name?: string }): Promise<{ total: number; traces: ReadTrace[] }> {
  const { traces } = await read<{ traces: { totalCount: number; edges: { node: ReadTrace }[] } }>(TRACES_READ, {
    first: query.limit,
    offset: query.offset,
    name: query.name || null,
  });
  return { total: traces.totalCount, traces: traces.edges.map((edge) => edge.node) };
}
