/** OpenTelemetry spans as Spantree spans: each convention's attributes, as instrumentations emit them. */
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { mapSpan, type MappedSpan } from '../../src/otlp/otlp-mapping.js';
import { decodeJson, decodeProtobuf, PROTO_KEY, type OtlpSpan } from '../../src/otlp/otlp-decode.js';
import { prepareCreate } from '../../src/ingest/span-input.js';

const generated = createRequire(import.meta.url)('@opentelemetry/otlp-transformer/build/src/generated/root.js').opentelemetry.proto.collector.trace.v1;

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';
const PARENT = '00f067aa0ba902b7';

function span(overrides: Partial<OtlpSpan> = {}): OtlpSpan {
  return {
    place: 'spans[0]',
    traceId: TRACE,
    spanId: SPAN,
    parentSpanId: PARENT,
    name: 'step',
    kind: 1,
    startTimeUnixNano: 1_764_000_000_123_456_789n,
    endTimeUnixNano: 1_764_000_000_623_456_789n,
    attributes: {},
    events: [],
    links: [],
    status: { code: 0, message: '' },
    traceState: '',
    resource: { 'service.name': 'svc' },
    scope: { name: 'lib', version: '1.2.3', attributes: {} },
    ...overrides,
  };
}

function mapped(overrides: Partial<OtlpSpan> = {}): MappedSpan {
  const result = mapSpan(span(overrides));
  if ('problem' in result) throw new Error(result.problem);
  return result;
}

