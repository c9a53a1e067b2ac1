/**
 * OTLP/HTTP ingestion with the real OpenTelemetry JS SDK and its own exporters (protobuf and JSON),
 * read back through GraphQL: ids, tree, types, tokens, model, computed cost, events, session,
 * retention under both modes, and the conversation.
 */
import { describe, expect, it } from 'vitest';
import { context, trace, SpanKind, type Attributes, type Span as OtelSpan, type Tracer } from '@opentelemetry/api';
import { BasicTracerProvider, SimpleSpanProcessor, type ReadableSpan, type SpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { bearer, useTestServer, type TestServer } from './helpers/server.js';
import { findModelPrice } from '../src/costs/price-table.js';
import { uid } from './helpers/operations.js';

const server = useTestServer();

type Encoding = 'protobuf' | 'json';

/** An SDK tracer exporting to the test server, as the README tells users to set one up. */
export function otelTracer(testServer: TestServer, encoding: Encoding, { key, pending = false }: { key?: string; pending?: boolean } = {}) {
  const url = testServer.url.replace(/\/graphql$/, '/v1/traces');
  const headers = bearer(key);
  const exporter: SpanExporter = encoding === 'protobuf' ? new ProtobufExporter({ url, headers }) : new JsonExporter({ url, headers });
  const processors: SpanProcessor[] = [new SimpleSpanProcessor(exporter)];
  if (pending) processors.unshift(new PendingSpanProcessor(exporter));
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'otlp-test', 'deployment.environment': 'test' }),
    spanProcessors: processors,
  });
  return { tracer: provider.getTracer('spantree-test', '1.0.0'), flush: () => provider.forceFlush(), shutdown: () => provider.shutdown() };
}

/**
 * Exports a copy of each span when it starts, without an end time, so a trace store shows it while
 * it runs: the README's recipe for pending spans, used here as a user would.
 */
export class PendingSpanProcessor implements SpanProcessor {
  private pending: Promise<unknown>[] = [];
  constructor(private readonly exporter: SpanExporter) {}
  onStart(span: OtelSpan): void {
    const readable = span as unknown as ReadableSpan;
    const copy = Object.create(readable, { endTime: { value: [0, 0] }, ended: { value: false } }) as ReadableSpan;
    this.pending.push(new Promise((resolve) => this.exporter.export([copy], resolve)));
  }
  onEnd(): void {}
  async forceFlush(): Promise<void> {
    await Promise.all(this.pending.splice(0));
  }
  shutdown(): Promise<void> {
    return this.forceFlush();
  }
}

const child = (tracer: Tracer, parent: OtelSpan, name: string, attributes: Attributes, kind = SpanKind.INTERNAL) =>
  tracer.startSpan(name, { attributes, kind }, trace.setSpan(context.active(), parent));

const SYSTEM = [{ type: 'text', content: 'You are a weather bot.' }];
const USER = { role: 'user', parts: [{ type: 'text', content: 'Weather in Paris?' }] };
const CALL = { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } }] };
const RESULT = { role: 'tool', parts: [{ type: 'tool_call_response', id: 'call_1', response: '18°C, sunny' }] };
const ANSWER = { role: 'assistant', parts: [{ type: 'text', content: 'It is 18°C and sunny in Paris.' }], finish_reason: 'stop' };

/** An agent run as GenAI-instrumented code records it: agent → chat → tool → chat. */
async function recordAgentRun(tracer: Tracer, flush: () => Promise<void>, session: string) {
  const agent = tracer.startSpan('invoke_agent weather', {
    attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'weather', 'gen_ai.conversation.id': session, 'tag.tags': ['prod', 'weather'] },
  });
  const chat1 = child(tracer, agent, 'chat gpt-4o-mini', {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o-mini',
    'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
    'gen_ai.request.temperature': 0.2,
    'gen_ai.usage.input_tokens': 1200,
    'gen_ai.usage.output_tokens': 35,
    'gen_ai.system_instructions': JSON.stringify(SYSTEM),
    'gen_ai.input.messages': JSON.stringify([USER]),
    'gen_ai.output.messages': JSON.stringify([CALL]),
    'gen_ai.conversation.id': session,
  }, SpanKind.CLIENT);
  chat1.end();
  const tool = child(tracer, agent, 'execute_tool get_weather', {
    'gen_ai.operation.name': 'execute_tool',
    'gen_ai.tool.name': 'get_weather',
    'gen_ai.tool.call.id': 'call_1',
    'gen_ai.tool.call.arguments': JSON.stringify({ city: 'Paris' }),
    'gen_ai.tool.call.result': '18°C, sunny',
  });
  tool.addEvent('exception', { 'exception.type': 'TimeoutError', 'exception.message': 'first try timed out' });
  tool.end();
  const chat2 = child(tracer, agent, 'chat gpt-4o-mini', {
    'gen_ai.operation.name': 'chat',
    'gen_ai.request.model': 'gpt-4o-mini',
    'gen_ai.usage.input_tokens': 1300,
    'gen_ai.usage.output_tokens': 20,
    'gen_ai.usage.cache_read.input_tokens': 1024,
    'gen_ai.system_instructions': JSON.stringify(SYSTEM),
    'gen_ai.input.messages': JSON.stringify([USER, CALL, RESULT]),
    'gen_ai.output.messages': JSON.stringify([ANSWER]),
    'some.custom.attribute': 'kept',
  }, SpanKind.CLIENT);
  chat2.addEvent('gen_ai.evaluation.result', { 'gen_ai.evaluation.name': 'helpfulness', 'gen_ai.evaluation.score.value': 0.9, 'gen_ai.evaluation.explanation': 'answered' });
  chat2.end();
  agent.end();
  await flush();
  const hex = (span: OtelSpan) => span.spanContext().spanId;
  return { traceId: agent.spanContext().traceId, agent: hex(agent), chat1: hex(chat1), tool: hex(tool), chat2: hex(chat2) };
}

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
