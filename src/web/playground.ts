/**
 * The playground's model, apart from drawing it: the API's shapes and operations, the editable
 * conversation and settings, and the run input built from them (checked here, so a run the server
 * would refuse for bad JSON is not sent). The page edits drafts; the server sends exactly what it is
 * given, so "Run from here" is the page cutting the conversation after a message.
 */
import type { MessagePart } from './components/Chat.tsx';

export type Role = 'SYSTEM' | 'USER' | 'ASSISTANT' | 'TOOL';
export const ROLES: readonly Role[] = ['SYSTEM', 'USER', 'ASSISTANT', 'TOOL'];

export type ProviderKind = 'OPENAI_COMPATIBLE' | 'ANTHROPIC';
export const PROVIDER_KINDS: readonly { kind: ProviderKind; label: string; baseUrl: string }[] = [
  { kind: 'OPENAI_COMPATIBLE', label: 'OpenAI-compatible', baseUrl: 'https://api.openai.com/v1' },
  { kind: 'ANTHROPIC', label: 'Anthropic', baseUrl: 'https://api.anthropic.com' },
];

/** `GenerationParameters`: what a generation was run with (stop is in `extra.stop`). */
export interface Parameters {
  temperature: number | null;
  maxTokens: number | null;
  topP: number | null;
  tools: unknown;
  extra: Record<string, unknown> | null;
}

export interface ToolCall {
  id: string | null;
  name: string;
  arguments: unknown;
}

/** A `ConversationMessage` of a trace's (or span's) conversation. */
export interface Turn {
  role: Role;
  content: string | null;
  parts: MessagePart[];
  toolCalls: ToolCall[];
  toolCallId: string | null;
  spanId: string;
  model: string | null;
  parameters: Parameters | null;
}

export interface Conversation {
  retained: boolean;
  reason: string | null;
  messages: Turn[];
}

/** A `ModelProvider`: never its key, only whether it has one. */
export interface Provider {
  id: string;
  name: string;
  kind: ProviderKind;
  baseUrl: string | null;
  models: string[];
  headerNames: string[];
  hasApiKey: boolean;
  createdAt: string;
}

/** A message a run sent or answered (`ConversationMessage`, as much as the playground needs). */
export interface RunMessage {
  role: Role;
  content: string | null;
  toolCalls: ToolCall[];
  toolCallId: string | null;
}

/** A `PlaygroundRun`: a finished run, recorded as a trace of its own. */
export interface Run {
  id: string;
  traceId: string;
  providerId: string | null;
  model: string;
  label: string | null;
  messages: RunMessage[] | null;
  parameters: Parameters | null;
  output: RunMessage | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cost: number | null;
  costSource: string;
  latencyMs: number | null;
  timeToFirstTokenMs: number | null;
  error: string | null;
  sourceTraceId: string | null;
  sourceSpanId: string | null;
  createdAt: string;
}

const PARAMETER_FIELDS = 'parameters { temperature maxTokens topP tools extra }';
const TURN_FIELDS = `role content parts toolCalls { id name arguments } toolCallId spanId model ${PARAMETER_FIELDS}`;
const RUN_MESSAGE_FIELDS = 'role content toolCalls { id name arguments } toolCallId';
export const PROVIDER_FIELDS = 'id name kind baseUrl models headerNames hasApiKey createdAt';
const RUN_FIELDS = `id traceId providerId model label messages { ${RUN_MESSAGE_FIELDS} } ${PARAMETER_FIELDS} output { ${RUN_MESSAGE_FIELDS} }
  inputTokens outputTokens cost costSource latencyMs timeToFirstTokenMs error sourceTraceId sourceSpanId createdAt`;

export const TRACE_CONVERSATION = `query PlaygroundTrace($id: ID!) {
  trace(id: $id) { id name conversation { retained reason messages { ${TURN_FIELDS} } } }
}`;

export const SPAN_CONVERSATION = `query PlaygroundSpan($id: ID!) {
  span(id: $id) { id name traceId trace { id name } conversation { retained reason messages { ${TURN_FIELDS} } } }
}`;

export const PROVIDERS = `query PlaygroundProviders { modelProviders { ${PROVIDER_FIELDS} } }`;

export const CREATE_PROVIDER = `mutation CreateModelProvider($input: CreateModelProviderInput!) { createModelProvider(input: $input) { ${PROVIDER_FIELDS} } }`;

export const DELETE_PROVIDER = `mutation DeleteModelProvider($id: ID!) { deleteModelProvider(id: $id) }`;

