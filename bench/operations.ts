/** The GraphQL operations the write workloads send, selecting as little as an SDK does. */
export const CREATE_SPAN = `mutation Create($input: CreateSpanInput!) { createSpan(input: $input) { id } }`;
export const CREATE_SPANS = `mutation Ingest($input: [CreateSpanInput!]!) { createSpans(input: $input) { id } }`;
export const UPDATE_SPAN = `mutation Close($id: ID!, $input: UpdateSpanInput!) { updateSpan(id: $id, input: $input) { id } }`;
