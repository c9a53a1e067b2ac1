/**
 * OpenTelemetry spans as Spantree spans: ids, tree, times, status, and the GenAI semantic conventions
 * (current and older names), OpenInference, OpenLLMetry and the Vercel AI SDK's attributes for type,
 * model, tokens, cost, content and session. Pure: the README's mapping table describes this file.
 *
 * Content (messages, prompts, completions, tool arguments and results, retrieved documents, a judge's
 * observations and scorer context) goes to input, output, instructions, observations and
 * scorerContext and nowhere else, so the retention rule decides whether it is kept.
 * Every other attribute is kept in meta as sent, mapped or not; resource attributes under
 * `meta.resource`, the span's kind, scope and links under `meta.otel`.
 */
import type { CreateSpanInput } from '../ingest/span-input.js';
import { idSchema, LIMITS } from '../validation.js';
import type { SpanType, EventKind } from '../vocabulary.js';
import type { AttributeValue, Attributes, OtlpEvent, OtlpSpan } from './otlp-decode.js';

/** What one OpenTelemetry span becomes: a create input, its events and its session. */
export interface MappedSpan {
  input: CreateSpanInput & { id: string; traceId: string; parentId: string | null };
  events: { kind: EventKind; source: string; data: unknown; time: Date }[];
}

const SPAN_KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];

/** `gen_ai.operation.name` → span type. */
const OPERATION_TYPES: Record<string, SpanType> = {
  chat: 'GENERATION',
  text_completion: 'GENERATION',
  generate_content: 'GENERATION',
  execute_tool: 'TOOL',
  embeddings: 'EMBEDDING',
  retrieval: 'RETRIEVAL',
  invoke_agent: 'AGENT',
  create_agent: 'AGENT',
  invoke_workflow: 'AGENT',
};

/** OpenInference's `openinference.span.kind` → span type. */
const OPENINFERENCE_TYPES: Record<string, SpanType> = {
  LLM: 'GENERATION',
  TOOL: 'TOOL',
  EMBEDDING: 'EMBEDDING',
  RETRIEVER: 'RETRIEVAL',
  RERANKER: 'RETRIEVAL',
  AGENT: 'AGENT',
  CHAIN: 'FUNCTION',
  GUARDRAIL: 'FUNCTION',
  EVALUATOR: 'FUNCTION',
  PROMPT: 'FUNCTION',
};

/** OpenLLMetry's `traceloop.span.kind` and `llm.request.type` → span type. */
const TRACELOOP_TYPES: Record<string, SpanType> = { workflow: 'AGENT', agent: 'AGENT', task: 'FUNCTION', tool: 'TOOL' };
const LLM_REQUEST_TYPES: Record<string, SpanType> = { chat: 'GENERATION', completion: 'GENERATION', embedding: 'EMBEDDING', rerank: 'RETRIEVAL' };

/**
 * A judge's results on a span, under Spantree's own names: the GenAI conventions'
 * `gen_ai.evaluation.result` event carries one score and its explanation (kept as feedback), not a
 * judge's findings per criterion.
 */
const OBSERVATIONS_KEY = 'spantree.observations';
const SCORER_CONTEXT_KEY = 'spantree.scorer_context';

/** Attributes that hold content: never in meta, only in input/output/instructions/observations/scorerContext. */
const CONTENT_KEYS = new Set([
  OBSERVATIONS_KEY,
  SCORER_CONTEXT_KEY,
  'gen_ai.input.messages',
  'gen_ai.output.messages',
  'gen_ai.system_instructions',
  'gen_ai.prompt',
  'gen_ai.completion',
  'gen_ai.tool.call.arguments',
  'gen_ai.tool.call.result',
  'gen_ai.retrieval.query.text',
  'gen_ai.retrieval.documents',
  'input.value',
  'output.value',
  'ai.prompt',
  'ai.prompt.messages',
  'ai.response.text',
  'ai.response.object',
  'ai.response.toolCalls',
  'ai.toolCall.args',
  'ai.toolCall.result',
  'ai.value',
  'ai.values',
  'ai.embedding',
  'ai.embeddings',
  'llm.prompts',
  'traceloop.entity.input',
  'traceloop.entity.output',
]);
const CONTENT_PREFIXES = [
  'gen_ai.prompt.',
  'gen_ai.completion.',
  'llm.input_messages.',
  'llm.output_messages.',
  'llm.prompt_template.variables',
  'retrieval.documents.',
  'reranker.input_documents.',
  'reranker.output_documents.',
  'embedding.embeddings.',
];
/** Span events that carry messages (older GenAI conventions, OpenLLMetry): content, not events. */
const CONTENT_EVENTS = new Set([
  'gen_ai.system.message',
  'gen_ai.user.message',
  'gen_ai.assistant.message',
  'gen_ai.tool.message',
  'gen_ai.choice',
  'gen_ai.content.prompt',
  'gen_ai.content.completion',
  'gen_ai.client.inference.operation.details',
]);

