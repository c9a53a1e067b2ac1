/**
 * The conversation of a trace, rebuilt from its generation spans as an LLM playground needs it
 * ("Open in playground", "run from here"). Pure: the caller reads the spans, this decides.
 *
 * A generation records the whole history it was sent, so a trace's generations cannot simply be
 * concatenated: each repeats what the ones before it said. Every generation's messages (instructions,
 * input, output) are normalized from whichever SDK recorded them (OpenAI, Anthropic, OpenTelemetry
 * GenAI, LangChain, plain text) into one shape, so the reply one generation recorded as its output
 * is recognized in the next generation's input, and only what each generation adds is kept.
 */
import { canonicalJson } from '../canonical-json.js';

/** The columns of a span this module reads. Only GENERATION spans contribute messages. */
export interface ConversationSpan {
  id: string;
  parentId: string | null;
  /** GENERATION, TOOL, AGENT, ... (see SPAN_TYPES). */
  type: string;
  name: string;
  startTime: Date;
  model: string | null;
  input: unknown;
  output: unknown;
  /** The system instructions: plain text, or the JSON text of GenAI parts. */
  instructions: string | null;
  meta: Record<string, unknown> | null;
  /** False when the project's retention rule erased (or never stored) the span's content. */
  retained: boolean;
}

/** Who speaks a message. A DEVELOPER message counts as SYSTEM; a legacy `function` message as TOOL. */
export type ConversationRole = 'SYSTEM' | 'USER' | 'ASSISTANT' | 'TOOL';

/** A call the assistant asked the application to make. */
export interface ToolCall {
  id: string | null;
  name: string;
  /** Parsed JSON when the arguments were recorded as JSON text; otherwise as recorded. */
  arguments: unknown;
}

/** The request parameters of one generation, as a playground would send them again. */
export interface GenerationParameters {
  temperature: number | null;
  maxTokens: number | null;
  topP: number | null;
  /** Tool definitions as the request (or its attributes) held them. */
  tools: unknown[] | null;
  /** Other request parameters found (seed, stop, response_format, ...), under their recorded names. */
  extra: Record<string, unknown>;
}

/**
 * One piece of a message, whatever format recorded it. `other` keeps what no case here recognizes,
 * as recorded, so nothing is lost on the way to the playground.
 */
export type ConversationPart =
  | { type: 'text'; text: string }
  /** `url` may be a data: URL; `data` is base64 when the image was sent inline. */
  | { type: 'image'; url: string | null; mediaType: string | null; data: string | null }
  | { type: 'tool_call'; id: string | null; name: string; arguments: unknown }
  /** What a tool returned: `content` holds its text (JSON results as JSON text) and any images. */
  | { type: 'tool_result'; toolCallId: string | null; name: string | null; content: ConversationPart[]; isError: boolean }
  /** A model's visible reasoning; `signature` is Anthropic's, needed to send thinking back. */
  | { type: 'reasoning'; text: string; signature: string | null }
  | { type: 'other'; value: unknown };

/** One message of the rebuilt conversation, with the generation where it first appeared. */
export interface ConversationMessage {
  role: ConversationRole;
  /** The text parts joined with "\n" (a TOOL message's: its result's); null when there is no text. */
  content: string | null;
  parts: ConversationPart[];
  toolCalls: ToolCall[];
  /** For TOOL messages: the call it answers. */
  toolCallId: string | null;
  /** The generation span where this message first appeared. */
  spanId: string;
  /** The model of that generation. */
  model: string | null;
  /** That generation's request parameters; null when none were recorded. */
  parameters: GenerationParameters | null;
}

/**
 * A trace's conversation. When a contributing generation's content was not kept, there are no
 * messages and `reason` says which span: a partial conversation would replay as a different one.
 */
export interface Conversation {
  retained: boolean;
  /** Why there are no messages; null when there are. */
  reason: string | null;
  messages: ConversationMessage[];
}

/**
 * The conversation of a trace's generation spans (given in any order), or of those up to
 * `upToSpanId`: that generation included, or, for any other span, the generations that started
 * before it.
 */
export function conversationOf(spans: readonly ConversationSpan[], upToSpanId?: string): Conversation {
  let generations = spans.filter((span) => span.type === 'GENERATION').sort(inStartOrder);
  if (upToSpanId !== undefined) {
    const limit = spans.find((span) => span.id === upToSpanId);
    if (!limit) return { retained: true, reason: `Span ${upToSpanId} is not in this trace.`, messages: [] };
    // The limit itself is in the list only when it is a generation, so "up to and including" and
    // "started before" are the same comparison.
    generations = generations.filter((span) => inStartOrder(span, limit) <= 0);
  }
  if (generations.length === 0) {
    const where = upToSpanId === undefined ? 'in this trace' : `before span ${upToSpanId}`;
    return { retained: true, reason: `There are no generation spans ${where} to rebuild a conversation from.`, messages: [] };
  }
  const erased = generations.find((span) => !span.retained);
  if (erased) {
    return {
      retained: false,
      reason: `The content of generation span ${erased.id} was not kept under the project's retention rule, so its conversation cannot be rebuilt.`,
      messages: [],
    };
  }
  return { retained: true, reason: null, messages: mergedHistories(generations.map(recordedGeneration)) };
}

