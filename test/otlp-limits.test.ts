/** The OTLP endpoint under a rate limit, and under the default retention rule (metadata only). */
import { describe, expect, it } from 'vitest';
import { useTestServer } from './helpers/server.js';
import { uid } from './helpers/operations.js';
import { databaseKind } from './helpers/databases.js';
import { exportOf, generated, json, otelTracer, post, postJson, PROTOBUF, protobufOf, randomHex, recordAgentRun, validSpan } from './helpers/otlp.js';

describe('rate limits on the OTLP endpoint', () => {
  const limited = useTestServer({ RATE_LIMIT_PER_SECOND: '2' });
  it('answers 429 with Retry-After once the key is over its limit', async () => {
    // Bursts of 8 at once, until one is refused: a busy machine may spread one burst over a few
    // seconds, never ten bursts over their whole count.
    const replies: Awaited<ReturnType<typeof postJson>>[] = [];
    for (let burst = 0; burst < 10 && !replies.some((reply) => reply.status === 429); burst++) {
      replies.push(...(await Promise.all(Array.from({ length: 8 }, () => postJson(limited(), exportOf([validSpan()]))))));
    }
    expect(replies.every((reply) => reply.status === 200 || reply.status === 429)).toBe(true);
    const refused = replies.find((reply) => reply.status === 429);
    expect(refused).toBeDefined();
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(json(refused!.body).message).toMatch(/rate limit/);
  });
});

describe('metadata only (the default retention)', () => {
  const metadataOnly = useTestServer({}, { retention: 'METADATA_ONLY' });
  it('keeps no messages, prompts or tool arguments, anywhere, and says the conversation was not retained', async () => {
    const { tracer, flush, shutdown } = otelTracer(metadataOnly(), 'protobuf');
    const ids = await recordAgentRun(tracer, flush, uid('conv'));
    await shutdown();
    const { trace: stored } = await metadataOnly().gql(
      `query($id: ID!) { trace(id: $id) { spans { id input output instructions meta retained model inputTokens costSource } conversation { retained reason messages { role } } } }`,
      { id: ids.traceId },
    );
    for (const span of stored.spans) {
      expect(span).toMatchObject({ input: null, output: null, instructions: null, retained: false });
      expect(JSON.stringify(span.meta)).not.toMatch(/Paris|weather bot|sunny/);
    }
    const chat = stored.spans.find((span: any) => span.id === ids.chat1);
    expect(chat).toMatchObject({ model: 'gpt-4o-mini-2024-07-18', inputTokens: 1200, costSource: 'COMPUTED' });
    expect(stored.conversation.retained).toBe(false);
    expect(stored.conversation.messages).toEqual([]);
    expect(stored.conversation.reason).toMatch(/not kept|retention/);
  });
});

/** `count` spans of one trace, the root last (as SDKs export it), each with `attributes` extra attributes. */
function bigTrace(count: number, attributes = 0) {
  const traceId = randomHex(16);
  const rootId = randomHex(8);
  const attributesOf = (n: number) => Array.from({ length: attributes }, (_, a) => ({ key: `app.attribute_${a}`, value: a % 2 ? { intValue: String(n * a) } : { stringValue: `value ${n}/${a}` } }));
  const children = Array.from({ length: count - 1 }, (_, n) =>
    validSpan({ traceId, parentSpanId: rootId, name: `step ${n}`, startTimeUnixNano: `${1764000000000 + n}000000`, endTimeUnixNano: `${1764000000000 + n + 1}000000`, attributes: attributesOf(n) }),
  );
  const root = validSpan({ traceId, spanId: rootId, name: 'agent', startTimeUnixNano: '1764000000000000000', endTimeUnixNano: `${1764000000000 + count}000000`, attributes: attributesOf(count) });
  return { traceId, rootId, spans: [...children, root] };
}

const COUNT = `query($id: ID!) { trace(id: $id) { spanCount status rootSpan { id } } }`;

describe('an export larger than MAX_BATCH_SPANS', () => {
  const small = useTestServer({ MAX_BATCH_SPANS: '50' });
  it('is stored whole, in transactions of MAX_BATCH_SPANS spans, and answered 200', async () => {
    const { traceId, rootId, spans } = bigTrace(180);
    const inserts: string[] = [];
    const stop = small().onQuery((sql) => {
      if (/^\s*INSERT INTO "Span"/.test(sql)) inserts.push(sql);
    });
    let reply: Awaited<ReturnType<typeof post>>;
    try {
      reply = await post(small(), protobufOf(exportOf(spans)), PROTOBUF);
    } finally {
      stop();
    }
    expect(reply.status).toBe(200);
    expect(generated.ExportTraceServiceResponse.toObject(generated.ExportTraceServiceResponse.decode(reply.body))).toEqual({});
    // 180 spans in four transactions of at most 50: the children first, the root in the last one.
    expect(inserts).toHaveLength(4);
    expect((await small().gql(COUNT, { id: traceId })).trace).toEqual({ spanCount: 180, status: 'OK', rootSpan: { id: rootId } });
    // Sent again (an exporter's retry after a failure part-way): nothing changes.
    expect((await post(small(), protobufOf(exportOf(spans)), PROTOBUF)).status).toBe(200);
    expect((await small().gql(COUNT, { id: traceId })).trace.spanCount).toBe(180);
  });
});

describe('a large export at the default settings', () => {
  const defaults = useTestServer();
  // Thousands of spans to encode, store and read back: generous on a busy machine.
  it('stores 5,000 spans with 20 attributes each, answered 200', { timeout: 180_000 }, async () => {
    const { traceId, spans } = bigTrace(5_000, 20);
    const reply = await post(defaults(), protobufOf(exportOf(spans)), PROTOBUF);
    expect(reply.status).toBe(200);
    expect(generated.ExportTraceServiceResponse.toObject(generated.ExportTraceServiceResponse.decode(reply.body))).toEqual({});
    expect((await defaults().gql(COUNT, { id: traceId })).trace.spanCount).toBe(5_000);
    const { span } = await defaults().gql(`query($id: ID!) { span(id: $id) { meta } }`, { id: spans[7]!.spanId });
    expect(span.meta).toMatchObject({ 'app.attribute_0': 'value 7/0', 'app.attribute_19': 7 * 19 });
  });
});

// SQLite's limit: 32,766 bound values a statement. (PostgreSQL binds up to 65,535, and there one
// transaction's span locks must fit its lock table: MAX_BATCH_SPANS keeps them to a few thousand.)
if (databaseKind === 'sqlite') {
  describe('an export of more spans than one SQL statement may bind values for', () => {
    // One transaction for the whole export: what the statements of the write path bind must stay
    // within SQLite's 32,766 values whatever the batch (it failed with "too many SQL variables").
    const oneTransaction = useTestServer({ MAX_BATCH_SPANS: '40000' });
    it('stores 33,000 spans in one transaction', { timeout: 300_000 }, async () => {
      const traceId = randomHex(16);
      const spans = Array.from({ length: 33_000 }, (_, n) => ({ traceId, spanId: randomHex(8), name: 's', startTimeUnixNano: `${1764000000000 + n}000000` }));
      const reply = await post(oneTransaction(), protobufOf(exportOf(spans)), PROTOBUF);
      expect(reply.status).toBe(200);
      expect(generated.ExportTraceServiceResponse.toObject(generated.ExportTraceServiceResponse.decode(reply.body))).toEqual({});
      expect((await oneTransaction().gql(COUNT, { id: traceId })).trace.spanCount).toBe(33_000);
    });
  });
}