export const RUNS = `query PlaygroundRuns($sourceTraceId: ID, $first: Int, $after: String) {
  playgroundRuns(sourceTraceId: $sourceTraceId, first: $first, after: $after) {
    edges { node { ${RUN_FIELDS} } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export interface RunPage {
  edges: { node: Run }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** Tokens as they arrive, then the finished run, then the end (`Subscription.playgroundRun`). */
export const RUN = `subscription PlaygroundRun($input: PlaygroundRunInput!) { playgroundRun(input: $input) { delta run { ${RUN_FIELDS} } } }`;

export interface RunEvent {
  playgroundRun: { delta: string | null; run: Run | null };
}

/** `PlaygroundRequest`: what a run would send, as the server builds it; never the key nor a header's value. */
export interface WireRequest {
  /** The address it is sent to (POST). */
  url: string;
  /** The JSON body, as sent. */
  body: Record<string, unknown>;
  /** `authorization` (as `Bearer <key>`) or `x-api-key`; null when the provider has no key. */
  keyHeader: string | null;
  /** The provider's extra headers, by name. */
  headerNames: string[];
}

/** The request a run input would send, checked as a run is, sent nowhere ("View code"). */
export const WIRE_REQUEST = `query PlaygroundRequest($input: PlaygroundRunInput!) { playgroundRequest(input: $input) { url body keyHeader headerNames } }`;

// ---------------------------------------------------------------------------------------------
// The editable conversation

let lastKey = 0;
/** A key that tells drafts apart while they move (Preact's `key`, and the variant a run belongs to). */
export function newKey(): number {
  return ++lastKey;
}

export interface DraftToolCall {
  key: number;
  id: string;
  name: string;
  /** The arguments as JSON text, as the user edits them. */
  arguments: string;
}

export interface DraftMessage {
  key: number;
  role: Role;
  content: string;
  /** The calls an ASSISTANT message makes. */
  toolCalls: DraftToolCall[];
  /** The call a TOOL message answers. */
  toolCallId: string;
  /** The generation span of the source trace this message came from; null once it is not the source's. */
  sourceSpanId: string | null;
  /** Part types the recorded message had that only text can stand for here (images, other). */
  dropped: string[];
}

export function draftMessage(role: Role, content = ''): DraftMessage {
  return { key: newKey(), role, content, toolCalls: [], toolCallId: '', sourceSpanId: null, dropped: [] };
}

export function draftToolCall(): DraftToolCall {
  return { key: newKey(), id: `call_${Math.random().toString(36).slice(2, 10)}`, name: '', arguments: '{}' };
}

function argumentsText(value: unknown): string {
  if (value === null || value === undefined) return '{}';
  if (typeof value === 'string') return value;
  return JSON.stringify(value, null, 2);
}

/** A recorded message (of a conversation, or a run's) as a draft; `sourceSpanId` only for the source's own. */
export function draftOf(message: RunMessage & { parts?: MessagePart[] }, sourceSpanId: string | null = null): DraftMessage {
  const dropped = [...new Set((message.parts ?? []).flatMap((part) => (part.type === 'image' || part.type === 'other' ? [part.type] : [])))];
  return {
    key: newKey(),
    role: message.role,
    content: message.content ?? '',
    toolCalls: message.toolCalls.map((call) => ({ key: newKey(), id: call.id ?? '', name: call.name, arguments: argumentsText(call.arguments) })),
    toolCallId: message.toolCallId ?? '',
    sourceSpanId,
    dropped,
  };
}

/** The calls made before message `index`, that a TOOL message there may answer. */
export function callsBefore(messages: readonly DraftMessage[], index: number): DraftToolCall[] {
  return messages.slice(0, index).flatMap((message) => (message.role === 'ASSISTANT' ? message.toolCalls : []));
}

// ---------------------------------------------------------------------------------------------
// Settings

/** A variant's settings as the side panel edits them: text, checked when a run is built. */
export interface Settings {
  providerId: string;
  model: string;
  temperature: string;
  maxTokens: string;
  topP: string;
  /** One stop sequence a line. */
  stop: string;
  /** Tool definitions as JSON text (an array), or empty. */
  tools: string;
  /** Other request parameters as a JSON object, or empty. */
  extra: string;
}

export interface Variant {
  key: number;
  /** A, B, C or D: how the columns and the history tell variants apart. */
  name: string;
  settings: Settings;
}

const VARIANT_NAMES = ['A', 'B', 'C', 'D'];
export const MAX_VARIANTS = VARIANT_NAMES.length;

export function variantOf(settings: Settings, taken: readonly Variant[] = []): Variant {
  const name = VARIANT_NAMES.find((candidate) => !taken.some((variant) => variant.name === candidate)) ?? String(taken.length + 1);
  return { key: newKey(), name, settings };
}

/** Parameters the server sets itself (streaming), or that have their own field (stop): not "other". */
const NOT_EXTRA = new Set(['stop', 'stream', 'stream_options']);

/** The provider for `model`: the first that lists it, else the first there is. */
export function providerFor(model: string | null, providers: readonly Provider[]): Provider | undefined {
  return (model ? providers.find((provider) => provider.models.includes(model)) : undefined) ?? providers[0];
}

/** Settings prefilled from a recorded generation: its model, its parameters, and a provider that can run it. */
export function settingsOf(model: string | null, parameters: Parameters | null, providers: readonly Provider[], providerId?: string | null): Settings {
  const provider = (providerId ? providers.find((candidate) => candidate.id === providerId) : undefined) ?? providerFor(model, providers);
  const extra = { ...(parameters?.extra ?? {}) };
  const stop = extra.stop;
  for (const name of NOT_EXTRA) delete extra[name];
  return {
    providerId: provider?.id ?? '',
    model: model ?? provider?.models[0] ?? '',
    temperature: parameters?.temperature != null ? String(parameters.temperature) : '',
    maxTokens: parameters?.maxTokens != null ? String(parameters.maxTokens) : '',
    topP: parameters?.topP != null ? String(parameters.topP) : '',
    stop: Array.isArray(stop) ? stop.filter((item) => typeof item === 'string').join('\n') : typeof stop === 'string' ? stop : '',
    tools: parameters?.tools != null ? JSON.stringify(parameters.tools, null, 2) : '',
    extra: Object.keys(extra).length > 0 ? JSON.stringify(extra, null, 2) : '',
  };
}

/** The recorded generation a conversation was last run with: the last message with parameters, else with a model. */
export function recordedGeneration(turns: readonly Turn[]): { model: string | null; parameters: Parameters | null } {
  const withParameters = [...turns].reverse().find((turn) => turn.parameters !== null);
  if (withParameters) return { model: withParameters.model, parameters: withParameters.parameters };
  return { model: [...turns].reverse().find((turn) => turn.model !== null)?.model ?? null, parameters: null };
}

// ---------------------------------------------------------------------------------------------
// The run input

export interface ToolCallInput {
  id: string;
  name: string;
  arguments: unknown;
}

export interface MessageInput {
  role: Role;
  content: string | null;
  toolCalls?: ToolCallInput[];
  toolCallId?: string;
}

/** `PlaygroundRunInput`, as the page sends it. */
export interface RunInput {
  providerId: string;
  model: string;
  messages: MessageInput[];
  parameters: { temperature?: number; maxTokens?: number; topP?: number; stop?: string[]; extra?: Record<string, unknown> };
  tools?: unknown[];
  sourceTraceId?: string;
  sourceSpanId?: string;
  label?: string;
}

/** Where a run comes from: the trace (and span) the playground was opened on, when it exists. */
export interface RunSource {
  traceId?: string;
  spanId?: string;
}

/** What keeps a JSON field from being sent, in words; undefined when it is fine (or empty). */
export function jsonProblem(text: string, shape: 'array' | 'object' | 'any'): string | undefined {
  if (!text.trim()) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `not JSON: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (shape === 'array' && !Array.isArray(value)) return 'a JSON array of tool definitions is expected';
  if (shape === 'object' && (typeof value !== 'object' || value === null || Array.isArray(value))) return 'a JSON object is expected';
  return undefined;
}