/**
 * What a person reads first of a span's input or output in a list of traces: the last user message
 * of a chat input (the question, not the system prompt before it), the last assistant message of a
 * chat output. Null when the value is plain text or not a chat, or that message has no text: the
 * value itself is shown then.
 */
export function headlineOf(value: unknown, side: 'input' | 'output'): string | null {
  const decoded = decodedTranscript(value);
  if (typeof decoded === 'string') return null;
  const drafts = side === 'input' ? inputMessagesOf(decoded) : outputMessagesOf(decoded);
  const role: ConversationRole = side === 'input' ? 'USER' : 'ASSISTANT';
  for (let index = drafts.length - 1; index >= 0; index--) {
    if (drafts[index]!.role !== role) continue;
    const text = textOf(drafts[index]!.parts);
    if (text) return text;
  }
  return null;
}

/** The columns of a span its own messages are decoded from. */
export type SpanContent = Pick<ConversationSpan, 'id' | 'model' | 'input' | 'output' | 'instructions' | 'meta'>;

/** One span's own content as messages: what the span detail shows, told as the conversation tells it. */
export interface SpanMessages {
  /** The instructions as one SYSTEM message; null when there are none (or they were not kept). */
  instructions: ConversationMessage | null;
  /** The input as messages; null when it is not a chat (text, other JSON) or was not kept. */
  input: ConversationMessage[] | null;
  /** The output as messages; null when it is not a chat or was not kept. */
  output: ConversationMessage[] | null;
  /** The request parameters recorded in the input or the meta (the meta's outlive the content). */
  parameters: GenerationParameters | null;
}

/**
 * A span's instructions, input and output decoded as `conversationOf` decodes a generation's, each
 * on its own and as recorded (nothing merged or left out), every message told by this span. Text and
 * values that are not a chat are left to be shown as they are.
 */
export function spanMessagesOf(span: SpanContent): SpanMessages {
  const input = decodedTranscript(span.input);
  const output = decodedTranscript(span.output);
  const source = sourceOf(span, input, output);
  const instructions = instructionsOf(span.instructions);
  return {
    instructions: instructions && messageOf(instructions, source),
    input: isTranscript(input) ? inputMessagesOf(input).map((draft) => messageOf(draft, source)) : null,
    output: isTranscript(output) ? outputMessagesOf(output).map((draft) => messageOf(draft, source)) : null,
    parameters: source.parameters,
  };
}

