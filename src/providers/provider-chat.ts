/**
 * Talking to a model provider, through its maintained client library: `openai` for the
 * OpenAI-compatible kind (OpenAI, Ollama, vLLM, LiteLLM, OpenRouter ...), `@anthropic-ai/sdk` for
 * Anthropic. Both stream; what the playground needs of either is the same: the text as it arrives,
 * then the answer (text, tool calls, token usage).
 *
 * The request is what the caller gave, translated into the provider's wire format and nothing more:
 * no default temperature, no system prompt added, no retries (a retry would spend the user's money
 * twice and hide the error they came to see).
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { ModelProviderKind } from '../vocabulary.js';

/** Who speaks a message, as the conversation names it. */
export type ChatRole = 'SYSTEM' | 'USER' | 'ASSISTANT' | 'TOOL';

export interface ChatToolCall {
  id: string;
  name: string;
  /** The arguments as JSON (parsed when the provider sent JSON text). */
  arguments: unknown;
}

export interface ChatMessage {
  role: ChatRole;
  content: string | null;
  toolCalls: ChatToolCall[];
  /** For a TOOL message: the call it answers. */
  toolCallId: string | null;
}

export interface ChatParameters {
  temperature: number | null;
  maxTokens: number | null;
  topP: number | null;
  stop: string[] | null;
  /** Anything else the provider takes, sent under the names given. */
  extra: Record<string, unknown>;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  parameters: ChatParameters;
  /** Tool definitions, OpenAI's format ({type: "function", function: {name, description, parameters}}) or Anthropic's. */
  tools: unknown[] | null;
}

export interface ChatAnswer {
  content: string | null;
  toolCalls: ChatToolCall[];
  inputTokens: number | null;
  outputTokens: number | null;
  finishReason: string | null;
}

/** How to reach one provider: resolved (secrets opened) just before a call, never kept. */
export interface ProviderConnection {
  kind: ModelProviderKind;
  baseUrl: string | null;
  apiKey: string | null;
  headers: Record<string, string>;
  /** The guarded fetch (src/providers/network-policy.ts). */
  fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  timeoutMs: number;
}

/**
 * A provider's client library, set up once for a provider as it is stored (its SDK client holds the
 * key; see ProviderAccess for how long it is kept). One call streams an answer, another lists models.
 */
export class ChatClient {
  private readonly openai: OpenAI | undefined;
  private readonly anthropic: Anthropic | undefined;
  /** The provider's key and header values: taken out of any message a failed call brings back. */
  readonly secrets: string[];

  constructor(connection: ProviderConnection) {
    if (connection.kind === 'ANTHROPIC') this.anthropic = anthropicClient(connection);
    else this.openai = openAIClient(connection);
    this.secrets = [connection.apiKey, ...Object.values(connection.headers)].filter((secret): secret is string => !!secret && secret.length >= 4);
  }

  /** The answer as it arrives: `onDelta` is called with each piece of text. */
  stream(request: ChatRequest, signal: AbortSignal, onDelta: (text: string) => void): Promise<ChatAnswer> {
    return this.anthropic ? streamAnthropic(this.anthropic, request, signal, onDelta) : streamOpenAI(this.openai!, request, signal, onDelta);
  }

  /** The provider's own list of models (GET /models), sorted. */
  async models(signal: AbortSignal): Promise<string[]> {
    const ids: string[] = [];
    const page = this.anthropic ? this.anthropic.models.list({}, { signal }) : this.openai!.models.list({ signal });
    for await (const model of page) {
      ids.push(model.id);
      if (ids.length >= 1000) break; // a list for a picker, not a catalogue
    }
    return ids.sort();
  }
}

/** The default base URL of each kind, as its client library has it. */
export const DEFAULT_BASE_URLS: Record<ModelProviderKind, string> = {
  OPENAI_COMPATIBLE: 'https://api.openai.com/v1',
  ANTHROPIC: 'https://api.anthropic.com',
};

/**
 * Every option is given, so that nothing comes from the server's own environment (OPENAI_API_KEY,
 * OPENAI_BASE_URL, ANTHROPIC_API_KEY ...): a provider is what its record says.
 */