function numberProblem(label: string, text: string, integer: boolean): string | undefined {
  if (!text.trim()) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) return `${label} is not a number`;
  if (integer && (!Number.isInteger(value) || value < 1)) return `${label} must be a whole number above 0`;
  return undefined;
}

/** What keeps these settings from running, one sentence each; empty when they can run. */
export function settingsProblems(settings: Settings): string[] {
  const problems: string[] = [];
  if (!settings.providerId) problems.push('Choose a model provider.');
  if (!settings.model.trim()) problems.push('Name a model.');
  for (const problem of [
    numberProblem('Temperature', settings.temperature, false),
    numberProblem('Max tokens', settings.maxTokens, true),
    numberProblem('Top p', settings.topP, false),
  ]) {
    if (problem) problems.push(`${problem}.`);
  }
  const tools = jsonProblem(settings.tools, 'array');
  if (tools) problems.push(`Tools: ${tools}.`);
  const extra = jsonProblem(settings.extra, 'object');
  if (extra) problems.push(`Other parameters: ${extra}.`);
  return problems;
}

/** What keeps these messages from being sent, one sentence each; empty when they can be. */
export function messageProblems(messages: readonly DraftMessage[]): string[] {
  const problems: string[] = [];
  if (messages.length === 0) problems.push('Add a message to run.');
  messages.forEach((message, index) => {
    const n = index + 1;
    if (message.role === 'ASSISTANT') {
      for (const call of message.toolCalls) {
        if (!call.id.trim() || !call.name.trim()) problems.push(`Message ${n}: a tool call needs an id and a tool name.`);
        const args = jsonProblem(call.arguments, 'any');
        if (args) problems.push(`Message ${n}: the arguments of ${call.name || 'a tool call'} are ${args}.`);
      }
    }
    if (message.role === 'TOOL' && !message.toolCallId.trim()) problems.push(`Message ${n} (tool) must name the call it answers.`);
  });
  return problems;
}