export function isContentAttribute(key: string): boolean {
  return CONTENT_KEYS.has(key) || CONTENT_PREFIXES.some((prefix) => key.startsWith(prefix));
}

/**
 * Maps one span, or says why it cannot be: ids and a start time are what OTLP requires and Spantree
 * cannot do without. Everything else is checked by the write path, as for any writer.
 */
export function mapSpan(span: OtlpSpan): MappedSpan | { problem: string } {
  if (span.problem) return { problem: span.problem };
  if (!/^[0-9a-f]{32}$/.test(span.traceId) || /^0+$/.test(span.traceId)) return { problem: `traceId must be 16 bytes and not all zero` };
  if (!/^[0-9a-f]{16}$/.test(span.spanId) || /^0+$/.test(span.spanId)) return { problem: `spanId must be 8 bytes and not all zero` };
  if (span.startTimeUnixNano === 0n) return { problem: 'startTimeUnixNano is missing' };
  const attributes = span.attributes;
  const pending = attributes['logfire.span_type'] === 'pending_span';
  // Logfire sends a running span as a "pending span": a child of the real span, named after it,
  // whose attribute names the real span's parent. It stands for the real span, open.
  const id = pending && span.parentSpanId ? span.parentSpanId : span.spanId;
  const parentId = pending ? hexOrNull(attributes['logfire.pending_parent_id']) : span.parentSpanId;
  const content = contentOf(span);
  const model = firstText(attributes, ['gen_ai.response.model', 'gen_ai.request.model', 'llm.model_name', 'ai.response.model', 'ai.model.id']);
  const inputTokens = firstCount(attributes, [
    'gen_ai.usage.input_tokens',
    'gen_ai.usage.prompt_tokens',
    'llm.token_count.prompt',
    'llm.usage.prompt_tokens',
    'ai.usage.inputTokens',
    'ai.usage.promptTokens',
  ]);
  const outputTokens = firstCount(attributes, [
    'gen_ai.usage.output_tokens',
    'gen_ai.usage.completion_tokens',
    'llm.token_count.completion',
    'llm.usage.completion_tokens',
    'ai.usage.outputTokens',
    'ai.usage.completionTokens',
  ]);
  const total = firstCount(attributes, ['llm.token_count.total', 'llm.usage.total_tokens', 'gen_ai.usage.total_tokens']);
  // Counts whose sum a span cannot hold stay in meta only, like a count beyond what one can.
  const countable = (inputTokens ?? 0) + (outputTokens ?? 0) <= LIMITS.int32;
  const cost = firstNumber(attributes, ['llm.cost.total', 'gen_ai.usage.cost']);
  const sessionId = firstText(attributes, ['gen_ai.conversation.id', 'session.id', 'langfuse.session.id', 'ai.telemetry.metadata.sessionId']);
  const tags = attributes['tag.tags'];

  const meta: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(attributes)) if (!isContentAttribute(key)) meta[key] = value;
  if (Object.keys(span.resource).length) meta.resource = span.resource;
  meta.otel = {
    kind: SPAN_KINDS[span.kind] ?? String(span.kind),
    ...(span.scope.name
      ? {
          scope: {
            name: span.scope.name,
            ...(span.scope.version ? { version: span.scope.version } : {}),
            ...(Object.keys(span.scope.attributes).length ? { attributes: span.scope.attributes } : {}),
          },
        }
      : {}),
    ...(span.traceState ? { traceState: span.traceState } : {}),
    ...(span.links.length ? { links: span.links } : {}),
    ...(span.status.code === 1 ? { status: 'OK' } : {}),
  };

  const endTime = pending || span.endTimeUnixNano === 0n ? null : dateOf(span.endTimeUnixNano);
  const input: MappedSpan['input'] = {
    id,
    traceId: span.traceId,
    parentId,
    name: span.name || `(unnamed ${SPAN_KINDS[span.kind]?.toLowerCase() ?? 'span'})`,
    type: typeOf(span, model !== null && countable && (inputTokens !== null || outputTokens !== null)),
    startTime: dateOf(span.startTimeUnixNano),
    endTime,
    error: span.status.code === 2 ? errorOf(span) : null,
    meta,
    model,
    inputTokens: countable ? inputTokens : null,
    outputTokens: countable ? outputTokens : null,
    totalTokens: countable && total !== null && total >= (inputTokens ?? 0) + (outputTokens ?? 0) ? total : null,
    // A cost the write path could not store (negative, beyond 1e15) stays in meta only.
    cost: cost !== null && cost >= 0 && cost <= LIMITS.number ? cost : null,
    input: content.input,
    output: content.output,
    instructions: content.instructions,
    observations: content.observations,
    scorerContext: content.scorerContext,
    ...(Array.isArray(tags) && tags.every((tag) => typeof tag === 'string') ? { tags } : {}),
    ...(sessionId && idSchema.safeParse(sessionId).success ? { sessionId } : {}),
  };
  const events = pending ? [] : span.events.filter((event) => !CONTENT_EVENTS.has(event.name)).map(eventOf);
  return { input, events };
}

