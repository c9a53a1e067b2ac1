/**
 * Scopes mean what they say (issue 22, findings 4 and 17): a key without READ learns from a write's
 * answer only the ids and what it sent, on GraphQL, REST and OTLP alike, and it cannot introspect.
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { Opper } from 'opperai';
import { bearer, useTestServer } from './helpers/server.js';
import { uid } from './helpers/operations.js';

const server = useTestServer();

/** Stored before the INGEST key writes: what its answers must never show. */
const STORED = {
  name: 'stored-name-4f1c',
  model: 'stored-model-9a2e',
  tags: ['stored-tag-77b0'],
  meta: { storedMetaKey: 'stored-meta-value-31d8' },
  error: 'stored-error-c05a',
  input: 'stored-input-e6d1',
};
const STORED_VALUES = [STORED.name, STORED.model, STORED.tags[0]!, STORED.meta.storedMetaKey, STORED.error, STORED.input];

let ingestKey: string;
let readIngestKey: string;

async function newKey(scopes: string): Promise<string> {
  return (await server().gql(`mutation { createApiKey(input: { name: "${uid('key')}", scopes: [${scopes}] }) { key } }`)).createApiKey.key;
}

/** A span written with a READ+INGEST key, holding every stored value above. */
async function storedSpan(): Promise<{ id: string; traceId: string }> {
  const reply = await server().request(
    `mutation($input: CreateSpanInput!) { createSpan(input: $input) { id traceId } }`,
    { input: { ...STORED, tags: [...STORED.tags] } },
    bearer(readIngestKey),
  );
  expect(reply.errors).toBeUndefined();
  return reply.data.createSpan;
}

function showsNothingStored(answer: unknown) {
  const text = JSON.stringify(answer);
  for (const value of STORED_VALUES) expect(text, value).not.toContain(value);
}

beforeAll(async () => {
  ingestKey = await newKey('INGEST');
  readIngestKey = await newKey('READ, INGEST');
});