describe('mapSpan', () => {
  it('keeps ids as hex, the parent, the times to the millisecond, and everything else in meta', () => {
    const { input } = mapped({ attributes: { 'http.route': '/chat', 'user.id': 'u-1' }, traceState: 'k=v', links: [{ traceId: TRACE, spanId: PARENT, attributes: { why: 'retry' } }] });
    expect(input).toMatchObject({ id: SPAN, traceId: TRACE, parentId: PARENT, name: 'step', type: 'FUNCTION' });
    expect((input.startTime as Date).toISOString()).toBe('2025-11-24T16:00:00.123Z');
    expect((input.endTime as Date).toISOString()).toBe('2025-11-24T16:00:00.623Z');
    expect(input.meta).toEqual({
      'http.route': '/chat',
      'user.id': 'u-1',
      resource: { 'service.name': 'svc' },
      otel: { kind: 'INTERNAL', scope: { name: 'lib', version: '1.2.3' }, traceState: 'k=v', links: [{ traceId: TRACE, spanId: PARENT, attributes: { why: 'retry' } }] },
    });
  });

  it('refuses what OTLP requires and Spantree cannot do without', () => {
    expect(mapSpan(span({ traceId: '0'.repeat(32) }))).toEqual({ problem: 'traceId must be 16 bytes and not all zero' });
    expect(mapSpan(span({ spanId: 'abc' }))).toEqual({ problem: 'spanId must be 8 bytes and not all zero' });
    expect(mapSpan(span({ startTimeUnixNano: 0n }))).toEqual({ problem: 'startTimeUnixNano is missing' });
  });

  it('an end time of 0 is a span still running', () => {
    expect(mapped({ endTimeUnixNano: 0n }).input.endTime).toBeNull();
  });

  it('status ERROR becomes the error: its message, else the exception event', () => {
    expect(mapped({ status: { code: 2, message: 'rate limited' } }).input.error).toBe('rate limited');
    const withException = mapped({
      status: { code: 2, message: '' },
      events: [{ name: 'exception', timeUnixNano: 1_764_000_000_200_000_000n, attributes: { 'exception.type': 'ValueError', 'exception.message': 'bad city' } }],
    });
    expect(withException.input.error).toBe('ValueError: bad city');
    expect(withException.events).toEqual([
      { kind: 'OBSERVE', source: 'exception', time: new Date('2025-11-24T16:00:00.200Z'), data: { name: 'exception', attributes: { 'exception.type': 'ValueError', 'exception.message': 'bad city' } } },
    ]);
    expect(mapped({ status: { code: 1, message: '' } }).input.error).toBeNull();
  });

  it.each([
    ['chat', 'GENERATION'], ['text_completion', 'GENERATION'], ['generate_content', 'GENERATION'], ['execute_tool', 'TOOL'],
    ['embeddings', 'EMBEDDING'], ['retrieval', 'RETRIEVAL'], ['invoke_agent', 'AGENT'], ['create_agent', 'AGENT'],
  ])('gen_ai.operation.name %s is a %s span', (operation, type) => {
    expect(mapped({ attributes: { 'gen_ai.operation.name': operation } }).input.type).toBe(type);
  });

  it.each([
    [{ 'openinference.span.kind': 'LLM' }, 'GENERATION'],
    [{ 'openinference.span.kind': 'RETRIEVER' }, 'RETRIEVAL'],
    [{ 'openinference.span.kind': 'CHAIN' }, 'FUNCTION'],
    [{ 'traceloop.span.kind': 'workflow' }, 'AGENT'],
    [{ 'llm.request.type': 'chat' }, 'GENERATION'],
    [{ 'ai.operationId': 'ai.generateText.doGenerate' }, 'GENERATION'],
    [{ 'ai.operationId': 'ai.toolCall' }, 'TOOL'],
  ])('other conventions decide the type too: %o is a %s span', (attributes, type) => {
    expect(mapped({ attributes }).input.type).toBe(type);
  });

  it('a client span without GenAI attributes is a CALL', () => {
    expect(mapped({ kind: 3, attributes: { 'http.request.method': 'GET' } }).input.type).toBe('CALL');
  });

  it('takes model and tokens from the current and the older GenAI names', () => {
    expect(mapped({ attributes: { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 3 } }).input).toMatchObject({ model: 'gpt-4o', inputTokens: 10, outputTokens: 3 });
    expect(mapped({ attributes: { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.response.model': 'gpt-4o-2024-08-06', 'gen_ai.usage.prompt_tokens': 7, 'gen_ai.usage.completion_tokens': '2' } }).input).toMatchObject({
      model: 'gpt-4o-2024-08-06',
      inputTokens: 7,
      outputTokens: 2,
    });
    // Not a whole number: left in meta, not refused.
    const odd = mapped({ attributes: { 'gen_ai.usage.input_tokens': 'many' } }).input;
    expect(odd.inputTokens).toBeNull();
    expect((odd.meta as Record<string, unknown>)['gen_ai.usage.input_tokens']).toBe('many');
  });

  it('moves content out of meta into input, output and instructions', () => {
    const { input } = mapped({
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.input.messages': '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]',
        'gen_ai.output.messages': '[{"role":"assistant","parts":[{"type":"text","content":"hello"}]}]',
        'gen_ai.system_instructions': 'be brief',
        'gen_ai.conversation.id': 'conv-1',
      },
    });
    expect(input.input).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'hi' }] }]);
    expect(input.output).toEqual([{ role: 'assistant', parts: [{ type: 'text', content: 'hello' }] }]);
    expect(input.instructions).toBe('be brief');
    expect(input.sessionId).toBe('conv-1');
    expect(Object.keys(input.meta as object).filter((key) => key.startsWith('gen_ai.'))).toEqual(['gen_ai.operation.name', 'gen_ai.conversation.id']);
  });

  it('rebuilds OpenInference flattened messages, with tool calls, and reads its tokens, cost, session and tags', () => {
    const { input } = mapped({
      attributes: {
        'openinference.span.kind': 'LLM',
        'llm.model_name': 'claude-3-5-sonnet',
        'llm.input_messages.0.message.role': 'system',
        'llm.input_messages.0.message.content': 'be brief',
        'llm.input_messages.1.message.role': 'user',
        'llm.input_messages.1.message.content': 'weather?',
        'llm.output_messages.0.message.role': 'assistant',
        'llm.output_messages.0.message.tool_calls.0.tool_call.id': 'c1',
        'llm.output_messages.0.message.tool_calls.0.tool_call.function.name': 'weather',
        'llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments': '{"city":"Oslo"}',
        'llm.token_count.prompt': 12,
        'llm.token_count.completion': 4,
        'llm.token_count.total': 16,
        'llm.cost.total': 0.0003,
        'session.id': 'sess-9',
        'tag.tags': ['beta'],
        'input.value': 'ignored: the messages win',
      },
    });
    expect(input).toMatchObject({ type: 'GENERATION', model: 'claude-3-5-sonnet', inputTokens: 12, outputTokens: 4, totalTokens: 16, cost: 0.0003, sessionId: 'sess-9', tags: ['beta'] });
    expect(input.input).toEqual([{ role: 'system', content: 'be brief' }, { role: 'user', content: 'weather?' }]);
    expect(input.output).toEqual([{ role: 'assistant', tool_calls: [{ type: 'function', id: 'c1', function: { name: 'weather', arguments: '{"city":"Oslo"}' } }] }]);
    expect(Object.keys(input.meta as object).some((key) => key.startsWith('llm.input_messages') || key === 'input.value')).toBe(false);
  });

  it('rebuilds OpenLLMetry prompts and completions (gen_ai.prompt.N / gen_ai.completion.N)', () => {
    const { input } = mapped({
      attributes: {
        'llm.request.type': 'chat',
        'gen_ai.system': 'openai',
        'gen_ai.prompt.0.role': 'user',
        'gen_ai.prompt.0.content': 'tell a joke',
        'gen_ai.completion.0.role': 'assistant',
        'gen_ai.completion.0.content': 'knock knock',
        'gen_ai.completion.0.finish_reason': 'stop',
      },
    });
    expect(input.input).toEqual([{ role: 'user', content: 'tell a joke' }]);
    expect(input.output).toEqual([{ role: 'assistant', content: 'knock knock', finish_reason: 'stop' }]);
  });

  it('reads the older per-message events as content, not as events', () => {
    const at = 1_764_000_000_200_000_000n;
    const result = mapped({
      attributes: { 'gen_ai.operation.name': 'chat' },
      events: [
        { name: 'gen_ai.system.message', timeUnixNano: at, attributes: { content: 'be brief' } },
        { name: 'gen_ai.user.message', timeUnixNano: at, attributes: { content: 'hi' } },
        { name: 'gen_ai.choice', timeUnixNano: at, attributes: { index: 0, finish_reason: 'stop', message: '{"role":"assistant","content":"hello"}' } },
      ],
    });
    expect(result.input.input).toEqual([{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }]);
    expect(result.input.output).toEqual([{ role: 'assistant', content: 'hello', finish_reason: 'stop' }]);
    expect(result.events).toEqual([]);
  });

  it('reads an evaluation event as feedback', () => {
    const { events } = mapped({
      events: [{ name: 'gen_ai.evaluation.result', timeUnixNano: 1_764_000_000_200_000_000n, attributes: { 'gen_ai.evaluation.name': 'relevance', 'gen_ai.evaluation.score.value': 0.25, 'gen_ai.evaluation.score.label': 'poor' } }],
    });
    expect(events[0]).toMatchObject({ kind: 'FEEDBACK', source: 'relevance', data: { thumbs: null, score: 0.25, label: 'poor', comment: null } });
  });

  it("takes Logfire's pending span for the real span, open", () => {
    const { input, events } = mapped({
      spanId: 'aaaaaaaaaaaaaaaa',
      parentSpanId: SPAN,
      attributes: { 'logfire.span_type': 'pending_span', 'logfire.pending_parent_id': PARENT },
      events: [{ name: 'ignored', timeUnixNano: 1n, attributes: {} }],
    });
    expect(input).toMatchObject({ id: SPAN, parentId: PARENT, endTime: null });
    expect(events).toEqual([]);
    const root = mapped({ spanId: 'aaaaaaaaaaaaaaaa', parentSpanId: SPAN, attributes: { 'logfire.span_type': 'pending_span', 'logfire.pending_parent_id': '0000000000000000' } });
    expect(root.input).toMatchObject({ id: SPAN, parentId: null });
  });

  it('keeps tool arguments and results as content', () => {
    const { input } = mapped({ attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search', 'gen_ai.tool.call.arguments': '{"q":"x"}', 'gen_ai.tool.call.result': 'found' } });
    expect(input).toMatchObject({ type: 'TOOL', input: { q: 'x' }, output: 'found' });
    expect(input.meta).toMatchObject({ 'gen_ai.tool.name': 'search' });
    expect((input.meta as Record<string, unknown>)['gen_ai.tool.call.arguments']).toBeUndefined();
  });

  it("reads a judge's observations and scorer context as content, never into meta", () => {
    const { input } = mapped({
      attributes: {
        'gen_ai.operation.name': 'chat',
        'spantree.observations': 'Polite, but cites no source.',
        'spantree.scorer_context': '{"accuracy":{"score":0.4,"reason":"no source"},"tone":{"score":1}}',
        'judge.version': 'v2',
      },
    });
    expect(input.observations).toBe('Polite, but cites no source.');
    expect(input.scorerContext).toEqual({ accuracy: { score: 0.4, reason: 'no source' }, tone: { score: 1 } });
    expect(Object.keys(input.meta as object).filter((key) => key !== 'otel' && key !== 'resource')).toEqual(['gen_ai.operation.name', 'judge.version']);
    // A key-value list arrives as an object, and is kept as one; other observations as their JSON text.
    const map = mapped({ attributes: { 'spantree.scorer_context': { relevance: { score: 0.9 } }, 'spantree.observations': ['short', 'clear'] } }).input;
    expect(map.scorerContext).toEqual({ relevance: { score: 0.9 } });
    expect(map.observations).toBe('["short","clear"]');
    // Absent: null, as for every other content field (a retry's hash leaves nulls out).
    expect(mapped().input).toMatchObject({ observations: null, scorerContext: null });
    // Not an object: handed on as sent, for the write path to refuse with a reason.
    expect(mapped({ attributes: { 'spantree.scorer_context': 'great' } }).input.scorerContext).toBe('great');
  });

  it('ignores a session id that is not a storable id, keeping it in meta', () => {
    const { input } = mapped({ attributes: { 'session.id': 'has spaces in it' } });
    expect(input.sessionId).toBeUndefined();
    expect((input.meta as Record<string, unknown>)['session.id']).toBe('has spaces in it');
  });
});