function openAIClient(connection: ProviderConnection): OpenAI {
  return new OpenAI({
    // A keyless server (Ollama) still gets a client; the Authorization header is then left out below.
    apiKey: connection.apiKey ?? 'no-key',
    baseURL: connection.baseUrl ?? DEFAULT_BASE_URLS.OPENAI_COMPATIBLE,
    organization: null,
    project: null,
    adminAPIKey: null,
    webhookSecret: null,
    maxRetries: 0,
    timeout: connection.timeoutMs,
    fetch: connection.fetch,
    defaultHeaders: { ...(connection.apiKey === null ? { authorization: null } : {}), ...connection.headers },
  } as ConstructorParameters<typeof OpenAI>[0]);
}

function anthropicClient(connection: ProviderConnection): Anthropic {
  return new Anthropic({
    // Given, so that no credential chain (environment, profile files) is consulted; the key itself
    // goes in x-api-key, the header every Anthropic-format server reads, instead of the bearer
    // header this SDK version would make of it.
    apiKey: connection.apiKey ?? 'no-key',
    baseURL: connection.baseUrl ?? DEFAULT_BASE_URLS.ANTHROPIC,
    maxRetries: 0,
    timeout: connection.timeoutMs,
    fetch: connection.fetch,
    defaultHeaders: { authorization: null, ...(connection.apiKey !== null ? { 'x-api-key': connection.apiKey } : {}), ...connection.headers },
  } as ConstructorParameters<typeof Anthropic>[0]);
}

/** The request as OpenAI's chat completions API takes it (also how a run's span records its input). */
export function openAIRequestBody(request: ChatRequest): Record<string, unknown> {
  const { temperature, maxTokens, topP, stop, extra } = request.parameters;
  return {
    model: request.model,
    messages: request.messages.map(openAIMessage),
    ...(temperature !== null ? { temperature } : {}),
    ...(maxTokens !== null ? { max_tokens: maxTokens } : {}),
    ...(topP !== null ? { top_p: topP } : {}),
    ...(stop !== null ? { stop } : {}),
    ...(request.tools !== null ? { tools: request.tools } : {}),
    ...extra,
  };
}

function openAIMessage(message: ChatMessage): Record<string, unknown> {
  switch (message.role) {
    case 'SYSTEM':
      return { role: 'system', content: message.content ?? '' };
    case 'USER':
      return { role: 'user', content: message.content ?? '' };
    case 'TOOL':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content ?? '' };
    case 'ASSISTANT':
      return {
        role: 'assistant',
        content: message.content,
        ...(message.toolCalls.length
          ? {
              tool_calls: message.toolCalls.map((call) => ({
                id: call.id,
                type: 'function',
                function: { name: call.name, arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments ?? {}) },
              })),
            }
          : {}),
      };
  }
}

/**
 * What a run sends, as it goes on the wire: the address, the body, and the header the key goes in
 * (what the playground's "View code" shows; the calls below send these bodies).
 */
export function wireRequestOf(provider: { kind: ModelProviderKind; baseUrl: string | null; hasApiKey: boolean }, request: ChatRequest) {
  const base = (provider.baseUrl ?? DEFAULT_BASE_URLS[provider.kind]).replace(/\/+$/, '');
  return provider.kind === 'ANTHROPIC'
    ? { url: `${base}/v1/messages`, body: anthropicStreamBody(request), keyHeader: provider.hasApiKey ? 'x-api-key' : null }
    : { url: `${base}/chat/completions`, body: openAIStreamBody(request), keyHeader: provider.hasApiKey ? 'authorization' : null };
}

function openAIStreamBody(request: ChatRequest) {
  return { ...openAIRequestBody(request), stream: true, stream_options: { include_usage: true } };
}

function anthropicStreamBody(request: ChatRequest) {
  return { ...anthropicRequestBody(request), stream: true };
}