/** Nanoseconds since the epoch to a Date: the columns keep milliseconds (sub-millisecond is dropped). */
function dateOf(unixNano: bigint): Date {
  return new Date(Number(unixNano / 1_000_000n));
}

/** The span's type; `countsModelTokens`: it names a model and counts tokens, whatever the convention. */
function typeOf(span: OtlpSpan, countsModelTokens: boolean): SpanType {
  const attributes = span.attributes;
  const operation = text(attributes['gen_ai.operation.name']);
  if (operation && OPERATION_TYPES[operation]) return OPERATION_TYPES[operation];
  const kind = text(attributes['openinference.span.kind']);
  if (kind && OPENINFERENCE_TYPES[kind.toUpperCase()]) return OPENINFERENCE_TYPES[kind.toUpperCase()]!;
  const traceloop = text(attributes['traceloop.span.kind']);
  if (traceloop && TRACELOOP_TYPES[traceloop]) return TRACELOOP_TYPES[traceloop];
  const requestType = text(attributes['llm.request.type']);
  if (requestType && LLM_REQUEST_TYPES[requestType]) return LLM_REQUEST_TYPES[requestType];
  const aiOperation = text(attributes['ai.operationId']);
  if (aiOperation) {
    if (/^ai\.(generateText|streamText|generateObject|streamObject)\.do/.test(aiOperation)) return 'GENERATION';
    if (aiOperation === 'ai.toolCall') return 'TOOL';
    if (/^ai\.embed/.test(aiOperation)) return 'EMBEDDING';
    if (/^ai\.(generateText|streamText|generateObject|streamObject)$/.test(aiOperation)) return 'AGENT';
  }
  if (countsModelTokens) return 'GENERATION';
  // A client call to another service (HTTP, a database, a queue).
  if (span.kind === 3 || span.kind === 4) return 'CALL';
  return 'FUNCTION';
}

/** The error message of a span whose status is ERROR: the status message, else its exception. */
function errorOf(span: OtlpSpan): string {
  if (span.status.message) return span.status.message;
  const exception = span.events.find((event) => event.name === 'exception');
  const type = exception && text(exception.attributes['exception.type']);
  const message = exception && text(exception.attributes['exception.message']);
  if (type || message) return [type, message].filter(Boolean).join(': ');
  return 'error';
}

function eventOf(event: OtlpEvent): MappedSpan['events'][number] {
  const time = dateOf(event.timeUnixNano);
  const source = (event.name || 'otel').slice(0, 256);
  if (event.name === 'gen_ai.evaluation.result') {
    const score = numberOf(event.attributes['gen_ai.evaluation.score.value']);
    return {
      kind: 'FEEDBACK',
      source: text(event.attributes['gen_ai.evaluation.name']) ?? source,
      data: {
        thumbs: null,
        score,
        comment: text(event.attributes['gen_ai.evaluation.explanation']),
        label: text(event.attributes['gen_ai.evaluation.score.label']),
        attributes: event.attributes,
      },
      time,
    };
  }
  return { kind: 'OBSERVE', source, data: { name: event.name, attributes: event.attributes }, time };
}

