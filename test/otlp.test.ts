/**
 * OTLP/HTTP ingestion with the real OpenTelemetry JS SDK and its own exporters (protobuf and JSON),
 * read back through GraphQL: ids, tree, types, tokens, model, computed cost, events, session, the
 * conversation, pending spans seen live, and everything the endpoint refuses.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { bearer, useTestServer } from './helpers/server.js';
import { findModelPrice } from '../src/costs/price-table.js';
import { uid } from './helpers/operations.js';
import { roundCost } from '../src/costs/money.js';
import { connect, type SubscriptionClient } from './helpers/clients.js';
import {
  CALL, child, exportOf, generated, json, otelTracer, post, postJson, PROTOBUF, protobufOf, randomHex, recordAgentRun,
  RpcStatus, SYSTEM, tracesUrl, USER, validSpan, type Encoding,
} from './helpers/otlp.js';

const server = useTestServer();

const TRACE = `query($id: ID!) { trace(id: $id) {
  id name status spanCount totalTokens cost tags
  spans { id parentId name type model inputTokens outputTokens cost costSource input output instructions meta retained error
    events { kind source data } }
} }`;

describe.each(['protobuf', 'json'] as Encoding[])('OTLP/HTTP %s exporter', (encoding) => {
  it('stores a GenAI agent run: ids, tree, types, model, tokens, computed cost, events, content', async () => {
    const { tracer, flush, shutdown } = otelTracer(server(), encoding);
    const session = uid('conv');
    const ids = await recordAgentRun(tracer, flush, session);
    await shutdown();

    const { trace: stored } = await server().gql(TRACE, { id: ids.traceId });
    expect(stored.id).toBe(ids.traceId);
    expect(stored.name).toBe('invoke_agent weather');
    expect(stored.spanCount).toBe(4);
    expect(stored.totalTokens).toBe(1200 + 35 + 1300 + 20);
    expect(stored.tags).toEqual(['prod', 'weather']);
    const byId = Object.fromEntries(stored.spans.map((span: any) => [span.id, span]));
    expect(byId[ids.agent].parentId).toBeNull();
    expect(byId[ids.agent].type).toBe('AGENT');
    for (const id of [ids.chat1, ids.tool, ids.chat2]) expect(byId[id].parentId).toBe(ids.agent);
    expect(byId[ids.tool].type).toBe('TOOL');

    const chat1 = byId[ids.chat1];
    expect(chat1).toMatchObject({ type: 'GENERATION', model: 'gpt-4o-mini-2024-07-18', inputTokens: 1200, outputTokens: 35, costSource: 'COMPUTED', retained: true });
    const price = findModelPrice('gpt-4o-mini')!;
    expect(chat1.cost).toBeCloseTo((1200 * price.inputPerMillion + 35 * price.outputPerMillion) / 1e6, 10);
    expect(chat1.input).toEqual([USER]);
    expect(chat1.output).toEqual([CALL]);
    expect(JSON.parse(chat1.instructions)).toEqual(SYSTEM);
    // Attributes stay in meta (content does not); the resource and the span kind are kept too.
    expect(chat1.meta).toMatchObject({ 'gen_ai.request.temperature': 0.2, 'gen_ai.provider.name': 'openai', resource: { 'service.name': 'otlp-test' }, otel: { kind: 'CLIENT', scope: { name: 'spantree-test', version: '1.0.0' } } });
    expect(chat1.meta['gen_ai.input.messages']).toBeUndefined();

    const chat2 = byId[ids.chat2];
    // 1024 of the 1300 input tokens were read from the cache, at the cached price.
    const cachedPrice = price.cachedInputPerMillion ?? price.inputPerMillion;
    expect(chat2.cost).toBeCloseTo((276 * price.inputPerMillion + 1024 * cachedPrice + 20 * price.outputPerMillion) / 1e6, 10);
    expect(chat2.meta['some.custom.attribute']).toBe('kept');
    expect(chat2.events).toEqual([
      { kind: 'FEEDBACK', source: 'helpfulness', data: expect.objectContaining({ score: 0.9, comment: 'answered' }) },
    ]);
    expect(stored.cost).toBeCloseTo(chat1.cost + chat2.cost, 8);

    const tool = byId[ids.tool];
    expect(tool.input).toEqual({ city: 'Paris' });
    expect(tool.output).toBe('18°C, sunny');
    expect(tool.events).toEqual([
      { kind: 'OBSERVE', source: 'exception', data: { name: 'exception', attributes: { 'exception.type': 'TimeoutError', 'exception.message': 'first try timed out' } } },
    ]);
  });
});

describe('previews of an agent run, whose root span carries no input of its own', () => {
  const PREVIEWS = `query($id: ID!) { trace(id: $id) { inputPreview outputPreview } traces(filter: { ids: [$id] }) { edges { node { inputPreview outputPreview } } } }`;

  it("are its first generation's question and its last generation's answer, in the trace and in the explorer's list", async () => {
    const { tracer, flush, shutdown } = otelTracer(server(), 'protobuf');
    const ids = await recordAgentRun(tracer, flush, uid('conv'));
    await shutdown();
    const { trace, traces } = await server().gql(PREVIEWS, { id: ids.traceId });
    expect(trace).toEqual({ inputPreview: 'Weather in Paris?', outputPreview: 'It is 18°C and sunny in Paris.' });
    expect(traces.edges[0].node).toEqual(trace);
  });

  it('are taken only from content that was kept: under METADATA_ONLY there is none', async () => {
    const { createApiKey } = await server().gql(`mutation { createProject(input: { name: "${uid('meta')}" }) { id } }`).then(async ({ createProject }) =>
      server().gql(`mutation($p: ID!) { createApiKey(input: { name: "otel", projectId: $p, scopes: [INGEST, READ] }) { key } }`, { p: createProject.id }),
    );
    const { tracer, flush, shutdown } = otelTracer(server(), 'json', { key: createApiKey.key });
    const ids = await recordAgentRun(tracer, flush, uid('conv'));
    await shutdown();
    const reply = await server().request(PREVIEWS, { id: ids.traceId }, bearer(createApiKey.key));
    expect(reply.data.trace).toEqual({ inputPreview: null, outputPreview: null });
  });
});

describe('a run whose root span comes last (exporters without pending spans)', () => {
  it('is RUNNING, with no duration, until the root arrives; then it is finished', async () => {
    const traceId = randomHex(16);
    const rootId = randomHex(8);
    const STATUS = `query($id: ID!) { trace(id: $id) { status durationMs spanCount rootSpan { id } } }`;
    // The children end first and are exported first, as the Python SDK's BatchSpanProcessor does.
    const children = [1, 2].map((n) => validSpan({ traceId, parentSpanId: rootId, name: `step ${n}`, startTimeUnixNano: `${1764000000000 + n * 100}000000`, endTimeUnixNano: `${1764000000000 + n * 100 + 50}000000` }));
    expect((await postJson(server(), exportOf(children))).status).toBe(200);
    expect((await server().gql(STATUS, { id: traceId })).trace).toEqual({ status: 'RUNNING', durationMs: null, spanCount: 2, rootSpan: null });
    const root = validSpan({ traceId, spanId: rootId, name: 'agent', startTimeUnixNano: '1764000000000000000', endTimeUnixNano: '1764000001000000000' });
    expect((await postJson(server(), exportOf([root]))).status).toBe(200);
    expect((await server().gql(STATUS, { id: traceId })).trace).toEqual({ status: 'OK', durationMs: 1000, spanCount: 3, rootSpan: { id: rootId } });
  });
});

describe('the retention rule in force, said where content would be', () => {
  it('answers every accepted export with a Spantree-Retention header naming the rule its spans were stored under', async () => {
    const FULL = await post(server(), protobufOf(exportOf([validSpan()])), PROTOBUF);
    expect(FULL.status).toBe(200);
    expect(FULL.headers.get('spantree-retention')).toBe('FULL');
    const { createProject } = await server().gql(`mutation { createProject(input: { name: "${uid('meta')}" }) { id } }`);
    const { createApiKey } = await server().gql(`mutation($p: ID!) { createApiKey(input: { name: "otel", projectId: $p, scopes: [INGEST] }) { key } }`, { p: createProject.id });
    const metadataOnly = await postJson(server(), exportOf([validSpan()]), bearer(createApiKey.key));
    expect(metadataOnly.status).toBe(200);
    expect(metadataOnly.headers.get('spantree-retention')).toBe('METADATA_ONLY');
  });
});

describe('a trace and its conversation, read back', () => {
  it('gives the conversation of an OTLP agent run, each turn once, with its span and model', async () => {
    const { tracer, flush, shutdown } = otelTracer(server(), 'protobuf');
    const ids = await recordAgentRun(tracer, flush, uid('conv'));
    await shutdown();
    const { trace: stored } = await server().gql(
      `query($id: ID!) { trace(id: $id) { conversation { retained reason messages { role content toolCalls { id name arguments } toolCallId spanId model parameters { temperature } } } } }`,
      { id: ids.traceId },
    );
    const { retained, reason, messages } = stored.conversation;
    expect({ retained, reason }).toEqual({ retained: true, reason: null });
    expect(messages.map((message: any) => [message.role, message.content, message.spanId])).toEqual([
      ['SYSTEM', 'You are a weather bot.', ids.chat1],
      ['USER', 'Weather in Paris?', ids.chat1],
      ['ASSISTANT', null, ids.chat1],
      ['TOOL', '18°C, sunny', ids.chat2],
      ['ASSISTANT', 'It is 18°C and sunny in Paris.', ids.chat2],
    ]);
    expect(messages[2].toolCalls).toEqual([{ id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } }]);
    expect(messages[3].toolCallId).toBe('call_1');
    expect(messages[0]).toMatchObject({ model: 'gpt-4o-mini-2024-07-18', parameters: { temperature: 0.2 } });
  });
});

describe('sessions from OTLP', () => {
  it("puts traces that name the same gen_ai.conversation.id in one session, with its rollups", async () => {
    const { tracer, flush, shutdown } = otelTracer(server(), 'json');
    const session = uid('thread');
    const first = await recordAgentRun(tracer, flush, session);
    const second = await recordAgentRun(tracer, flush, session);
    await shutdown();
    const { session: stored } = await server().gql(
      `query($id: ID!) { session(id: $id) { id traceCount totalTokens cost errorCount traces { totalCount edges { node { id session { id } } } } } }`,
      { id: session },
    );
    const traces = await server().gql(`query($s: ID!) { traces(filter: { sessionId: $s }) { edges { node { id cost totalTokens } } } }`, { s: session });
    const nodes = traces.traces.edges.map((edge: any) => edge.node);
    expect(nodes.map((node: any) => node.id).sort()).toEqual([first.traceId, second.traceId].sort());
    expect(stored).toMatchObject({ id: session, traceCount: 2, totalTokens: 2 * (1200 + 35 + 1300 + 20), errorCount: 0 });
    expect(stored.cost).toBe(roundCost(nodes[0].cost + nodes[1].cost));
    expect(stored.traces.totalCount).toBe(2);
    expect(stored.traces.edges.every((edge: any) => edge.node.session.id === session)).toBe(true);
  });
});

describe('pending spans', () => {
  const clients: SubscriptionClient[] = [];
  afterAll(async () => {
    for (const client of clients) await client.dispose();
  });

  it.each(['ws', 'sse'] as const)('a live view over %s sees a span CREATED when it starts and UPDATED when it ends', async (transport) => {
    const { tracer, flush, shutdown } = otelTracer(server(), 'protobuf', { pending: true });
    const root = tracer.startSpan('invoke_agent planner', { attributes: { 'gen_ai.operation.name': 'invoke_agent' } });
    await flush();
    const traceId = root.spanContext().traceId;
    const running = await server().gql(`query($id: ID!) { trace(id: $id) { status spanCount rootSpan { endTime } } }`, { id: traceId });
    expect(running.trace).toEqual({ status: 'RUNNING', spanCount: 1, rootSpan: { endTime: null } });

    const client = connect(transport, server().url);
    clients.push(client);
    const subscription = client.subscribe(
      `subscription($id: ID!) { traceSpans(traceId: $id, replay: true) { op span { id name endTime type } } }`,
      { id: traceId },
    );
    await subscription.waitFor(1); // the replayed root: live from here on
    const step = child(tracer, root, 'chat gpt-4o', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o' });
    await flush();
    step.end();
    await flush();
    root.end();
    await flush();
    await shutdown();
    const changes = (await subscription.waitFor(4)).map((result) => result.data.traceSpans);
    const rootId = root.spanContext().spanId;
    const stepId = step.spanContext().spanId;
    expect(changes.map((change: any) => [change.op, change.span.id, change.span.endTime === null])).toEqual([
      ['CREATED', rootId, true],
      ['CREATED', stepId, true],
      ['UPDATED', stepId, false],
      ['UPDATED', rootId, false],
    ]);
    expect(changes[1].span.type).toBe('GENERATION');
    const ended = await server().gql(`query($id: ID!) { trace(id: $id) { status spanCount } }`, { id: traceId });
    expect(ended.trace).toEqual({ status: 'OK', spanCount: 2 });
    await subscription.stop();
  });

  it('a pending copy that arrives after the complete span changes nothing', async () => {
    const traceId = randomHex(16);
    const spanId = randomHex(8);
    const span = { traceId, spanId, name: 'late', startTimeUnixNano: '1764000000000000000', attributes: [] };
    expect((await postJson(server(), exportOf([{ ...span, endTimeUnixNano: '1764000000500000000' }]))).status).toBe(200);
    expect((await postJson(server(), exportOf([span]))).status).toBe(200);
    const { span: stored } = await server().gql(`query($id: ID!) { span(id: $id) { endTime durationMs } }`, { id: spanId });
    expect(stored).toEqual({ endTime: '2025-11-24T16:00:00.500Z', durationMs: 500 });
  });
});

const spanExists = async (id: string) => (await server().gql(`query($id: ID!) { span(id: $id) { id } }`, { id })).span !== null;

describe('what the OTLP endpoint refuses, and how it says so', () => {
  it('answers partial_success for the spans it refuses and stores the rest (JSON and protobuf)', async () => {
    const good = validSpan();
    const noStart = validSpan({ startTimeUnixNano: '0' });
    const badEnd = validSpan({ endTimeUnixNano: '1700000000000000000' }); // before its start
    const reply = await postJson(server(), exportOf([good, noStart, badEnd]));
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe('application/json');
    const answer = json(reply.body);
    expect(Number(answer.partialSuccess.rejectedSpans)).toBe(2);
    // Each refusal names the span by its id and its place in the export.
    expect(answer.partialSuccess.errorMessage).toContain(`span ${noStart.spanId} (spans[1]): startTimeUnixNano is missing`);
    expect(answer.partialSuccess.errorMessage).toMatch(new RegExp(`span ${badEnd.spanId} \\(spans\\[2\\]\\)\\.endTime: .* is before startTime`));
    expect(await spanExists(good.spanId)).toBe(true);
    expect(await spanExists(badEnd.spanId)).toBe(false);

    const good2 = validSpan();
    const bad2 = validSpan({ traceId: '00000000000000000000000000000000' });
    const protoReply = await post(server(), protobufOf(exportOf([good2, bad2])), PROTOBUF);
    expect(protoReply.status).toBe(200);
    expect(protoReply.headers.get('content-type')).toBe('application/x-protobuf');
    const decoded = generated.ExportTraceServiceResponse.toObject(generated.ExportTraceServiceResponse.decode(protoReply.body), { longs: Number });
    expect(decoded.partialSuccess).toEqual({ rejectedSpans: 1, errorMessage: `span ${bad2.spanId} (spans[1]): traceId must be 16 bytes and not all zero` });
    expect(await spanExists(good2.spanId)).toBe(true);
  });

  it('a full success answers an empty ExportTraceServiceResponse', async () => {
    const reply = await post(server(), protobufOf(exportOf([validSpan()])), PROTOBUF);
    expect(reply.status).toBe(200);
    expect(generated.ExportTraceServiceResponse.toObject(generated.ExportTraceServiceResponse.decode(reply.body))).toEqual({});
    expect(json((await postJson(server(), exportOf([validSpan()]))).body)).toEqual({});
  });

  it('refuses malformed, truncated and wrongly typed bodies with 400 and a google.rpc.Status, storing nothing', async () => {
    const span = validSpan();
    const encoded = protobufOf(exportOf([span]));
    for (const body of [encoded.subarray(0, encoded.length - 7), Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])]) {
      const reply = await post(server(), body, PROTOBUF);
      expect(reply.status).toBe(400);
      const status = RpcStatus.toObject(RpcStatus.decode(reply.body)) as { code: number; message: string };
      expect(status.code).toBe(3);
      expect(status.message).toMatch(/not an OTLP ExportTraceServiceRequest in protobuf/);
    }
    const cases: [string, RegExp][] = [
      ['{"resourceSpans": [', /the body is not JSON/],
      ['[1, 2]', /must be a JSON object/],
      [JSON.stringify({ resourceSpans: 'all of them' }), /resourceSpans: array expected/],
      [JSON.stringify(exportOf([{ ...span, spanId: 'not hex!' }])), /spanId: must be a hex string/],
      [JSON.stringify(exportOf([{ ...span, attributes: 'none' }])), /attributes: array expected/],
    ];
    for (const [body, message] of cases) {
      const reply = await post(server(), body, { 'content-type': 'application/json' });
      expect(reply.status, body).toBe(400);
      const status = json(reply.body);
      expect(status.code).toBe(3);
      expect(status.message).toMatch(message);
      expect(status.message).not.toMatch(/at .*\.js|SELECT|INSERT/);
    }
    expect(await spanExists(span.spanId)).toBe(false);
  });

  // Issue 22, finding 13: this export was refused whole (400, which exporters drop), the good spans with it.
  it('refuses alone a span that cannot be stored, by its place in the export and its id, and stores the rest (200)', async () => {
    const stored = validSpan();
    const parent = validSpan();
    expect((await postJson(server(), exportOf([stored, parent]))).status).toBe(200);
    const before = validSpan();
    const moved = { ...stored, traceId: randomHex(16), name: 'moved' }; // the same span id, under another trace
    const misplaced = validSpan({ parentSpanId: parent.spanId }); // a child naming a stored parent but another trace
    const after = validSpan();
    const reply = await postJson(server(), exportOf([before, moved, misplaced, after]));
    expect(reply.status).toBe(200);
    const { partialSuccess } = json(reply.body);
    expect(Number(partialSuccess.rejectedSpans)).toBe(2);
    expect(partialSuccess.errorMessage).toContain(`span ${stored.spanId} (spans[1]): span ${stored.spanId} is stored under another parent or trace; a span cannot move`);
    expect(partialSuccess.errorMessage).toMatch(new RegExp(`span ${misplaced.spanId} \\(spans\\[2\\]\\)\\.parentId: parent span ${parent.spanId} is in trace .*, not in trace`));
    expect(await spanExists(before.spanId)).toBe(true);
    expect(await spanExists(after.spanId)).toBe(true);
    expect(await spanExists(misplaced.spanId)).toBe(false);
    const { span } = await server().gql(`query($id: ID!) { span(id: $id) { name trace { id } } }`, { id: stored.spanId });
    expect(span).toEqual({ name: 'step', trace: { id: stored.traceId } });
  });

  // Megabytes of bodies to build, send and refuse: generous on a busy machine.
  it('takes gzip bodies, and refuses oversized ones (413) before or after inflating', { timeout: 120_000 }, async () => {
    const span = validSpan();
    const reply = await post(server(), gzipSync(protobufOf(exportOf([span]))), { ...PROTOBUF, 'content-encoding': 'gzip' });
    expect(reply.status).toBe(200);
    expect(await spanExists(span.spanId)).toBe(true);

    const huge = JSON.stringify(exportOf([validSpan({ name: 'x'.repeat(9 * 1024 * 1024) })]));
    const tooBig = await post(server(), huge, { 'content-type': 'application/json' });
    expect(tooBig.status).toBe(413);
    expect(json(tooBig.body).message).toMatch(/larger than/);
    // 12 MiB of spaces in a few KiB: over the 8 MiB cap only once inflated.
    const bomb = gzipSync(Buffer.alloc(12 * 1024 * 1024, 0x20));
    const inflated = await post(server(), bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(inflated.status).toBe(413);
    expect((await post(server(), 'not gzip', { 'content-type': 'application/json', 'content-encoding': 'gzip' })).status).toBe(400);
  });

  it('refuses other methods, media types and encodings', async () => {
    expect((await fetch(tracesUrl(server()), { headers: bearer() })).status).toBe(405);
    const text = await post(server(), '{}', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect((await post(server(), '{}', { 'content-type': 'application/json', 'content-encoding': 'br' })).status).toBe(415);
  });

  it('needs a key with INGEST: 401 without or with an unknown key, 403 for a read-only key', async () => {
    const body = JSON.stringify(exportOf([validSpan()]));
    const none = await fetch(tracesUrl(server()), { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await json(new Uint8Array(await none.arrayBuffer()))).code).toBe(16);
    const unknown = await post(server(), body, { 'content-type': 'application/json', authorization: 'Bearer st_unknown_key_000000000000000000000' });
    expect(unknown.status).toBe(401);
    const readOnly = (await server().gql(`mutation { createApiKey(input: { name: "reader", scopes: [READ] }) { key } }`)).createApiKey.key;
    const forbidden = await post(server(), protobufOf(exportOf([validSpan()])), { ...PROTOBUF, ...bearer(readOnly) });
    expect(forbidden.status).toBe(403);
    expect((RpcStatus.toObject(RpcStatus.decode(forbidden.body)) as { message: string }).message).toMatch(/INGEST/);
  });
});


describe('refusals made before the route', () => {
  it('answers a Host the server does not answer to as OTLP does, in the request encoding', async () => {
    const { request } = await import('node:http');
    const url = new URL(tracesUrl(server()));
    const reply = await new Promise<{ status: number; type: string; body: Buffer }>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { host: 'evil.example', 'content-type': 'application/x-protobuf', ...bearer() } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end(protobufOf(exportOf([validSpan()])));
    });
    expect(reply.status).toBe(403);
    expect(reply.type).toBe('application/x-protobuf');
    expect((RpcStatus.toObject(RpcStatus.decode(reply.body)) as { code: number; message: string })).toMatchObject({ code: 7, message: expect.stringMatching(/Host/) });
  });
});

// Issue 22, finding 12: each of these was changed or dropped without a word.
describe('what OTLP carries is stored as sent, or refused alone with its reason', () => {
  const partial = (reply: { body: Uint8Array }) => json(reply.body).partialSuccess as { rejectedSpans: string; errorMessage: string } | undefined;

  it('refuses a time beyond what OTLP carries (no 64-bit wrap) and a negative end time, per span', async () => {
    const good = validSpan();
    const far = validSpan({ startTimeUnixNano: '99999999999999999999999' });
    const negative = validSpan({ endTimeUnixNano: '-5' });
    const reply = await postJson(server(), exportOf([far, good, negative]));
    expect(reply.status).toBe(200);
    expect(partial(reply)!.rejectedSpans).toBe('2');
    expect(partial(reply)!.errorMessage).toBe(
      `span ${far.spanId} (spans[0]): startTimeUnixNano: "99999999999999999999999" is not a time OTLP carries (whole nanoseconds since 1970, 0 to 18446744073709551615); ` +
        `span ${negative.spanId} (spans[2]): endTimeUnixNano: "-5" is not a time OTLP carries (whole nanoseconds since 1970, 0 to 18446744073709551615)`,
    );
    expect(await spanExists(good.spanId)).toBe(true);
    expect(await spanExists(far.spanId)).toBe(false);
    expect(await spanExists(negative.spanId)).toBe(false);
  });

  it('keeps a protobuf time past 2262 (a fixed64 beyond the signed range) as sent', async () => {
    const late = validSpan({ startTimeUnixNano: '10413792000000000000', endTimeUnixNano: '10413792000500000000' });
    const reply = await post(server(), protobufOf(exportOf([late])), PROTOBUF);
    expect(reply.status).toBe(200);
    const { span } = await server().gql(`query($id: ID!) { span(id: $id) { startTime durationMs } }`, { id: late.spanId });
    expect(span).toEqual({ startTime: '2300-01-01T00:00:00.000Z', durationMs: 500 });
  });

  it.each(['json', 'protobuf'] as Encoding[])('keeps a "__proto__" attribute under "__proto__ (renamed)" and says so (%s)', async (encoding) => {
    const span = validSpan({
      attributes: [
        { key: '__proto__', value: { kvlistValue: { values: [{ key: 'gen_ai.usage.input_tokens', value: { intValue: 5 } }] } } },
        { key: 'kept', value: { stringValue: 'yes' } },
      ],
    });
    const reply = encoding === 'json' ? await postJson(server(), exportOf([span])) : await post(server(), protobufOf(exportOf([span])), PROTOBUF);
    expect(reply.status).toBe(200);
    const answer =
      encoding === 'json'
        ? json(reply.body).partialSuccess
        : generated.ExportTraceServiceResponse.toObject(generated.ExportTraceServiceResponse.decode(reply.body), { longs: String, defaults: true }).partialSuccess;
    // A warning, not a refusal: OTLP's partial_success with rejected_spans 0.
    expect(answer).toEqual({ rejectedSpans: '0', errorMessage: `span ${span.spanId} (spans[0]): an attribute named "__proto__" is kept as "__proto__ (renamed)"` });
    const { span: stored } = await server().gql(`query($id: ID!) { span(id: $id) { inputTokens meta } }`, { id: span.spanId });
    // The key-value list did not become the attributes' prototype: its token count is not the span's.
    expect(stored.inputTokens).toBeNull();
    expect(stored.meta).toMatchObject({ '__proto__ (renamed)': { 'gen_ai.usage.input_tokens': 5 }, kept: 'yes' });
  });

  it('keeps in meta only a token count no span can hold (int64 max), storing the span', async () => {
    const span = validSpan({
      attributes: [
        { key: 'gen_ai.usage.input_tokens', value: { intValue: '9223372036854775807' } },
        { key: 'gen_ai.usage.output_tokens', value: { intValue: 7 } },
      ],
    });
    const reply = await post(server(), protobufOf(exportOf([span])), PROTOBUF);
    expect(reply.status).toBe(200);
    expect(generated.ExportTraceServiceResponse.toObject(generated.ExportTraceServiceResponse.decode(reply.body))).toEqual({});
    const { span: stored } = await server().gql(`query($id: ID!) { span(id: $id) { inputTokens outputTokens meta } }`, { id: span.spanId });
    expect(stored.inputTokens).toBeNull();
    expect(stored.outputTokens).toBe(7);
    expect(stored.meta['gen_ai.usage.input_tokens']).toBe('9223372036854775807');
  });

  it('calls a NaN double NaN when it refuses the span', async () => {
    const span = validSpan({ attributes: [{ key: 'ratio', value: { doubleValue: 'NaN' } }] });
    const reply = await postJson(server(), exportOf([span]));
    expect(reply.status).toBe(200);
    expect(partial(reply)!.errorMessage).toBe(`span ${span.spanId} (spans[0]).meta: holds NaN (not a number), which cannot be stored`);
  });

  it('names each refused span by its place in the export as sent, in the order sent', async () => {
    const traceId = randomHex(16);
    const twice = randomHex(8);
    const pending = validSpan({ traceId, spanId: twice, endTimeUnixNano: undefined });
    const complete = validSpan({ traceId, spanId: twice });
    const endsEarly = validSpan({ endTimeUnixNano: '1700000000000000000' });
    const noStart = validSpan({ startTimeUnixNano: '0' });
    // Two lists of spans: spans[i] alone would not say which.
    const request = {
      resourceSpans: [
        { scopeSpans: [{ scope: { name: 'a' }, spans: [validSpan(), pending] }, { scope: { name: 'b' }, spans: [complete, endsEarly] }] },
        { scopeSpans: [{ scope: { name: 'c' }, spans: [noStart] }] },
      ],
    };
    const reply = await postJson(server(), request);
    expect(reply.status).toBe(200);
    expect(partial(reply)!.rejectedSpans).toBe('2');
    const messages = partial(reply)!.errorMessage.split('; ');
    expect(messages[0]).toMatch(new RegExp(`^span ${endsEarly.spanId} \\(resourceSpans\\[0\\]\\.scopeSpans\\[1\\]\\.spans\\[1\\]\\)\\.endTime: .* is before startTime`));
    expect(messages[1]).toBe(`span ${noStart.spanId} (resourceSpans[1].scopeSpans[0].spans[0]): startTimeUnixNano is missing`);
    const { span } = await server().gql(`query($id: ID!) { span(id: $id) { endTime } }`, { id: twice });
    expect(span.endTime).not.toBeNull();
  });
});
