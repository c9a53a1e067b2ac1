/** How numbers, times and content read on the page. */
import { SPAN_TYPE_LABELS } from '../vocabulary.ts';

/** "820 ms", "4.2 s", "3 m 05 s", "1 h 02 m". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)} m ${String(seconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(seconds / 3600)} h ${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')} m`;
}

/** "$0.0042", "$1.27"; small amounts keep their significant digits. */
export function formatCost(cost: number | null | undefined): string {
  if (cost === null || cost === undefined) return '—';
  if (cost === 0) return '$0';
  if (cost < 0.01) return `$${cost.toPrecision(2).replace(/\.?0+$/, '')}`;
  if (cost < 100) return `$${cost.toFixed(cost < 1 ? 4 : 2)}`;
  return `$${Math.round(cost).toLocaleString('en')}`;
}

/** "12,480" below 100k, then "1.2M". */
export function formatTokens(tokens: number | null | undefined): string {
  if (tokens === null || tokens === undefined) return '—';
  if (tokens < 100_000) return tokens.toLocaleString('en');
  if (tokens < 1_000_000) return `${(tokens / 1000).toFixed(0)}k`;
  return `${(tokens / 1_000_000).toFixed(1)}M`;
}

/** The time of day for today, else the date and time; local time zone. */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  const today = new Date();
  const time = date.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  if (date.toDateString() === today.toDateString()) return time;
  return `${date.toLocaleDateString('en-CA')} ${time}`;
}

/** A running thing's elapsed time from its start, against `now`. */
export function elapsedMs(startTime: string, now: number): number {
  return Math.max(0, now - Date.parse(startTime));
}

/** The short label of a span type ("llm" for GENERATION), as the server's trace summaries name them. */
export function typeLabel(type: string): string {
  return (SPAN_TYPE_LABELS as Record<string, string>)[type] ?? type.toLowerCase();
}

/** Pretty JSON for display; strings as they are. */
export function prettyJson(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value, null, 2) ?? 'null';
}

/** One chat message as the page draws it. */
export interface ChatMessage {
  role: string;
  text: string;
  /** Parts that are not text (images, tool calls, tool results), shown as JSON. */
  extras: unknown[];
}

type Loose = Record<string, unknown>;

function isObject(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The text of a content value: a string, or an array of parts ({type:'text', text}, {text}, {content}). */
function contentOf(content: unknown): { text: string; extras: unknown[] } {
  if (typeof content === 'string') return { text: content, extras: [] };
  if (content === null || content === undefined) return { text: '', extras: [] };
  if (Array.isArray(content)) {
    const texts: string[] = [];
    const extras: unknown[] = [];
    for (const part of content) {
      if (typeof part === 'string') texts.push(part);
      else if (isObject(part) && (part.type === undefined || part.type === 'text' || part.type === 'input_text' || part.type === 'output_text') && typeof (part.text ?? part.content) === 'string')
        texts.push(String(part.text ?? part.content));
      else extras.push(part);
    }
    return { text: texts.join('\n'), extras };
  }
  return { text: '', extras: [content] };
}

/**
 * The value as a list of chat messages, when it is one: an array of {role, content | parts}, or an
 * object holding one under `messages` (most request bodies). Undefined for anything else.
 */
export function chatMessages(value: unknown): ChatMessage[] | undefined {
  const list = Array.isArray(value) ? value : isObject(value) && Array.isArray(value.messages) ? value.messages : undefined;
  if (!list || list.length === 0) return undefined;
  const messages: ChatMessage[] = [];
  for (const item of list) {
    if (!isObject(item) || typeof item.role !== 'string') return undefined;
    const { text, extras } = contentOf(item.content ?? item.parts);
    const calls = Array.isArray(item.tool_calls) ? item.tool_calls : [];
    messages.push({ role: item.role, text, extras: [...extras, ...calls] });
  }
  return messages;
}