/** The span's content, from whichever convention its instrumentation follows. */
function contentOf(span: OtlpSpan): {
  input: unknown;
  output: unknown;
  instructions: string | null;
  observations: string | null;
  scorerContext: unknown;
} {
  const attributes = { ...span.attributes };
  // The newest conventions may put the messages on an event rather than on the span.
  for (const event of span.events) {
    if (event.name === 'gen_ai.client.inference.operation.details') {
      for (const [key, value] of Object.entries(event.attributes)) if (isContentAttribute(key) && attributes[key] === undefined) attributes[key] = value;
    }
  }
  const input =
    json(attributes['gen_ai.input.messages']) ??
    flattenedMessages(attributes, 'llm.input_messages.') ??
    flattenedMessages(attributes, 'gen_ai.prompt.') ??
    json(attributes['gen_ai.prompt']) ??
    json(attributes['llm.prompts']) ??
    messageEvents(span.events, ['gen_ai.system.message', 'gen_ai.user.message', 'gen_ai.assistant.message', 'gen_ai.tool.message']) ??
    promptEvent(span.events, 'gen_ai.content.prompt', 'gen_ai.prompt') ??
    json(attributes['ai.prompt.messages']) ??
    json(attributes['ai.prompt']) ??
    json(attributes['input.value']) ??
    json(attributes['gen_ai.tool.call.arguments']) ??
    json(attributes['ai.toolCall.args']) ??
    json(attributes['traceloop.entity.input']) ??
    json(attributes['gen_ai.retrieval.query.text']) ??
    json(attributes['ai.value'] ?? attributes['ai.values']) ??
    json(attributes['llm.prompt_template.variables']) ??
    null;
  const output =
    json(attributes['gen_ai.output.messages']) ??
    flattenedMessages(attributes, 'llm.output_messages.') ??
    flattenedMessages(attributes, 'gen_ai.completion.') ??
    json(attributes['gen_ai.completion']) ??
    messageEvents(span.events, ['gen_ai.choice']) ??
    promptEvent(span.events, 'gen_ai.content.completion', 'gen_ai.completion') ??
    responseOfAiSdk(attributes) ??
    json(attributes['output.value']) ??
    json(attributes['gen_ai.tool.call.result']) ??
    json(attributes['ai.toolCall.result']) ??
    json(attributes['traceloop.entity.output']) ??
    json(attributes['gen_ai.retrieval.documents']) ??
    flattenedDocuments(attributes, 'retrieval.documents.') ??
    flattenedDocuments(attributes, 'reranker.output_documents.') ??
    json(attributes['ai.embedding'] ?? attributes['ai.embeddings']) ??
    null;
  return {
    input,
    output,
    instructions: textOrJson(attributes['gen_ai.system_instructions']),
    observations: textOrJson(attributes[OBSERVATIONS_KEY]),
    // An object as sent (a key-value list) or as JSON text; anything else is left for the write path
    // to refuse (partial_success names it), rather than stored where no reader expects it.
    scorerContext: json(attributes[SCORER_CONTEXT_KEY]),
  };
}

/** Text as sent; any other value as its JSON text. */
function textOrJson(value: AttributeValue | undefined): string | null {
  return value === undefined || value === null ? null : typeof value === 'string' ? value : JSON.stringify(value);
}

/** The Vercel AI SDK's response: its text and, when the model called tools, the calls. */
function responseOfAiSdk(attributes: Attributes): unknown {
  const textOut = attributes['ai.response.text'];
  const toolCalls = json(attributes['ai.response.toolCalls']);
  const object = json(attributes['ai.response.object']);
  if (textOut === undefined && toolCalls === null && object === null) return null;
  if (toolCalls === null && object === null) return textOut;
  return { role: 'assistant', content: textOut ?? object ?? null, ...(toolCalls !== null ? { toolCalls } : {}) };
}

/**
 * Messages flattened into attributes, as OpenInference (`llm.input_messages.0.message.role`) and
 * OpenLLMetry (`gen_ai.prompt.0.role`) write them, rebuilt as an OpenAI-style message list.
 */