function inStartOrder(a: ConversationSpan, b: ConversationSpan): number {
  return a.startTime.getTime() - b.startTime.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

// ---------------------------------------------------------------------------------------------
// Merging histories

/** A message before it is placed: role and parts, and the key it is compared by. */
interface Draft {
  role: ConversationRole;
  parts: ConversationPart[];
}

/** Where a message was told: its span, that span's model and request parameters. */
interface MessageSource {
  spanId: string;
  model: string | null;
  parameters: GenerationParameters | null;
}

interface RecordedGeneration extends MessageSource {
  messages: Draft[];
  keys: string[];
}

/**
 * The conversation of generations in start order. Each generation's messages are aligned with a
 * history an earlier generation saw (the generation's own list of transcript positions): the
 * longest common prefix, then, past it, the longest tail of that history the generation's messages
 * go on with (a history cut to a window). What does not align is new and appended. Matching by
 * position, never by "seen anywhere", is what keeps a second "yes" from a user.
 */
function mergedHistories(generations: readonly RecordedGeneration[]): ConversationMessage[] {
  const messages: ConversationMessage[] = [];
  const keys: string[] = [];
  // Histories that are a prefix of a later one are dropped: an agent loop keeps one.
  let histories: number[][] = [];
  for (const generation of generations) {
    const history = alignedPrefix(histories, keys, generation.keys);
    for (let i = history.length; i < generation.messages.length; i++) {
      const draft = generation.messages[i]!;
      const key = generation.keys[i]!;
      // A sub-agent started afresh often shares its parent's system prompt: one copy is enough.
      if (draft.role === 'SYSTEM' && history.every((index) => messages[index]!.role === 'SYSTEM')) {
        const earlier = keys.findIndex((k, index) => k === key && !history.includes(index));
        if (earlier >= 0) {
          history.push(earlier);
          continue;
        }
      }
      history.push(messages.length);
      keys.push(key);
      messages.push(messageOf(draft, generation));
    }
    histories = histories.filter((earlier) => !isPrefixOf(earlier, history));
    histories.push(history);
  }
  return messages;
}

/** The transcript positions of the longest run of `next` that an earlier history explains. */
function alignedPrefix(histories: readonly number[][], keys: readonly string[], next: readonly string[]): number[] {
  let best: number[] = [];
  // Latest first, so that of equal alignments the most recent history wins.
  for (let h = histories.length - 1; h >= 0; h--) {
    const history = histories[h]!;
    let common = 0;
    while (common < history.length && common < next.length && keys[history[common]!] === next[common]) common++;
    let aligned = history.slice(0, common);
    if (common < history.length && common < next.length) {
      // The earliest start wins: it is the longest overlap with the history's end.
      for (let from = common; from < history.length; from++) {
        const overlap = history.length - from;
        if (overlap > next.length - common) continue;
        let same = true;
        for (let j = 0; j < overlap && same; j++) same = keys[history[from + j]!] === next[common + j];
        if (same) {
          aligned = aligned.concat(history.slice(from));
          break;
        }
      }
    }
    if (aligned.length > best.length) best = aligned;
  }
  return best;
}

function isPrefixOf(shorter: readonly number[], longer: readonly number[]): boolean {
  return shorter.length <= longer.length && shorter.every((index, i) => longer[i] === index);
}

function messageOf(draft: Draft, generation: MessageSource): ConversationMessage {
  return {
    role: draft.role,
    content: textOf(draft.parts),
    parts: draft.parts,
    toolCalls: draft.parts.flatMap((part) =>
      part.type === 'tool_call' ? [{ id: part.id, name: part.name, arguments: part.arguments }] : [],
    ),
    toolCallId: answeredCallOf(draft.parts),
    spanId: generation.spanId,
    model: generation.model,
    parameters: generation.parameters,
  };
}

function textOf(parts: readonly ConversationPart[]): string | null {
  const texts: string[] = [];
  for (const part of parts) {
    if (part.type === 'text') texts.push(part.text);
    else if (part.type === 'tool_result') {
      const result = textOf(part.content);
      if (result !== null) texts.push(result);
    }
  }
  return texts.length > 0 ? texts.join('\n') : null;
}

function answeredCallOf(parts: readonly ConversationPart[]): string | null {
  for (const part of parts) if (part.type === 'tool_result') return part.toolCallId;
  return null;
}

/**
 * What two recordings of one message share, whatever format each came in: role, text (whitespace
 * folded), tool calls with canonical arguments, the call answered, and a digest of images and
 * unrecognized parts (without it, two different unrecognized inputs would be one message).
 * Reasoning is left out: APIs drop it from the history they are sent back.
 */
function keyOf(draft: Draft): string {
  const text = (textOf(draft.parts) ?? '').replace(/\s+/g, ' ').trim();
  const calls = draft.parts.flatMap((part) =>
    part.type === 'tool_call' ? [[part.id, part.name, canonicalArguments(part.arguments)]] : [],
  );
  return JSON.stringify([draft.role, text, calls, answeredCallOf(draft.parts), attachmentsOf(draft.parts)]);
}

function canonicalArguments(value: unknown): string {
  if (typeof value === 'string') {
    const parsed = parsedJson(value);
    if (parsed !== undefined) return canonicalJson(parsed);
    // An empty argument string is how some SDKs record a call without arguments.
    return value.trim() === '' ? '{}' : value.trim();
  }
  return value === null || value === undefined ? '{}' : canonicalJson(value);
}

function attachmentsOf(parts: readonly ConversationPart[]): string[] {
  return parts.flatMap((part): string[] => {
    if (part.type === 'image') return [part.url ?? `${part.mediaType}:${digest(part.data ?? '')}`];
    if (part.type === 'other') return [digest(canonicalJson(part.value))];
    if (part.type === 'tool_result') return attachmentsOf(part.content);
    return [];
  });
}

/** FNV-1a: a short stand-in for long inline data in keys, not a security measure. */
function digest(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return `${text.length}:${(hash >>> 0).toString(16)}`;
}

// ---------------------------------------------------------------------------------------------
// One generation

function recordedGeneration(span: ConversationSpan): RecordedGeneration {
  const input = decodedTranscript(span.input);
  const output = decodedTranscript(span.output);
  const given = inputMessagesOf(input);
  const instructions = instructionsOf(span.instructions);
  const history =
    instructions && !given.some((draft) => draft.role === 'SYSTEM' && keyOf(draft) === keyOf(instructions))
      ? [instructions, ...given]
      : given;
  const messages = [...history, ...withoutRepeatedHistory(outputMessagesOf(output), history, given)];
  return { ...sourceOf(span, input, output), messages, keys: messages.map(keyOf) };
}

/** The span, model and request parameters its messages are told with. */
function sourceOf(span: SpanContent, input: unknown, output: unknown): MessageSource {
  const body = requestBodyOf(input);
  return {
    spanId: span.id,
    model: span.model ?? str(body?.model) ?? modelInMeta(span.meta) ?? (isRecord(output) ? str(output.model) : null),
    parameters: parametersOf(body, span.meta),
  };
}

/**
 * Whether a decoded input or output is a chat (messages, content blocks, or a request or response
 * body holding them), rather than text or some other value: only a chat is told as messages.
 */
function isTranscript(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0 && value.every(isTranscriptItem);
  if (!isRecord(value)) return false;
  if (isMessage(value) || Array.isArray(value.choices) || Array.isArray(value.generations)) return true;
  const history = historyOf(value) ?? (Array.isArray(value.output) ? value.output : null);
  if (history) return isTranscript(history);
  return requestBodyOf(value) !== null && typeof value.prompt === 'string';
}

function isTranscriptItem(item: unknown): boolean {
  if (Array.isArray(item)) return item.length === 2 && roleOf(item[0]) !== null;
  return isRecord(item) && (isMessage(item) || BLOCK_TYPES.has(item.type as string) || ASSISTANT_ITEMS.has(item.type as string));
}

/** A message by a role this module knows: `{role: "admin", q}` is a tool's argument, not a message. */
function isMessage(value: Record<string, unknown>): boolean {
  return roleOf(value.role) !== null || (value.role === undefined && isMessageLike(value));
}

/** An output that restates its whole input (a LangGraph state `{messages}`) adds only what follows it. */
function withoutRepeatedHistory(output: Draft[], history: readonly Draft[], given: readonly Draft[]): Draft[] {
  for (const before of [history, given]) {
    if (before.length === 0 || output.length < before.length) continue;
    if (before.every((draft, i) => keyOf(draft) === keyOf(output[i]!))) return output.slice(before.length);
  }
  return output;
}

/** The instructions column: plain text, or the JSON text of GenAI system instruction parts. */
function instructionsOf(instructions: string | null): Draft | null {
  if (instructions === null || instructions.trim() === '') return null;
  const parsed = /^\s*[[{]/.test(instructions) ? parsedJson(instructions) : undefined;
  const parts = parsed === undefined ? [textPart(instructions)] : partsOfContent(parsed);
  return parts.length > 0 ? { role: 'SYSTEM', parts } : null;
}

/**
 * Some instrumentations store a transcript as JSON text. It is read as one only when it parses to
 * messages or a request or response body: a user who pastes other JSON still said text.
 */
function decodedTranscript(value: unknown): unknown {
  if (typeof value !== 'string' || !/^\s*[[{]/.test(value)) return value;
  const parsed = parsedJson(value);
  if (Array.isArray(parsed) && parsed.length > 0 && parsed.every(isMessageLike)) return parsed;
  if (isRecord(parsed) && (isMessageLike(parsed) || Array.isArray(parsed.messages) || Array.isArray(parsed.choices))) {
    return parsed;
  }
  return value;
}

function inputMessagesOf(input: unknown): Draft[] {
  if (input === null || input === undefined) return [];
  if (typeof input === 'string') return input === '' ? [] : [{ role: 'USER', parts: [textPart(input)] }];
  if (Array.isArray(input)) return messagesOfList(input, 'USER');
  if (!isRecord(input)) return [otherMessage('USER', input)];
  if (isMessageLike(input)) return messagesOfMessage(input, 'USER');
  const system = [...systemMessagesOf(input.system), ...systemMessagesOf(input.instructions)];
  const history = historyOf(input);
  if (history) return [...system, ...messagesOfList(history, 'USER')];
  const prompt = str(input.prompt) ?? (requestBodyOf(input) ? str(input.input) : null);
  if (prompt !== null) return [...system, ...inputMessagesOf(prompt)];
  const only = soleTextOf(input, ['text', 'content', 'input', 'prompt']);
  if (only !== undefined) return messagesOfMessage({ content: only }, 'USER');
  return [otherMessage('USER', input)];
}

function outputMessagesOf(output: unknown): Draft[] {
  if (output === null || output === undefined) return [];
  if (typeof output === 'string') return output === '' ? [] : [{ role: 'ASSISTANT', parts: [textPart(output)] }];
  if (Array.isArray(output)) return messagesOfList(output, 'ASSISTANT');
  if (!isRecord(output)) return [otherMessage('ASSISTANT', output)];
  // Only the first choice: the others are alternatives the application did not go on with.
  if (Array.isArray(output.choices)) return choiceMessagesOf(output.choices[0]);
  if (Array.isArray(output.generations)) {
    const first: unknown = output.generations[0];
    return choiceMessagesOf(Array.isArray(first) ? first[0] : first);
  }
  if (isMessageLike(output)) return messagesOfMessage(output, 'ASSISTANT');
  const history = historyOf(output) ?? (Array.isArray(output.output) ? output.output : null);
  if (history) return messagesOfList(history, 'ASSISTANT');
  const only = soleTextOf(output, ['text', 'content', 'output', 'completion']);
  if (only !== undefined) return messagesOfMessage({ content: only }, 'ASSISTANT');
  return [otherMessage('ASSISTANT', output)];
}

/** An OpenAI choice `{message}` or `{text}`, or a LangChain generation `{message, text}`. */
function choiceMessagesOf(choice: unknown): Draft[] {
  if (choice === undefined) return [];
  if (isRecord(choice)) {
    if (isRecord(choice.message)) return messagesOfMessage(choice.message, 'ASSISTANT');
    if (typeof choice.text === 'string') return outputMessagesOf(choice.text);
  }
  return [otherMessage('ASSISTANT', choice)];
}

function historyOf(body: Record<string, unknown>): unknown[] | null {
  if (Array.isArray(body.messages)) return body.messages;
  if (Array.isArray(body.contents)) return body.contents;
  if (Array.isArray(body.input)) return body.input;
  return null;
}

/** `{text: "..."}` and the like: recognized only when nothing else is there to be lost. */
function soleTextOf(object: Record<string, unknown>, names: readonly string[]): unknown {
  const keys = Object.keys(object);
  if (keys.length !== 1 || !names.includes(keys[0]!)) return undefined;
  const value = object[keys[0]!];
  if (typeof value === 'string' || (keys[0] === 'content' && Array.isArray(value))) return value;
  return undefined;
}

function systemMessagesOf(system: unknown): Draft[] {
  if (typeof system !== 'string' && !Array.isArray(system)) return [];
  const parts = partsOfContent(system);
  return parts.length > 0 ? [{ role: 'SYSTEM', parts }] : [];
}

/** Responses API items that make up one assistant turn when they follow each other. */
const ASSISTANT_ITEMS = new Set(['message', 'function_call', 'reasoning']);
/** Content blocks that may stand in a list on their own, as one message's content. */
const BLOCK_TYPES = new Set([
  'text', 'input_text', 'output_text', 'refusal', 'image_url', 'input_image', 'image', 'blob', 'uri', 'file',
  'tool_use', 'tool_call', 'tool_result', 'tool_call_response', 'function_call_output', 'thinking', 'redacted_thinking',
]);

function messagesOfList(items: readonly unknown[], fallback: ConversationRole): Draft[] {
  const drafts: Draft[] = [];
  let blocks: ConversationPart[] = [];
  // The assistant turn Responses API items (reasoning, message, function calls) are adding to.
  let turn: Draft | null = null;
  const flushBlocks = () => {
    if (blocks.length > 0) drafts.push(...splitToolResults(fallback, blocks, null, null));
    blocks = [];
  };
  for (const item of items) {
    if (isRecord(item) && ASSISTANT_ITEMS.has(item.type as string) && (item.role ?? 'assistant') === 'assistant') {
      flushBlocks();
      const parts = item.type === 'message' ? messagesOfMessage(item, 'ASSISTANT').flatMap((d) => d.parts) : partsOfBlock(item);
      if (turn) turn.parts.push(...parts);
      else drafts.push((turn = { role: 'ASSISTANT', parts }));
      continue;
    }
    turn = null;
    if (isRecord(item) && !isMessageLike(item) && BLOCK_TYPES.has(item.type as string)) {
      blocks.push(...partsOfBlock(item));
      continue;
    }
    flushBlocks();
    if (typeof item === 'string') drafts.push({ role: fallback, parts: item === '' ? [] : [textPart(item)] });
    else if (isRecord(item) && isMessageLike(item)) drafts.push(...messagesOfMessage(item, fallback));
    else if (Array.isArray(item) && item.length === 2 && roleOf(item[0]) !== null) {
      // LangChain's ("human", "text") tuples.
      drafts.push(...messagesOfMessage({ role: item[0], content: item[1] }, fallback));
    } else drafts.push(otherMessage(fallback, item));
  }
  flushBlocks();
  return drafts;
}

function isMessageLike(value: unknown): boolean {
  if (!isRecord(value)) return false;
  return typeof value.role === 'string' || roleOf(value.type) !== null || isSerializedLangChain(value);
}

/** LangChain's `dumpd` form: `{lc: 1, type: 'constructor', id: [..., 'HumanMessage'], kwargs}`. */
function isSerializedLangChain(value: Record<string, unknown>): boolean {
  return value.lc !== undefined && Array.isArray(value.id) && isRecord(value.kwargs);
}

function roleOf(name: unknown): ConversationRole | null {
  if (typeof name !== 'string') return null;
  // LangChain class names and types: HumanMessage, AIMessageChunk, ai, human.
  switch (name.toLowerCase().replace(/(message)?(chunk)?$/, '')) {
    case 'system':
    case 'developer':
      return 'SYSTEM';
    case 'user':
    case 'human':
      return 'USER';
    case 'assistant':
    case 'ai':
    case 'model':
      return 'ASSISTANT';
    case 'tool':
    case 'function':
      return 'TOOL';
    default:
      return null;
  }
}

/**
 * One recorded message, which may become several: results of tool calls are TOOL messages of their
 * own (Anthropic and GenAI put them in a user or tool message's content), the rest stays in order.
 */
function messagesOfMessage(recorded: Record<string, unknown>, fallback: ConversationRole): Draft[] {
  let message = recorded;
  let role: ConversationRole | null = null;
  if (isSerializedLangChain(recorded)) {
    role = roleOf((recorded.id as unknown[]).at(-1));
    message = recorded.kwargs as Record<string, unknown>;
  } else if (isRecord(recorded.data) && recorded.content === undefined && roleOf(recorded.type) !== null) {
    // LangChain's messages_to_dict form: {type: 'human', data: {content, ...}}.
    role = roleOf(recorded.type);
    message = recorded.data;
  }
  role ??= roleOf(message.role) ?? roleOf(message.type) ?? fallback;
  const parts = Array.isArray(message.parts) ? message.parts.flatMap(partsOfBlock) : partsOfContent(message.content);
  if (typeof message.refusal === 'string' && message.refusal !== '' && !parts.some((part) => part.type === 'text')) {
    parts.push(textPart(message.refusal));
  }
  parts.push(...toolCallPartsOf(message, parts));
  return splitToolResults(role, parts, str(message.tool_call_id) ?? str(message.toolCallId), str(message.name));
}

/**
 * OpenAI `tool_calls` / `function_call` and LangChain `tool_calls`. A LangChain message of an
 * Anthropic model lists its calls twice (as tool_use blocks and as tool_calls): once is kept.
 */
function toolCallPartsOf(message: Record<string, unknown>, content: readonly ConversationPart[]): ConversationPart[] {
  const extra = isRecord(message.additional_kwargs) ? message.additional_kwargs : {};
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls : Array.isArray(extra.tool_calls) ? extra.tool_calls : [];
  const known = new Set(content.flatMap((part) => (part.type === 'tool_call' && part.id !== null ? [part.id] : [])));
  const parts: ConversationPart[] = [];
  for (const call of calls) {
    if (!isRecord(call)) {
      parts.push({ type: 'other', value: call });
      continue;
    }
    const id = str(call.id);
    if (id !== null && known.has(id)) continue;
    if (isRecord(call.function)) {
      parts.push(toolCallPart(id, call.function.name, call.function.arguments));
    } else if (typeof call.name === 'string') {
      parts.push(toolCallPart(id, call.name, call.args ?? call.arguments ?? call.input));
    } else parts.push({ type: 'other', value: call });
  }
  const legacy = message.function_call ?? extra.function_call;
  if (isRecord(legacy) && parts.length === 0) parts.push(toolCallPart(null, legacy.name, legacy.arguments));
  return parts;
}

function splitToolResults(
  role: ConversationRole,
  parts: readonly ConversationPart[],
  toolCallId: string | null,
  name: string | null,
): Draft[] {
  const drafts: Draft[] = [];
  let pending: ConversationPart[] = [];
  const flush = () => {
    if (pending.length > 0) drafts.push(role === 'TOOL' ? toolMessage(toolCallId, name, pending) : { role, parts: pending });
    pending = [];
  };
  for (const part of parts) {
    if (part.type === 'tool_result') {
      flush();
      drafts.push({ role: 'TOOL', parts: [part] });
    } else pending.push(part);
  }
  flush();
  if (drafts.length === 0) drafts.push(role === 'TOOL' ? toolMessage(toolCallId, name, []) : { role, parts: [] });
  return drafts;
}

function toolMessage(toolCallId: string | null, name: string | null, content: ConversationPart[]): Draft {
  return { role: 'TOOL', parts: [{ type: 'tool_result', toolCallId, name, content, isError: false }] };
}

// ---------------------------------------------------------------------------------------------
// Parts

function partsOfContent(content: unknown): ConversationPart[] {
  if (content === null || content === undefined) return [];
  if (Array.isArray(content)) return content.flatMap(partsOfBlock);
  return partsOfBlock(content);
}

function partsOfBlock(block: unknown): ConversationPart[] {
  if (block === null || block === undefined) return [];
  if (typeof block === 'string') return block === '' ? [] : [textPart(block)];
  if (!isRecord(block)) return [{ type: 'other', value: block }];
  switch (block.type) {
    case 'text':
    case 'input_text':
    case 'output_text': {
      const text = str(block.text) ?? str(block.content);
      if (text !== null) return text === '' ? [] : [textPart(text)];
      break;
    }
    case 'refusal':
      if (typeof block.refusal === 'string') return [textPart(block.refusal)];
      break;
    case 'image_url':
    case 'input_image': {
      const reference = block.image_url;
      const url = str(reference) ?? (isRecord(reference) ? str(reference.url) : null);
      if (url !== null) return [{ type: 'image', url, mediaType: null, data: null }];
      break;
    }
    case 'image': {
      // Anthropic's {source: {type: base64|url}} or LangChain's {url | data | base64, mime_type}.
      const source = isRecord(block.source) ? block.source : block;
      const url = str(source.url);
      const data = str(source.data) ?? str(source.base64);
      if (url !== null || data !== null) {
        return [{ type: 'image', url, mediaType: str(source.media_type) ?? str(source.mime_type) ?? str(source.mimeType), data }];
      }
      break;
    }
    case 'blob':
    case 'uri':
    case 'file': {
      // GenAI: {modality, mime_type, content | uri}. Only images have a part of their own.
      const mediaType = str(block.mime_type) ?? str(block.mimeType);
      if (block.modality === 'image' || mediaType?.startsWith('image/')) {
        return [{ type: 'image', url: str(block.uri), mediaType, data: str(block.content) ?? str(block.data) }];
      }
      break;
    }
    case 'tool_use':
    case 'tool_call':
      if (typeof block.name === 'string') return [toolCallPart(str(block.id), block.name, block.input ?? block.arguments ?? block.args)];
      break;
    case 'function_call':
      if (typeof block.name === 'string') return [toolCallPart(str(block.call_id) ?? str(block.id), block.name, block.arguments)];
      break;
    case 'tool_result':
      return [toolResultPart(str(block.tool_use_id), null, partsOfContent(block.content), block.is_error === true)];
    case 'tool_call_response':
      return [toolResultPart(str(block.id), null, resultParts(block.response ?? block.result), false)];
    case 'function_call_output':
      return [toolResultPart(str(block.call_id), null, resultParts(block.output), false)];
    case 'thinking':
      if (typeof block.thinking === 'string') return [{ type: 'reasoning', text: block.thinking, signature: str(block.signature) }];
      break;
    case 'reasoning': {
      const summary = Array.isArray(block.summary)
        ? block.summary.flatMap((item) => (isRecord(item) && typeof item.text === 'string' ? [item.text] : [])).join('\n')
        : null;
      const text = str(block.content) ?? str(block.text) ?? summary;
      if (text !== null) return [{ type: 'reasoning', text, signature: null }];
      break;
    }
    case undefined: {
      // Gemini parts carry no type: {text}, {functionCall}, {functionResponse}, {inlineData}.
      if (typeof block.text === 'string') return block.text === '' ? [] : [textPart(block.text)];
      const call = block.functionCall;
      if (isRecord(call) && typeof call.name === 'string') return [toolCallPart(str(call.id), call.name, call.args)];
      const response = block.functionResponse;
      if (isRecord(response)) return [toolResultPart(str(response.id), str(response.name), resultParts(response.response), false)];
      const inline = block.inlineData;
      if (isRecord(inline) && str(inline.mimeType)?.startsWith('image/')) {
        return [{ type: 'image', url: null, mediaType: str(inline.mimeType), data: str(inline.data) }];
      }
    }
  }
  return [{ type: 'other', value: block }];
}

/**
 * A tool's result as the model reads it: text, content blocks, or any other JSON as JSON text
 * (which is how SDKs send a structured result back).
 */
function resultParts(result: unknown): ConversationPart[] {
  if (result === null || result === undefined) return [];
  if (typeof result === 'string') return result === '' ? [] : [textPart(result)];
  if (Array.isArray(result) && result.every((item) => isRecord(item) && typeof item.type === 'string')) {
    return partsOfContent(result);
  }
  return [textPart(JSON.stringify(result))];
}

function textPart(text: string): ConversationPart {
  return { type: 'text', text };
}

function toolCallPart(id: string | null, name: unknown, args: unknown): ConversationPart {
  return { type: 'tool_call', id, name: str(name) ?? '', arguments: argumentsOf(args) };
}

function toolResultPart(toolCallId: string | null, name: string | null, content: ConversationPart[], isError: boolean): ConversationPart {
  return { type: 'tool_result', toolCallId, name, content, isError };
}

function argumentsOf(args: unknown): unknown {
  if (typeof args !== 'string') return args ?? null;
  return parsedJson(args) ?? args;
}

function otherMessage(role: ConversationRole, value: unknown): Draft {
  return { role, parts: [{ type: 'other', value }] };
}

// ---------------------------------------------------------------------------------------------
// Model and parameters

/** Request fields that are content or identity, not parameters. */
const CONTENT_KEYS = new Set(['messages', 'contents', 'input', 'prompt', 'system', 'instructions', 'model']);
const PARAMETER_NAMES = {
  temperature: ['temperature'],
  maxTokens: ['max_tokens', 'max_completion_tokens', 'max_output_tokens', 'maxTokens', 'maxOutputTokens'],
  topP: ['top_p', 'topP'],
  tools: ['tools'],
} as const;
const KNOWN_PARAMETERS = new Set<string>(Object.values(PARAMETER_NAMES).flat());

/**
 * The input when it is an API request body. A bare `{messages}` (a LangGraph state) is not one:
 * its other keys are application state, not parameters.
 */
function requestBodyOf(input: unknown): Record<string, unknown> | null {
  if (!isRecord(input) || isMessageLike(input)) return null;
  if (typeof input.model === 'string' || typeof input.prompt === 'string') return input;
  return Object.keys(input).some((key) => KNOWN_PARAMETERS.has(key)) ? input : null;
}

function modelInMeta(meta: Record<string, unknown> | null): string | null {
  return str(metaValue(meta, 'gen_ai.response.model')) ?? str(metaValue(meta, 'gen_ai.request.model')) ?? str(metaValue(meta, 'llm.model_name'));
}

/** The body's parameters, each completed from the span's attributes when the body lacks it. */
function parametersOf(body: Record<string, unknown> | null, meta: Record<string, unknown> | null): GenerationParameters | null {
  const recorded = body ? parametersOfBody(body) : null;
  const attributes = parametersOfMeta(meta);
  const parameters: GenerationParameters = {
    temperature: recorded?.temperature ?? attributes.temperature,
    maxTokens: recorded?.maxTokens ?? attributes.maxTokens,
    topP: recorded?.topP ?? attributes.topP,
    tools: recorded?.tools ?? attributes.tools,
    extra: { ...attributes.extra, ...recorded?.extra },
  };
  const found =
    parameters.temperature !== null || parameters.maxTokens !== null || parameters.topP !== null ||
    parameters.tools !== null || Object.keys(parameters.extra).length > 0;
  return found ? parameters : null;
}

function parametersOfBody(body: Record<string, unknown>): GenerationParameters {
  const first = (names: readonly string[]) => names.map((name) => body[name]).find((value) => value !== undefined && value !== null);
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (!CONTENT_KEYS.has(key) && !KNOWN_PARAMETERS.has(key) && value !== undefined) extra[key] = value;
  }
  return {
    temperature: numberOf(first(PARAMETER_NAMES.temperature)),
    maxTokens: numberOf(first(PARAMETER_NAMES.maxTokens)),
    topP: numberOf(first(PARAMETER_NAMES.topP)),
    tools: listOf(first(PARAMETER_NAMES.tools)),
    extra,
  };
}

/**
 * OpenTelemetry GenAI attributes first, then OpenInference's, then plain keys. Other
 * `gen_ai.request.*` attributes and invocation parameters go to `extra`.
 */
function parametersOfMeta(meta: Record<string, unknown> | null): GenerationParameters {
  const invocationText = metaValue(meta, 'llm.invocation_parameters');
  const invocation = isRecord(invocationText)
    ? invocationText
    : typeof invocationText === 'string' && isRecord(parsedJson(invocationText))
      ? (parsedJson(invocationText) as Record<string, unknown>)
      : {};
  const request = genAiRequestOf(meta);
  const pick = (genAi: string, names: readonly string[]) =>
    [request[genAi], ...names.map((name) => invocation[name]), ...names.map((name) => meta?.[name])].find(
      (value) => value !== undefined && value !== null,
    );
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(invocation)) {
    if (!KNOWN_PARAMETERS.has(key) && !CONTENT_KEYS.has(key) && key !== 'model_name') extra[key] = value;
  }
  for (const [key, value] of Object.entries(request)) {
    if (!['temperature', 'max_tokens', 'top_p', 'model'].includes(key)) extra[key] = value;
  }
  return {
    temperature: numberOf(pick('temperature', PARAMETER_NAMES.temperature)),
    maxTokens: numberOf(pick('max_tokens', PARAMETER_NAMES.maxTokens)),
    topP: numberOf(pick('top_p', PARAMETER_NAMES.topP)),
    tools:
      listOf(metaValue(meta, 'gen_ai.tool.definitions')) ?? openInferenceToolsOf(meta) ?? listOf(invocation.tools) ?? listOf(meta?.tools),
    extra,
  };
}

/** `gen_ai.request.*` attributes by their last name, whether meta holds them flat or nested. */
function genAiRequestOf(meta: Record<string, unknown> | null): Record<string, unknown> {
  const request: Record<string, unknown> = {};
  const nested = metaValue(meta, 'gen_ai.request');
  if (isRecord(nested)) Object.assign(request, nested);
  for (const [key, value] of Object.entries(meta ?? {})) {
    if (key.startsWith('gen_ai.request.')) request[key.slice('gen_ai.request.'.length)] = value;
  }
  return request;
}

/** OpenInference's `llm.tools.<i>.tool.json_schema`, flat or nested, in index order. */
function openInferenceToolsOf(meta: Record<string, unknown> | null): unknown[] | null {
  const indexed: [number, unknown][] = [];
  for (const [key, value] of Object.entries(meta ?? {})) {
    const match = /^llm\.tools\.(\d+)\.tool\.json_schema$/.exec(key);
    if (match) indexed.push([Number(match[1]), value]);
  }
  const nested = metaValue(meta, 'llm.tools');
  if (indexed.length === 0 && Array.isArray(nested)) {
    nested.forEach((entry, i) => {
      const schema = isRecord(entry) && isRecord(entry.tool) ? entry.tool.json_schema : undefined;
      if (schema !== undefined) indexed.push([i, schema]);
    });
  }
  if (indexed.length === 0) return null;
  return indexed
    .sort((a, b) => a[0] - b[0])
    .map(([, schema]) => (typeof schema === 'string' ? (parsedJson(schema) ?? schema) : schema));
}

/** An attribute held flat (`{"gen_ai.request.model": ...}`) or nested (`{gen_ai: {request: ...}}`). */
function metaValue(meta: Record<string, unknown> | null, path: string): unknown {
  if (!meta) return undefined;
  if (meta[path] !== undefined) return meta[path];
  let value: unknown = meta;
  for (const name of path.split('.')) {
    if (!isRecord(value)) return undefined;
    value = value[name];
  }
  return value;
}

function numberOf(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : null;
  }
  return null;
}

function listOf(value: unknown): unknown[] | null {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') {
    const parsed = parsedJson(value);
    if (Array.isArray(parsed)) return parsed;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** The value of JSON text, or undefined when it is not JSON. */
function parsedJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