describe('GraphQL write answers to an INGEST-only key', () => {
  it("updateSpan(id, input: {}) shows none of the span's stored name, model, tags, meta and error, and writes nothing", async () => {
    const span = await storedSpan();
    const { request } = server();
    const seqBefore = (await server().gql(`{ span(id: "${span.id}") { seq } }`)).span.seq;
    const reply = await request(`mutation { updateSpan(id: "${span.id}", input: {}) { id name model tags meta error } }`, undefined, bearer(ingestKey));
    expect(reply.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(reply.errors![0]!.message).toMatch(/only what the mutation sent \(id\); name, model, tags, meta, error need an API key with the READ scope; this key has INGEST/);
    expect(reply.errors![0]!.extensions!.fields).toEqual(['name', 'model', 'tags', 'meta', 'error']);
    expect(reply.data?.updateSpan ?? null).toBeNull();
    showsNothingStored(reply);
    // Refused before it ran: the span was not written again.
    expect((await server().gql(`{ span(id: "${span.id}") { seq } }`)).span.seq).toBe(seqBefore);
    // Its id is what it named.
    const idOnly = await request(`mutation { updateSpan(id: "${span.id}", input: {}) { id __typename } }`, undefined, bearer(ingestKey));
    expect(idOnly).toEqual({ data: { updateSpan: { id: span.id, __typename: 'Span' } } });
  });

  it('shows the fields it sent, as written, and refuses the others however they are selected', async () => {
    const span = await storedSpan();
    const { request } = server();
    const sent = await request(
      `mutation($id: ID!, $input: UpdateSpanInput!) { updateSpan(id: $id, input: $input) { id model tags } }`,
      { id: span.id, input: { model: 'new-model', tags: ['b', 'a'] } },
      bearer(ingestKey),
    );
    expect(sent).toEqual({ data: { updateSpan: { id: span.id, model: 'new-model', tags: ['a', 'b'] } } });
    for (const selection of ['model name', '... on Span { meta }', '...Stored', 'model traceId', 'model type', 'model depth', 'model startOffsetMs', 'model trace { id }']) {
      const fragment = selection === '...Stored' ? ' fragment Stored on Span { error }' : '';
      const reply = await request(
        `mutation($id: ID!) { updateSpan(id: $id, input: { model: "newer-model" }) { id ${selection} } }${fragment}`,
        { id: span.id },
        bearer(ingestKey),
      );
      expect(reply.errors?.[0]?.extensions?.code, selection).toBe('FORBIDDEN');
      expect(reply.errors![0]!.message, selection).toMatch(/needs? an API key with the READ scope/);
      showsNothingStored(reply);
    }
    // None of the refused writes happened.
    expect((await server().gql(`{ span(id: "${span.id}") { model name } }`)).span).toEqual({ model: 'new-model', name: STORED.name });
    // A key that reads gets it all.
    const reader = await request(`mutation { updateSpan(id: "${span.id}", input: {}) { id name meta error } }`, undefined, bearer(readIngestKey));
    expect(reader.data.updateSpan).toEqual({ id: span.id, name: STORED.name, meta: STORED.meta, error: STORED.error });
  });

  it('createSpan(s): the id, the trace it went into and what every span sent', async () => {
    const parent = await storedSpan();
    const { request } = server();
    const one = await request(
      `mutation { createSpan(input: { parentId: "${parent.id}", name: "child", model: "m" }) { id traceId name model } }`,
      undefined,
      bearer(ingestKey),
    );
    expect(one.errors).toBeUndefined();
    expect(one.data.createSpan).toMatchObject({ traceId: parent.traceId, name: 'child', model: 'm' });
    const many = await request(
      `mutation($input: [CreateSpanInput!]!) { createSpans(input: $input) { id traceId name } }`,
      { input: [{ parentId: parent.id, name: 'a', model: 'm' }, { parentId: parent.id, name: 'b' }] },
      bearer(ingestKey),
    );
    expect(many.data.createSpans.map((span: { name: string }) => span.name)).toEqual(['a', 'b']);
    // model was sent by one of them only.
    const partly = await request(
      `mutation($input: [CreateSpanInput!]!) { createSpans(input: $input) { id model } }`,
      { input: [{ parentId: parent.id, name: 'c', model: 'm' }, { parentId: parent.id, name: 'd' }] },
      bearer(ingestKey),
    );
    expect(partly.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', fields: ['model'] });
    // What the write derived (a type from the model, a cost) is reading.
    const derived = await request(`mutation { createSpan(input: { name: "${uid('x')}", model: "gpt-4o", inputTokens: 10 }) { id type cost costSource } }`, undefined, bearer(ingestKey));
    expect(derived.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', fields: ['type', 'cost', 'costSource'] });
  });

  it('metrics, events and feedback: what was sent, never what was stored', async () => {
    const span = await storedSpan();
    const { request, gql } = server();
    const metric = (await gql(`mutation { addSpanMetric(spanId: "${span.id}", input: { dimension: "stored-dimension-5e", value: 0.25, comment: "stored-comment-8c" }) { id } }`)).addSpanMetric;
    const update = await request(
      `mutation { updateSpanMetric(spanId: "${span.id}", id: "${metric.id}", input: {}) { id spanId dimension value comment } }`,
      undefined,
      bearer(ingestKey),
    );
    expect(update.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', fields: ['dimension', 'value', 'comment'] });
    expect(JSON.stringify(update)).not.toMatch(/stored-dimension|stored-comment|0\.25/);
    const changed = await request(
      `mutation { updateSpanMetric(spanId: "${span.id}", id: "${metric.id}", input: { value: 0.5 }) { id spanId value } }`,
      undefined,
      bearer(ingestKey),
    );
    expect(changed).toEqual({ data: { updateSpanMetric: { id: metric.id, spanId: span.id, value: 0.5 } } });
    const added = await request(`mutation { addSpanMetric(spanId: "${span.id}", input: { dimension: "d", value: 1 }) { id dimension value } }`, undefined, bearer(ingestKey));
    expect(added.data.addSpanMetric).toMatchObject({ dimension: 'd', value: 1 });

    const feedback = await request(`mutation { submitFeedback(spanId: "${span.id}", input: { thumbs: UP }) { id spanId kind data } }`, undefined, bearer(ingestKey));
    expect(feedback.data.submitFeedback).toMatchObject({ spanId: span.id, kind: 'FEEDBACK', data: { thumbs: 'UP', score: null, comment: null } });
    const event = await request(`mutation { createSpanEvent(spanId: "${span.id}", input: { kind: ROUTE }) { id kind data traceId span { name } } }`, undefined, bearer(ingestKey));
    expect(event.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', fields: ['data', 'traceId', 'span'] });
    showsNothingStored(event);
  });
});

describe('introspection needs READ', () => {
  it('an INGEST-only key is refused __schema and __type with FORBIDDEN; __typename stays; a READ key introspects', async () => {
    const { request } = server();
    for (const query of ['{ __schema { types { name } } }', '{ __type(name: "Span") { fields { name } } }', 'query { ...Schema } fragment Schema on Query { __schema { queryType { name } } }']) {
      const reply = await request(query, undefined, bearer(ingestKey));
      expect(reply.errors?.[0]?.extensions?.code, query).toBe('FORBIDDEN');
      expect(reply.errors![0]!.message, query).toMatch(/^Introspection \(__(schema|type)\) needs an API key with the READ scope; this key has INGEST$/);
      expect(reply.data, query).toBeUndefined();
      expect(JSON.stringify(reply), query).not.toContain('SpanConnection');
    }
    expect(await request('{ __typename }', undefined, bearer(ingestKey))).toEqual({ data: { __typename: 'Query' } });
    const read = await request('{ __schema { queryType { name } } __type(name: "Span") { name } }', undefined, bearer(await newKey('READ')));
    expect(read).toEqual({ data: { __schema: { queryType: { name: 'Query' } }, __type: { name: 'Span' } } });
    // No key: refused before GraphQL runs, as every request without one.
    const anonymous = await fetch(server().url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __schema { types { name } } }' }) });
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});

describe('REST write answers to an INGEST-only key', () => {
  const rest = async (method: string, path: string, body: unknown, key: string) => {
    const response = await fetch(`${new URL(server().url).origin}${path}`, { method, headers: { ...bearer(key), 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, body: await response.json() };
  };

  it('PATCH /v2 and /v3 spans: the id and what was sent; nothing stored before', async () => {
    const span = await storedSpan();
    const v2 = await rest('PATCH', `/v2/spans/${span.id}`, {}, ingestKey);
    expect(v2.status).toBe(200);
    expect(v2.body).toMatchObject({ id: span.id, name: '', trace_id: null, type: null, start_time: null, error: null, meta: null, input: null });
    showsNothingStored(v2.body);
    const v3 = await rest('PATCH', `/v3/spans/${span.id}`, { output: 'sent-output', data: { total_tokens: 12 } }, ingestKey);
    expect(v3.status).toBe(200);
    expect(v3.body.data).toMatchObject({ id: span.id, output: 'sent-output', name: '', status: null, data: { output: 'sent-output', total_tokens: 12, model: null, tags: [] } });
    showsNothingStored(v3.body);
    // With READ, the span as stored.
    const reader = await rest('PATCH', `/v3/spans/${span.id}`, {}, readIngestKey);
    expect(reader.body.data).toMatchObject({ name: STORED.name, error: STORED.error, data: { model: STORED.model } });
  });

  it('the published SDK writes with an INGEST-only key and parses the answers', async () => {
    const span = await storedSpan();
    const opper = new Opper({ httpBearer: ingestKey, serverURL: `${new URL(server().url).origin}/v2` });
    const created = await opper.spans.create({ name: 'sdk-child', parentId: span.id });
    expect(created).toMatchObject({ name: 'sdk-child', traceId: span.traceId, parentId: span.id });
    const updated = await opper.spans.update(span.id, { output: 'done' });
    expect(updated).toMatchObject({ id: span.id, output: 'done', name: '' });
    showsNothingStored(updated);
    const metric = await opper.spanMetrics.createMetric(span.id, { dimension: 'stored-dimension-x1', value: 0.75 });
    const changed = await opper.spanMetrics.updateMetric(span.id, metric.id, { comment: 'sent-comment' });
    expect(changed).toMatchObject({ id: metric.id, spanId: span.id, comment: 'sent-comment', dimension: '', value: 0 });
  });
});

describe('OTLP answers to an INGEST key', () => {
  it('say how many spans were refused and why, naming ids only', async () => {
    const span = await storedSpan();
    const otlp = async (spanId: string, traceId: string) => {
      const response = await fetch(server().url.replace(/\/graphql$/, '/v1/traces'), {
        method: 'POST',
        headers: { ...bearer(ingestKey), 'content-type': 'application/json' },
        body: JSON.stringify({
          resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 't' }, spans: [{ traceId, spanId, name: 'otel', kind: 1, startTimeUnixNano: '1767000000000000000', endTimeUnixNano: '1767000001000000000' }] }] }],
        }),
      });
      return { status: response.status, text: await response.text() };
    };
    // A span id stored under another trace cannot move: the refusal names the id, not what is stored.
    const stored = (await server().gql(`mutation { createSpan(input: { id: "${randomBytes(8).toString('hex')}", name: "${STORED.name}", error: "${STORED.error}" }) { id traceId } }`)).createSpan;
    const answer = await otlp(stored.id, randomBytes(16).toString('hex'));
    expect(answer.text).toContain(stored.id);
    for (const value of [STORED.name, STORED.error, stored.traceId, span.traceId]) expect(answer.text).not.toContain(value);
  });
});
