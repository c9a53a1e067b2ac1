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

/** A message from the server as a sentence: the full stop it may lack, so text can follow it. */
export function asSentence(message: string): string {
  const text = message.trim();
  return /[.!?…]$/.test(text) ? text : `${text}.`;
}