// Issue 22, finding 12: what OTLP carries is kept as sent, or refused with its reason, never changed.
describe('numbers and times at the edges of what OTLP carries', () => {
  const exportWith = (fields: Record<string, unknown>) =>
    Buffer.from(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: TRACE, spanId: SPAN, name: 's', startTimeUnixNano: '1764000000000000000', ...fields }] }] }] }));

  it('refuses a time beyond 64 bits instead of wrapping it', () => {
    const [decoded] = decodeJson(exportWith({ startTimeUnixNano: '99999999999999999999999' }));
    expect(mapSpan(decoded!)).toEqual({ problem: expect.stringMatching(/^startTimeUnixNano: "99999999999999999999999" is not a time OTLP carries/) });
  });

  it('refuses a negative end time (or event time) instead of leaving the span open', () => {
    expect(mapSpan(decodeJson(exportWith({ endTimeUnixNano: '-5' }))[0]!)).toEqual({ problem: expect.stringMatching(/^endTimeUnixNano: "-5" is not a time/) });
    expect(mapSpan(decodeJson(exportWith({ events: [{ name: 'e', timeUnixNano: 1.5 }] }))[0]!)).toEqual({ problem: expect.stringMatching(/^events\[0\]\.timeUnixNano: 1.5 is not a time/) });
  });

  it('reads a protobuf fixed64 past the signed range as the unsigned time it is', () => {
    const request = { resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: Buffer.from(TRACE, 'hex').toString('base64'), spanId: Buffer.from(SPAN, 'hex').toString('base64'), name: 's', startTimeUnixNano: '18446744073709551615' }] }] }] };
    const [decoded] = decodeProtobuf(generated.ExportTraceServiceRequest.encode(generated.ExportTraceServiceRequest.fromObject(request)).finish());
    expect(decoded!.startTimeUnixNano).toBe(18446744073709551615n);
  });

  it('keeps a "__proto__" attribute under another key, at any depth, and marks the span', () => {
    const [decoded] = decodeJson(
      exportWith({ attributes: [{ key: 'outer', value: { kvlistValue: { values: [{ key: '__proto__', value: { stringValue: 'x' } }] } } }] }),
    );
    expect(decoded!.attributes).toEqual({ outer: { [PROTO_KEY]: 'x' } });
    expect(Object.getPrototypeOf(decoded!.attributes.outer)).toBe(Object.prototype);
    expect(decoded!.renamedProto).toBe(true);
  });

  it('keeps in meta only token counts and costs no span can hold', () => {
    const { input } = mapped({
      attributes: { 'gen_ai.usage.input_tokens': '9223372036854775807', 'gen_ai.usage.output_tokens': 3, 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.cost': 1e20 },
    });
    expect(input).toMatchObject({ inputTokens: null, outputTokens: 3, cost: null });
    expect(input.meta).toMatchObject({ 'gen_ai.usage.input_tokens': '9223372036854775807', 'gen_ai.usage.cost': 1e20 });
    const both = mapped({ attributes: { 'gen_ai.usage.input_tokens': 2_000_000_000, 'gen_ai.usage.output_tokens': 2_000_000_000 } }).input;
    expect(both).toMatchObject({ inputTokens: null, outputTokens: null, totalTokens: null });
  });

  it('reads a NaN double as NaN, which the write path refuses by that name', () => {
    const [decoded] = decodeJson(exportWith({ attributes: [{ key: 'ratio', value: { doubleValue: 'NaN' } }] }));
    expect(decoded!.attributes.ratio).toBeNaN();
    const { input } = mapSpan(decoded!) as MappedSpan;
    expect(() => prepareCreate(input, 'span', new Date())).toThrow('span.meta: holds NaN (not a number), which cannot be stored');
  });

  it('names a span by its place in the export: spans[i] in one list, the whole path in several', () => {
    const one = decodeJson(exportWith({}));
    expect(one[0]!.place).toBe('spans[0]');
    const spanJson = { traceId: TRACE, spanId: SPAN, name: 's', startTimeUnixNano: '1' };
    const several = decodeJson(Buffer.from(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [spanJson] }, { spans: [spanJson, spanJson] }] }] })));
    expect(several.map((item) => item.place)).toEqual(['resourceSpans[0].scopeSpans[0].spans[0]', 'resourceSpans[0].scopeSpans[1].spans[0]', 'resourceSpans[0].scopeSpans[1].spans[1]']);
  });
});