function flattenedMessages(attributes: Attributes, prefix: string): unknown[] | null {
  const messages: Record<string, unknown>[] = [];
  for (const [key, value] of Object.entries(attributes)) {
    if (!key.startsWith(prefix)) continue;
    const match = /^(\d+)\.(?:message\.)?(.+)$/.exec(key.slice(prefix.length));
    if (!match) continue;
    const message = (messages[Number(match[1])] ??= {});
    const path = match[2]!;
    const toolCall = /^tool_calls\.(\d+)\.(?:tool_call\.)?(.+)$/.exec(path);
    if (toolCall) {
      const calls = ((message.tool_calls as Record<string, unknown>[] | undefined) ??= []);
      const call = (calls[Number(toolCall[1])] ??= { type: 'function', function: {} });
      const field = toolCall[2]!;
      if (field === 'id') call.id = value;
      else if (field === 'function.name' || field === 'name') (call.function as Record<string, unknown>).name = value;
      else if (field === 'function.arguments' || field === 'arguments') (call.function as Record<string, unknown>).arguments = value;
      else call[field] = value;
      continue;
    }
    const contentPart = /^contents\.(\d+)\.(?:message_content\.)?(.+)$/.exec(path);
    if (contentPart) {
      const parts = ((message.content as Record<string, unknown>[] | undefined) ??= []);
      const part = (parts[Number(contentPart[1])] ??= {});
      part[contentPart[2]!] = value;
      continue;
    }
    message[path === 'tool_call_id' ? 'tool_call_id' : path] = value;
  }
  const list = messages.filter(Boolean).map((message) => {
    if (Array.isArray(message.tool_calls)) message.tool_calls = message.tool_calls.filter(Boolean);
    if (Array.isArray(message.content)) message.content = message.content.filter(Boolean);
    return message;
  });
  return list.length ? list : null;
}

/** Documents flattened by OpenInference (`retrieval.documents.0.document.content`, the reranker's too). */
function flattenedDocuments(attributes: Attributes, prefix: string): unknown[] | null {
  const documents: Record<string, unknown>[] = [];
  for (const [key, value] of Object.entries(attributes)) {
    if (!key.startsWith(prefix)) continue;
    const match = /^(\d+)\.(?:document\.)?(.+)$/.exec(key.slice(prefix.length));
    if (match) (documents[Number(match[1])] ??= {})[match[2]!] = value;
  }
  const list = documents.filter(Boolean);
  return list.length ? list : null;
}

/** Per-message span events (older GenAI conventions): one message per event, in order. */
function messageEvents(events: OtlpEvent[], names: string[]): unknown[] | null {
  const messages = events
    .filter((event) => names.includes(event.name))
    .map((event) => {
      const role = text(event.attributes.role) ?? (event.name === 'gen_ai.choice' ? 'assistant' : event.name.split('.')[1]);
      const message: Record<string, unknown> = { role };
      for (const [key, value] of Object.entries(event.attributes)) {
        if (key === 'role' || key === 'gen_ai.system' || key === 'gen_ai.provider.name') continue;
        message[key] = key === 'message' || key === 'tool_calls' ? (json(value) ?? value) : value;
      }
      // gen_ai.choice nests the message: { index, finish_reason, message: { role, content } }.
      if (message.message && typeof message.message === 'object') return { role, ...(message.message as object), ...(message.finish_reason ? { finish_reason: message.finish_reason } : {}) };
      return message;
    });
  return messages.length ? messages : null;
}

/** OpenLLMetry's older events that carry the whole prompt or completion in one attribute. */
function promptEvent(events: OtlpEvent[], name: string, attribute: string): unknown {
  const event = events.find((candidate) => candidate.name === name);
  return event ? json(event.attributes[attribute]) : null;
}

/** A value as JSON: text that parses as a JSON object or array is parsed; other text stays text. */
function json(value: AttributeValue | undefined): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') return value;
  const trimmed = value.trim();
  if ((trimmed.startsWith('{') && trimmed.endsWith('}')) || (trimmed.startsWith('[') && trimmed.endsWith(']'))) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return value;
    }
  }
  return value;
}

function text(value: AttributeValue | undefined): string | null {
  return typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : null;
}

function firstText(attributes: Attributes, keys: string[]): string | null {
  for (const key of keys) {
    const value = text(attributes[key]);
    if (value) return value;
  }
  return null;
}

function numberOf(value: AttributeValue | undefined): number | null {
  const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(number) ? number : null;
}

function firstNumber(attributes: Attributes, keys: string[]): number | null {
  for (const key of keys) {
    const value = numberOf(attributes[key]);
    if (value !== null) return value;
  }
  return null;
}

/**
 * A token count: a whole number (text too) that a span can hold (0 to 2^31 - 1); anything else, an
 * int64 beyond that included, is left for meta alone rather than refusing the span.
 */
function firstCount(attributes: Attributes, keys: string[]): number | null {
  const value = firstNumber(attributes, keys);
  return value !== null && Number.isInteger(value) && value >= 0 && value <= LIMITS.int32 ? value : null;
}

function hexOrNull(value: AttributeValue | undefined): string | null {
  return typeof value === 'string' && /^[0-9a-f]{16}$/i.test(value) && !/^0+$/.test(value) ? value.toLowerCase() : null;
}