async function streamOpenAI(client: OpenAI, request: ChatRequest, signal: AbortSignal, onDelta: (text: string) => void): Promise<ChatAnswer> {
  const body = openAIStreamBody(request);
  const stream = await client.chat.completions.create(body as unknown as OpenAI.ChatCompletionCreateParamsStreaming, { signal });
  let content: string | null = null;
  let finishReason: string | null = null;
  let usage: { prompt_tokens?: number; completion_tokens?: number } | null = null;
  const calls: { id: string; name: string; arguments: string }[] = [];
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices?.[0];
    if (!choice) continue;
    finishReason = choice.finish_reason ?? finishReason;
    const delta = choice.delta;
    if (delta?.content) {
      content = (content ?? '') + delta.content;
      onDelta(delta.content);
    }
    for (const call of delta?.tool_calls ?? []) {
      // A tool call arrives in pieces, by index: the id and name first, then its arguments' text.
      const slot = (calls[call.index] ??= { id: '', name: '', arguments: '' });
      if (call.id) slot.id = call.id;
      if (call.function?.name) slot.name += call.function.name;
      if (call.function?.arguments) slot.arguments += call.function.arguments;
    }
  }
  // This SDK ends an aborted stream quietly, as if the answer were complete.
  if (signal.aborted) throw signal.reason;
  return {
    content,
    toolCalls: calls.filter(Boolean).map((call) => ({ id: call.id, name: call.name, arguments: parsedArguments(call.arguments) })),
    inputTokens: usage?.prompt_tokens ?? null,
    outputTokens: usage?.completion_tokens ?? null,
    finishReason,
  };
}

/** The request as Anthropic's Messages API takes it: instructions apart, tool results as user turns. */
export function anthropicRequestBody(request: ChatRequest): Record<string, unknown> {
  const { temperature, maxTokens, topP, stop, extra } = request.parameters;
  const system = request.messages.filter((message) => message.role === 'SYSTEM').map((message) => message.content ?? '');
  return {
    model: request.model,
    ...(system.length ? { system: system.join('\n\n') } : {}),
    messages: request.messages.filter((message) => message.role !== 'SYSTEM').map(anthropicMessage),
    // Anthropic requires max_tokens; the playground's own limit stands in when none is given.
    max_tokens: maxTokens,
    ...(temperature !== null ? { temperature } : {}),
    ...(topP !== null ? { top_p: topP } : {}),
    ...(stop !== null ? { stop_sequences: stop } : {}),
    ...(request.tools !== null ? { tools: request.tools.map(anthropicTool) } : {}),
    ...extra,
  };
}

function anthropicMessage(message: ChatMessage): Record<string, unknown> {
  if (message.role === 'TOOL') {
    return { role: 'user', content: [{ type: 'tool_result', tool_use_id: message.toolCallId, content: message.content ?? '' }] };
  }
  if (message.role === 'ASSISTANT' && message.toolCalls.length) {
    return {
      role: 'assistant',
      content: [
        ...(message.content ? [{ type: 'text', text: message.content }] : []),
        ...message.toolCalls.map((call) => ({ type: 'tool_use', id: call.id, name: call.name, input: toolInput(call.arguments) })),
      ],
    };
  }
  return { role: message.role === 'ASSISTANT' ? 'assistant' : 'user', content: message.content ?? '' };
}

/** An OpenAI-format tool definition as Anthropic's ({name, description, input_schema}); Anthropic's own as given. */
function anthropicTool(tool: unknown): unknown {
  const fn = (tool as { type?: unknown; function?: { name?: unknown; description?: unknown; parameters?: unknown } })?.function;
  if ((tool as { type?: unknown })?.type !== 'function' || !fn) return tool;
  return { name: fn.name, ...(fn.description !== undefined ? { description: fn.description } : {}), input_schema: fn.parameters ?? { type: 'object', properties: {} } };
}

async function streamAnthropic(client: Anthropic, request: ChatRequest, signal: AbortSignal, onDelta: (text: string) => void): Promise<ChatAnswer> {
  const stream = client.messages.stream(anthropicRequestBody(request) as unknown as Anthropic.MessageStreamParams, { signal });
  stream.on('text', (text) => onDelta(text));
  const message = await stream.finalMessage();
  const text = message.content.flatMap((block) => (block.type === 'text' ? [block.text] : []));
  return {
    content: text.length ? text.join('') : null,
    toolCalls: message.content.flatMap((block) => (block.type === 'tool_use' ? [{ id: block.id, name: block.name, arguments: block.input }] : [])),
    inputTokens: message.usage?.input_tokens ?? null,
    outputTokens: message.usage?.output_tokens ?? null,
    finishReason: message.stop_reason ?? null,
  };
}

function parsedArguments(text: string): unknown {
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    return text; // as the model wrote it: the playground shows what came back, valid or not
  }
}

/** Anthropic takes a tool call's input as an object; text that is JSON is sent parsed. */
function toolInput(value: unknown): unknown {
  if (typeof value !== 'string') return value ?? {};
  const parsed = parsedArguments(value);
  return typeof parsed === 'object' && parsed !== null ? parsed : { input: value };
}
