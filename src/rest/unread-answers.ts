/**
 * A REST write's answer to a key without READ (an SDK's INGEST key): the ids and what the request
 * sent, never what was stored before, as GraphQL's write answers (src/schema/read-scope.ts). The
 * contract's answers have fixed shapes that its SDKs check, so a field the request did not send is
 * null, or, where the published SDKs require a value, an empty one: a span's `name` "", a metric's
 * `dimension` "", `value` 0 and `created_at` the epoch. docs/rest.md says so.
 */
import type { Principal } from '../schema/context.js';
import type { ContractSpanBody } from './span-mapping.js';

/** A contract answer as an object of its fields. */
type Fields = Record<string, unknown>;

/** What a span answer shows its caller: all of it with READ, else what the request sent. */
export type SpanView = (span: Fields) => Fields;

/** The epoch: a required time the caller may not see. */
const NO_TIME = new Date(0).toISOString();

/** Empty values of the span fields the SDKs require (the v2 SDK parses `name` as a string). */
const REQUIRED_SPAN_FIELDS: Fields = { name: '' };

/** The fields of a span answer's `data` and whether the body sent each. */
const DATA_SENT: Record<string, (body: ContractSpanBody) => boolean> = {
  input: (body) => body.input !== undefined,
  output: (body) => body.output !== undefined,
  score: (body) => body.score !== undefined,
  total_tokens: (body) => body.data?.total_tokens !== undefined,
  model: (body) => body.data?.model !== undefined,
  instructions: (body) => body.data?.instructions !== undefined,
  tags: (body) => body.data?.tags !== undefined,
  observations: (body) => body.data?.observations !== undefined,
  scorer_context: (body) => body.data?.scorer_context !== undefined,
};

/** Empty values of the `data` fields the contract's schema requires. */
const REQUIRED_DATA_FIELDS: Fields = { tags: [] };

/**
 * The view of a span create's or update's answer for `principal`. A create also shows where the span
 * was written (`trace_id`, `parent_id`), as GraphQL's createSpan shows its traceId.
 */
export function spanViewFor(principal: Principal, body: ContractSpanBody, created: boolean): SpanView {
  if (principal.scopes.has('READ')) return (span) => span;
  const sent = body as Fields;
  return (span) => {
    const shown: Fields = {};
    for (const [key, value] of Object.entries(span)) {
      if (key === 'id' || (created && (key === 'trace_id' || key === 'parent_id'))) shown[key] = value;
      else if (key === 'data' && value && typeof value === 'object') shown[key] = dataShown(value as Fields, body);
      else shown[key] = sent[key] !== undefined ? value : (REQUIRED_SPAN_FIELDS[key] ?? null);
    }
    return shown;
  };
}

function dataShown(data: Fields, body: ContractSpanBody): Fields {
  const shown: Fields = {};
  for (const [key, value] of Object.entries(data)) shown[key] = DATA_SENT[key]?.(body) ? value : (REQUIRED_DATA_FIELDS[key] ?? null);
  return shown;
}

/** A metric update's answer for `principal`: with READ as stored, else its ids and what the body sent. */
export function metricShown<Metric extends Fields>(principal: Principal, metric: Metric, body: Fields): Metric {
  if (principal.scopes.has('READ')) return metric;
  return {
    ...metric,
    dimension: body.dimension !== undefined ? metric.dimension : '',
    value: body.value !== undefined ? metric.value : 0,
    comment: body.comment !== undefined ? metric.comment : null,
    created_at: NO_TIME,
  };
}
