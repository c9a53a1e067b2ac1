/** GraphQL operations the tests share, written as a client would write them. */
export const SPAN_FIELDS = `
  id traceId parentId name type startTime endTime durationMs startOffsetMs
  input output error meta tags score model inputTokens outputTokens totalTokens cost instructions`;

export const TRACE_FIELDS = `
  id name status startTime endTime durationMs spanCount totalTokens cost
  composition { type count } summary input output inputPreview outputPreview tags meta`;

export const CREATE_SPAN = `mutation CreateSpan($input: CreateSpanInput!) { createSpan(input: $input) { ${SPAN_FIELDS} } }`;
export const CREATE_SPANS = `mutation CreateSpans($input: [CreateSpanInput!]!) { createSpans(input: $input) { ${SPAN_FIELDS} } }`;
export const UPDATE_SPAN = `mutation UpdateSpan($id: ID!, $input: UpdateSpanInput!) { updateSpan(id: $id, input: $input) { ${SPAN_FIELDS} } }`;
export const GET_TRACE = `query Trace($id: ID!) { trace(id: $id) { ${TRACE_FIELDS} } }`;
export const GET_SPAN = `query Span($id: ID!) { span(id: $id) { ${SPAN_FIELDS} } }`;

/** A unique id for a test's own spans and traces. */
export function uid(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}

/** An ISO time `ms` milliseconds after a fixed instant, so durations are exact. */
export function at(ms: number, base = Date.parse('2026-11-24T09:00:00.000Z')): string {
  return new Date(base + ms).toISOString();
}
