/**
 * The REST API over real HTTP, as a client of the /v3 contract (and /v2 where the SDK cannot reach):
 * one store with GraphQL and live subscribers, the same rules (retention, isolation, scopes, rate
 * limits, body limits), bad input refused whole, each version's error body, and the OpenAPI
 * documents covering every route and status the server answers.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { bearer, TEST_API_KEY, useTestServer } from './helpers/server.js';
import { connect, endedWithError } from './helpers/clients.js';
import { uid } from './helpers/operations.js';

const server = useTestServer();
const metadataOnly = useTestServer({}, { retention: 'METADATA_ONLY' });
const limited = useTestServer({ RATE_LIMIT_PER_SECOND: '2' });
const origin = (of = server) => new URL(of().url).origin;

/** Every (method, path, status) this file was answered, checked against the OpenAPI documents at the end. */
const answered: { method: string; path: string; status: number }[] = [];

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

/** One REST request with the suite's key (or `key`, or none with key: null). */
async function rest(method: string, path: string, body?: unknown, { key = TEST_API_KEY as string | null, of = server, raw }: { key?: string | null; of?: typeof server; raw?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = key ? bearer(key) : {};
  if (body !== undefined || raw !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${origin(of)}${path}`, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
  answered.push({ method, path, status: response.status });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

let keyB: string;
let readOnlyKey: string;
beforeAll(async () => {
  const { gql } = server();
  const project = (await gql(`mutation { createProject(input: { name: "rest-b" }) { id } }`)).createProject;
  keyB = (await gql(`mutation($p: ID!) { createApiKey(input: { projectId: $p, name: "b", scopes: [INGEST, READ, ADMIN] }) { key } }`, { p: project.id })).createApiKey.key;
  readOnlyKey = (await gql(`mutation { createApiKey(input: { name: "reader", scopes: [READ] }) { key } }`)).createApiKey.key;
});

describe('REST and GraphQL are one store', () => {
  it('a /v3 write reaches a live GraphQL subscriber, and a REST read equals the GraphQL read of the same trace', async () => {
    const root = await rest('POST', '/v3/spans', { name: uid('v3-root'), start_time: '2026-12-07T10:00:00Z', input: 'question', meta: { userId: 'u-1' }, tags: { env: 'prod' } });
    expect(root.status).toBe(200);
    expect(root.headers.get('spantree-retention')).toBe('FULL');
    const { id: rootId, trace_id: traceId } = root.body.data;
    expect(root.body.data).toMatchObject({ id: expect.any(String), trace_id: expect.any(String), parent_id: null, type: 'function' });

    const client = connect('ws', server().url);
    const feed = client.subscribe(`subscription($t: ID!) { traceSpans(traceId: $t, replay: true) { op span { id name output } } }`, { t: traceId });
    try {
      await feed.until((results) => results.some((result) => result.data?.traceSpans?.span?.id === rootId));
      const child = await rest('POST', '/v3/spans', { name: 'llm-call', parent_id: rootId, type: 'generation', start_time: '2026-12-07T10:00:00.100Z', data: { model: 'gpt-4o', total_tokens: 42, instructions: 'Be brief.' } });
      expect(child.body.data.trace_id).toBe(traceId);
      await rest('PATCH', `/v3/spans/${child.body.data.id}`, { output: 'answer', end_time: '2026-12-07T10:00:00.600Z' });
      await feed.until((results) => results.some((result) => result.data?.traceSpans?.span?.output === 'answer'));
    } finally {
      await feed.stop();
      await client.dispose();
    }
    await rest('PATCH', `/v3/spans/${rootId}`, { output: 'done', end_time: '2026-12-07T10:00:01Z', metadata: { run: 7 } });

    const viaRest = (await rest('GET', `/v3/traces/${traceId}`)).body;
    const { trace } = await server().gql(
      `query($id: ID!) { trace(id: $id) { id name durationMs status spanCount spans { id parentId name type durationMs model totalTokens instructions output } } }`,
      { id: traceId },
    );
    // The same fields at the top level (the Python beta reads them there) and in data.
    const { data: inData, ...atTop } = viaRest;
    expect(atTop).toEqual(inData);
    expect(viaRest.data).toMatchObject({ id: trace.id, name: trace.name, duration_ms: trace.durationMs, status: 'ok', span_count: trace.spanCount });
    expect(viaRest.data.spans.map((span: any) => [span.id, span.parent_id, span.name, span.duration_ms, span.data.model, span.data.total_tokens, span.data.instructions])).toEqual(
      trace.spans.map((span: any) => [span.id, span.parentId, span.name, span.durationMs, span.model, span.totalTokens, span.instructions]),
    );
    const rootRead = (await rest('GET', `/v3/spans/${rootId}`)).body.data;
    expect(rootRead).toMatchObject({ meta: { userId: 'u-1' }, metadata: { run: 7 }, tags: { env: 'prod' }, status: 'ok', input: 'question', output: 'done' });
    // Spantree's own tags: what the explorer filters on.
    const { span } = await server().gql(`query($id: ID!) { span(id: $id) { tags meta } }`, { id: rootId });
    expect(span.tags).toEqual(['env:prod']);
    expect(span.meta).toEqual({ userId: 'u-1', opper: { tags: { env: 'prod' }, metadata: { run: 7 } } });
  });

  it('maps free-text types, keeping the word as sent; judge results are written and read on both versions', async () => {
    const created = await rest('POST', '/v2/spans', {
      name: uid('typed'),
      type: 'retriever-x',
      data: { observations: 'Cites the policy.', scorer_context: { accuracy: { score: 1 } } },
    });
    expect(created.status).toBe(200);
    expect(created.body.type).toBe('retriever-x');
    const { span } = await server().gql(`query($id: ID!) { span(id: $id) { type meta observations scorerContext } }`, { id: created.body.id });
    expect(span).toEqual({ type: 'FUNCTION', meta: { opper: { type: 'retriever-x' } }, observations: 'Cites the policy.', scorerContext: { accuracy: { score: 1 } } });
    const trace = (await rest('GET', `/v2/traces/${created.body.trace_id}`)).body;
    expect(trace.spans[0]).toMatchObject({ type: 'retriever-x', meta: null, data: { observations: 'Cites the policy.', scorer_context: { accuracy: { score: 1 } } } });
    const llm = await rest('POST', '/v3/spans', { name: 'x', type: 'LLM' });
    expect((await server().gql(`query($id: ID!) { span(id: $id) { type } }`, { id: llm.body.data.id })).span.type).toBe('GENERATION');
  });

  it('records /v3 events on spans and reads them back by span and by trace, filtered by kind', async () => {
    const root = (await rest('POST', '/v3/spans', { name: uid('events') })).body.data;
    const feedback = await rest('POST', `/v3/spans/${root.id}/events`, { kind: 'feedback', source: 'app', data: { thumbs: 'up' } });
    expect(feedback.status).toBe(200);
    expect(feedback.body.data).toMatchObject({ span_id: root.id, kind: 'feedback', source: 'app', data: { thumbs: 'up' } });
    await rest('POST', `/v3/spans/${root.id}/events`, { kind: 'guardrail', data: { passed: true } });
    expect((await rest('GET', `/v3/spans/${root.id}/events`)).body.data.map((event: any) => event.kind)).toEqual(['feedback', 'guardrail']);
    expect((await rest('GET', `/v3/traces/${root.trace_id}/events?kind=guardrail`)).body.data.map((event: any) => [event.kind, event.source])).toEqual([['guardrail', 'api']]);
    const bad = await rest('POST', `/v3/spans/${root.id}/events`, { kind: 'thumbs' });
    expect(bad.status).toBe(422);
    expect(bad.body.error).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/kind: must be one of guardrail/) });
  });

  it('deletes a trace over /v3: its live subscribers end, and it is gone for every reader', async () => {
    const root = (await rest('POST', '/v3/spans', { name: uid('doomed') })).body.data;
    const client = connect('sse', server().url);
    const feed = client.subscribe(`subscription($t: ID!) { traceSpans(traceId: $t, replay: true) { op } }`, { t: root.trace_id });
    try {
      await feed.waitFor(1);
      expect((await rest('DELETE', `/v3/traces/${root.trace_id}`)).status).toBe(204);
      expect((await endedWithError(feed)).extensions?.code).toBe('NOT_FOUND');
    } finally {
      await client.dispose();
    }
    expect((await rest('GET', `/v3/traces/${root.trace_id}`)).status).toBe(404);
    expect((await server().gql(`query($id: ID!) { trace(id: $id) { id } }`, { id: root.trace_id })).trace).toBeNull();
    expect((await rest('DELETE', `/v3/traces/${root.trace_id}`)).status).toBe(404);
  });
});

describe('the same rules as GraphQL', () => {
  it('under METADATA_ONLY, input, output, instructions and judge results are not stored, and the answer says so', async () => {
    const created = await rest('POST', '/v2/spans', { name: uid('private'), input: 'secret', output: 'secret', data: { instructions: 'secret', observations: 'secret' } }, { of: metadataOnly });
    expect(created.status).toBe(200);
    expect(created.headers.get('spantree-retention')).toBe('METADATA_ONLY');
    expect(created.body).toMatchObject({ input: null, output: null });
    const trace = (await rest('GET', `/v2/traces/${created.body.trace_id}`, undefined, { of: metadataOnly })).body;
    expect(trace.spans[0].data).toMatchObject({ input: null, output: null, instructions: null, observations: null });
    expect(JSON.stringify(trace)).not.toContain('secret');
  });

  it("another project's ids answer exactly as ids that do not exist, on every route", async () => {
    const root = (await rest('POST', '/v2/spans', { name: uid('mine') })).body;
    const metric = (await rest('POST', `/v2/spans/${root.id}/metrics`, { dimension: 'd', value: 1 })).body;
    const routes: [string, (id: string) => string, unknown?][] = [
      ['GET', (id) => `/v2/spans/${id}`],
      ['PATCH', (id) => `/v2/spans/${id}`, { output: 'x' }],
      ['DELETE', (id) => `/v2/spans/${id}`],
      ['POST', (id) => `/v2/spans/${id}/feedback`, { score: 1 }],
      ['POST', (id) => `/v2/spans/${id}/metrics`, { dimension: 'd', value: 1 }],
      ['GET', (id) => `/v2/spans/${id}/metrics`],
      ['GET', (id) => `/v2/spans/${id}/metrics/${metric.id}`],
      ['PATCH', (id) => `/v2/spans/${id}/metrics/${metric.id}`, { value: 2 }],
      ['DELETE', (id) => `/v2/spans/${id}/metrics/${metric.id}`],
      ['GET', (id) => `/v3/spans/${id}`],
      ['PATCH', (id) => `/v3/spans/${id}`, { output: 'x' }],
      ['DELETE', (id) => `/v3/spans/${id}`],
      ['GET', (id) => `/v3/spans/${id}/events`],
      ['POST', (id) => `/v3/spans/${id}/events`, { kind: 'feedback' }],
    ];
    const scrub = (answer: Answer, id: string) => JSON.parse(JSON.stringify({ status: answer.status, body: answer.body }).replaceAll(id, '<id>'));
    for (const [method, path, body] of routes) {
      const missing = uid('missing');
      const theirs = await rest(method, path(root.id), body, { key: keyB });
      const nowhere = await rest(method, path(missing), body, { key: keyB });
      expect(theirs.status, `${method} ${path('<id>')}`).toBe(404);
      expect(scrub(theirs, root.id)).toEqual(scrub(nowhere, missing));
    }
    for (const path of [`/v2/traces/${root.trace_id}`, `/v3/traces/${root.trace_id}`, `/v3/traces/${root.trace_id}/events`]) {
      expect((await rest('GET', path, undefined, { key: keyB })).status).toBe(404);
    }
    expect((await rest('DELETE', `/v3/traces/${root.trace_id}`, undefined, { key: keyB })).status).toBe(404);
    expect((await rest('GET', `/v2/traces?name=${root.name}`, undefined, { key: keyB })).body).toEqual({ meta: { total_count: 0 }, data: [] });
    // Nothing of A changed.
    expect((await rest('GET', `/v2/spans/${root.id}/metrics/${metric.id}`)).body.value).toBe(1);
  });

  it('no key is 401, a key without the scope is 403, each in its version format with Spantree\'s code', async () => {
    const none = await rest('GET', '/v2/traces', undefined, { key: null });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(none.body).toMatchObject({ type: 'UnauthorizedError', detail: { code: 'UNAUTHENTICATED' } });
    const wrong = await rest('GET', '/v3/traces', undefined, { key: 'st_unknown_key_0000000000' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ error: { code: 'UNAUTHENTICATED', message: 'This API key is unknown or has been revoked', details: null } });
    const readOnly = await rest('POST', '/v3/spans', { name: 'x' }, { key: readOnlyKey });
    expect(readOnly.status).toBe(403);
    expect(readOnly.body.error).toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/INGEST/) });
    expect((await rest('DELETE', `/v3/traces/${uid('t')}`, undefined, { key: readOnlyKey })).status).toBe(403);
  });

  it('over the rate limit is 429 with Retry-After', async () => {
    let answer: Answer | undefined;
    for (let attempt = 0; attempt < 50 && answer?.status !== 429; attempt++) answer = await rest('GET', '/v3/traces', undefined, { of: limited });
    expect(answer!.status).toBe(429);
    expect(Number(answer!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(answer!.body.error.code).toBe('RATE_LIMITED');
  });
});

describe('bad input is refused whole, with a clear 4xx', () => {
  const cases: [string, string, string, { body?: unknown; raw?: string; contentType?: string }, number, RegExp][] = [
    ['bad JSON', 'POST', '/v2/spans', { raw: '{"name": "x",' }, 400, /not JSON/],
    ['not JSON', 'POST', '/v3/spans', { raw: 'name=x', contentType: 'application/x-www-form-urlencoded' }, 415, /application\/json/],
    ['a missing name', 'POST', '/v2/spans', { body: { input: 'x' } }, 422, /body\.name/],
    ['a wrong type', 'POST', '/v3/spans', { body: { name: 5 } }, 422, /body\.name/],
    ['a bad date', 'POST', '/v2/spans', { body: { name: 'x', start_time: 'yesterday' } }, 422, /body\.start_time: must be an RFC 3339/],
    ['a date out of range', 'POST', '/v2/spans', { body: { name: 'x', start_time: '0000-01-01T00:00:00Z' } }, 422, /start_time/],
    ['an unknown field', 'POST', '/v2/spans', { body: { name: 'x', colour: 'red' } }, 422, /unknown field colour/],
    ['deep nesting', 'POST', '/v3/spans', { body: { name: 'x', meta: JSON.parse('{"a":'.repeat(100) + '1' + '}'.repeat(100)) } }, 422, /nests deeper/],
    ['a huge name', 'POST', '/v3/spans', { body: { name: 'x'.repeat(10_000) } }, 422, /body\.name: must be at most/],
    ['a bad limit', 'GET', '/v2/traces?limit=1000', {}, 422, /query\.limit/],
    ['a feedback score out of range', 'POST', '/v2/spans/s/feedback', { body: { score: 3 } }, 422, /score/],
  ];
  it.each(cases)('%s', async (_name, method, path, { body, raw, contentType }, status, message) => {
    const name = uid('bad');
    const headers: Record<string, string> = { ...bearer(), 'content-type': contentType ?? 'application/json' };
    const payload = raw ?? (body === undefined ? undefined : JSON.stringify(body).replace('"x"', JSON.stringify(name)));
    const response = await fetch(`${origin()}${path}`, { method, headers, body: method === 'GET' ? undefined : payload });
    answered.push({ method, path, status: response.status });
    expect(response.status).toBe(status);
    const answer = await response.json();
    const error = path.startsWith('/v3') ? answer.error : { code: answer.detail.code, message: answer.message };
    expect(error.message).toMatch(message);
    expect(error.code).toMatch(/^[A-Z_]+$/);
    expect(JSON.stringify(answer)).not.toMatch(/at .*\.ts:\d+|SELECT|INSERT/);
    // Nothing half-written.
    expect((await server().gql(`query($n: String) { traces(filter: { search: $n }) { totalCount } }`, { n: name })).traces.totalCount).toBe(0);
  });

  it('a body over MAX_BODY_BYTES is 413', async () => {
    const response = await rest('POST', '/v3/spans', undefined, { raw: JSON.stringify({ name: 'x', input: 'y'.repeat(12 * 1024 * 1024) }) });
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('REQUEST_ENTITY_TOO_LARGE');
  });
});

describe('the OpenAPI documents', () => {
  it('are OpenAPI 3.1 and list every route the server answers, with every status it answered in this file', async () => {
    for (const version of ['v2', 'v3']) {
      const answer = await rest('GET', `/${version}/openapi.json`, undefined, { key: null });
      expect(answer.status).toBe(200);
      const document = answer.body;
      expect(document.openapi).toBe('3.1.0');
      const paths = Object.keys(document.paths);
      expect(paths.every((path) => path.startsWith(`/${version}/`))).toBe(true);
      const unknown = await rest('GET', `/${version}/no-such-route`);
      expect(unknown.status).toBe(404);
      // Every operation documents its success and the errors every route may give (the document
      // itself is public: no key, no errors of a key).
      for (const [path, operations] of Object.entries<any>(document.paths)) {
        for (const [method, operation] of Object.entries<any>(operations)) {
          if (operation.operationId === 'openapi') continue;
          const statuses = Object.keys(operation.responses).map(Number);
          expect(statuses, `${method} ${path}`).toEqual(expect.arrayContaining([401, 403, 404, 422, 429, 500, 503]));
          if (operation.requestBody) expect(statuses, `${method} ${path}`).toEqual(expect.arrayContaining([400, 413, 415]));
        }
      }
    }
    const v2 = (await rest('GET', '/v2/openapi.json')).body;
    expect(Object.keys(v2.paths).sort()).toEqual([
      '/v2/openapi.json',
      '/v2/spans',
      '/v2/spans/{span_id}',
      '/v2/spans/{span_id}/feedback',
      '/v2/spans/{span_id}/metrics',
      '/v2/spans/{span_id}/metrics/{metric_id}',
      '/v2/spans/{span_id}/save_examples',
      '/v2/traces',
      '/v2/traces/{trace_id}',
    ]);
    // Every answer this file got (the SDK's, in test/rest-sdk.test.ts, are held to the document by its own zod checks).
    const documents: Record<string, any> = { v2, v3: (await rest('GET', '/v3/openapi.json')).body };
    const templateOf = (version: string, path: string) =>
      Object.keys(documents[version].paths).find((template) =>
        new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`).test(path.split('?')[0]!),
      );
    let checked = 0;
    for (const { method, path, status } of answered) {
      const version = path.split('/')[1]!;
      const template = templateOf(version, path);
      if (!template) {
        expect(status, `${method} ${path}`).toBe(404); // no such route: a 404 in the version's format
        continue;
      }
      const operation = documents[version].paths[template][method.toLowerCase()];
      expect(operation?.responses?.[String(status)], `${method} ${path} answered ${status}`).toBeTruthy();
      checked++;
    }
    expect(checked).toBeGreaterThan(40);
    expect(v2.paths['/v2/spans'].post.responses['200'].content['application/json'].schema).toBeTruthy();
    expect(v2.paths['/v2/spans/{span_id}'].delete.responses['204']).toBeTruthy();
    expect(v2.components.schemas.CreateSpanRequest.properties.start_time).toMatchObject({ format: 'date-time' });
  });
});
