/** OpenTelemetry's own SDK and exporters pointed at a test server, and raw OTLP requests to it. */
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import protobuf from 'protobufjs';
import { context, trace, SpanKind, type Attributes, type Span as OtelSpan, type Tracer } from '@opentelemetry/api';
import { BasicTracerProvider, SimpleSpanProcessor, type ReadableSpan, type SpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { bearer, type TestServer } from './server.js';

export type Encoding = 'protobuf' | 'json';

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

export const child = (tracer: Tracer, parent: OtelSpan, name: string, attributes: Attributes, kind = SpanKind.INTERNAL, startTime?: number) =>
  tracer.startSpan(name, { attributes, kind, startTime }, trace.setSpan(context.active(), parent));

export const SYSTEM = [{ type: 'text', content: 'You are a weather bot.' }];
export const USER = { role: 'user', parts: [{ type: 'text', content: 'Weather in Paris?' }] };
export const CALL = { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } }] };
export const RESULT = { role: 'tool', parts: [{ type: 'tool_call_response', id: 'call_1', response: '18°C, sunny' }] };
export const ANSWER = { role: 'assistant', parts: [{ type: 'text', content: 'It is 18°C and sunny in Paris.' }], finish_reason: 'stop' };

/** An agent run as GenAI-instrumented code records it: agent → chat → tool → chat. */
export async function recordAgentRun(tracer: Tracer, flush: () => Promise<void>, session: string) {
  // Times as a run takes them (a model call lasts hundreds of milliseconds), not as fast as this
  // code runs: stored to the millisecond, steps started in the same one would have no order.
  const at = Date.now() - 10_000;
  const agent = tracer.startSpan('invoke_agent weather', {
    startTime: at,
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
  }, SpanKind.CLIENT, at + 100);
  chat1.end(at + 900);
  const tool = child(tracer, agent, 'execute_tool get_weather', {
    'gen_ai.operation.name': 'execute_tool',
    'gen_ai.tool.name': 'get_weather',
    'gen_ai.tool.call.id': 'call_1',
    'gen_ai.tool.call.arguments': JSON.stringify({ city: 'Paris' }),
    'gen_ai.tool.call.result': '18°C, sunny',
  }, SpanKind.INTERNAL, at + 1000);
  tool.addEvent('exception', { 'exception.type': 'TimeoutError', 'exception.message': 'first try timed out' }, at + 1200);
  tool.end(at + 1500);
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
  }, SpanKind.CLIENT, at + 1600);
  chat2.addEvent('gen_ai.evaluation.result', { 'gen_ai.evaluation.name': 'helpfulness', 'gen_ai.evaluation.score.value': 0.9, 'gen_ai.evaluation.explanation': 'answered' }, at + 2300);
  chat2.end(at + 2400);
  agent.end(at + 2500);
  await flush();
  const hex = (span: OtelSpan) => span.spanContext().spanId;
  return { traceId: agent.spanContext().traceId, agent: hex(agent), chat1: hex(chat1), tool: hex(tool), chat2: hex(chat2) };
}


export const randomHex = (bytes: number) => randomBytes(bytes).toString('hex');

/** An OTLP/JSON export of these spans under one resource and scope. */
export function exportOf(spans: Record<string, unknown>[]) {
  return { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'raw' } }] }, scopeSpans: [{ scope: { name: 'raw' }, spans }] }] };
}

export function tracesUrl(target: TestServer) {
  return target.url.replace(/\/graphql$/, '/v1/traces');
}

/** Posts a raw body to the server's OTLP endpoint with the suite's key (unless `headers` replace it). */
export async function post(target: TestServer, body: Uint8Array | string, headers: Record<string, string>) {
  const response = await fetch(tracesUrl(target), { method: 'POST', body: body as BodyInit, headers: { ...bearer(), ...headers } });
  return { status: response.status, headers: response.headers, body: new Uint8Array(await response.arrayBuffer()) };
}

export function postJson(target: TestServer, request: unknown, headers: Record<string, string> = {}) {
  return post(target, JSON.stringify(request), { 'content-type': 'application/json', ...headers });
}

export const json = (body: Uint8Array) => JSON.parse(Buffer.from(body).toString('utf8'));

/** The generated types of opentelemetry-proto's trace service, as the server decodes with them. */
export const generated = createRequire(import.meta.url)('@opentelemetry/otlp-transformer/build/src/generated/root.js').opentelemetry.proto.collector.trace.v1;
export const RpcStatus = protobuf.Root.fromJSON({
  nested: { google: { nested: { rpc: { nested: { Status: { fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 } } } } } } } },
}).lookupType('google.rpc.Status');

/** The export in protobuf, with the OpenTelemetry project's generated types (ids hex → bytes). */
export function protobufOf(request: ReturnType<typeof exportOf>): Uint8Array {
  const copy = structuredClone(request) as any;
  for (const resource of copy.resourceSpans) {
    for (const scope of resource.scopeSpans) {
      for (const span of scope.spans) for (const key of ['traceId', 'spanId', 'parentSpanId']) if (span[key]) span[key] = Buffer.from(span[key], 'hex').toString('base64');
    }
  }
  return generated.ExportTraceServiceRequest.encode(generated.ExportTraceServiceRequest.fromObject(copy)).finish();
}

export const PROTOBUF = { 'content-type': 'application/x-protobuf' };

export const validSpan = (overrides: Record<string, unknown> = {}) => ({
  traceId: randomHex(16),
  spanId: randomHex(8),
  name: 'step',
  startTimeUnixNano: '1764000000000000000',
  endTimeUnixNano: '1764000000250000000',
  ...overrides,
});