function messageInputOf(message: DraftMessage): MessageInput {
  const calls = message.role === 'ASSISTANT' ? message.toolCalls : [];
  const input: MessageInput = {
    role: message.role,
    // An assistant turn that only calls tools has no text, which providers want as null, not "".
    content: message.content === '' && calls.length > 0 ? null : message.content,
  };
  if (calls.length > 0) {
    input.toolCalls = calls.map((call) => ({ id: call.id.trim(), name: call.name.trim(), arguments: call.arguments.trim() ? JSON.parse(call.arguments) : {} }));
  }
  if (message.role === 'TOOL') input.toolCallId = message.toolCallId.trim();
  return input;
}

/**
 * The run input for `messages` under `settings`, or what keeps it from running. The source span is
 * the one the playground was opened on, else the generation the last message sent came from.
 */
export function runInputOf(
  messages: readonly DraftMessage[],
  settings: Settings,
  source: RunSource,
  label?: string,
): { input: RunInput; problems?: undefined } | { problems: string[] } {
  const problems = [...messageProblems(messages), ...settingsProblems(settings)];
  if (problems.length > 0) return { problems };
  const parameters: RunInput['parameters'] = {};
  if (settings.temperature.trim()) parameters.temperature = Number(settings.temperature);
  if (settings.maxTokens.trim()) parameters.maxTokens = Number(settings.maxTokens);
  if (settings.topP.trim()) parameters.topP = Number(settings.topP);
  const stop = settings.stop.split('\n').filter((line) => line !== '');
  if (stop.length > 0) parameters.stop = stop;
  if (settings.extra.trim()) parameters.extra = JSON.parse(settings.extra) as Record<string, unknown>;
  const input: RunInput = { providerId: settings.providerId, model: settings.model.trim(), messages: messages.map(messageInputOf), parameters };
  if (settings.tools.trim()) input.tools = JSON.parse(settings.tools) as unknown[];
  if (source.traceId) {
    input.sourceTraceId = source.traceId;
    const spanId = source.spanId ?? [...messages].reverse().find((message) => message.sourceSpanId)?.sourceSpanId;
    if (spanId) input.sourceSpanId = spanId;
  }
  if (label) input.label = label;
  return { input };
}

/** An answer as a draft message, to go on with the conversation. */
export function draftOfAnswer(output: RunMessage | null, text: string): DraftMessage {
  return output ? draftOf({ ...output, role: 'ASSISTANT' }) : draftMessage('ASSISTANT', text);
}

// ---------------------------------------------------------------------------------------------
// Runs as the page follows them

/** A variant's latest run: streaming, finished, failed, stopped, or refused before it was sent. */
export interface RunState {
  status: 'running' | 'done' | 'failed' | 'stopped';
  /** The answer's text so far (the finished run's output once it is done). */
  text: string;
  run?: Run;
  error?: string;
  /** The run's own trace when the provider failed (it is recorded with the error). */
  errorTraceId?: string;
  /** What kept it from being sent. */
  problems?: string[];
  startedAt: number;
  endedAt?: number;
  /** How many messages were sent (all, or up to the one "Run from here" was on). */
  sent: number;
  model: string;
  providerName?: string;
}

/** A variant's settings in a few words: `gpt-4o · temperature 0.2 · max 256`. */
export function settingsSummary(settings: Settings): string {
  return [
    settings.model || 'no model',
    settings.temperature.trim() && `temperature ${settings.temperature.trim()}`,
    settings.maxTokens.trim() && `max ${settings.maxTokens.trim()}`,
    settings.topP.trim() && `top p ${settings.topP.trim()}`,
    settings.tools.trim() && 'tools',
  ]
    .filter(Boolean)
    .join(' · ');
}
