/**
 * Realistic spans, deterministic so every run writes the same bytes: a 500-byte input and output
 * (a chat message list and an answer), meta and tags as SDKs send them, and tree-shaped traces.
 */

const WORDS = 'the a model answer tool search result user asks about shipping refund order policy cost latency retry context window token prompt document chunk rank score'.split(' ');

/** Text of exactly `bytes` ASCII bytes, varied by `seed`. */
export function text(bytes: number, seed: number): string {
  let out = '';
  let state = (seed * 2654435761) >>> 0 || 1;
  while (out.length < bytes) {
    state = (state * 1103515245 + 12345) >>> 0;
    out += `${WORDS[state % WORDS.length]} `;
  }
  return out.slice(0, bytes);
}

/** A chat-style input whose JSON is 500 bytes. */
export function chatInput(seed: number): unknown {
  const shell = JSON.stringify([{ role: 'system', content: '' }, { role: 'user', content: '' }]).length;
  const room = 500 - shell;
  return [
    { role: 'system', content: text(Math.floor(room / 3), seed) },
    { role: 'user', content: text(room - Math.floor(room / 3), seed + 1) },
  ];
}

/** An answer whose JSON is 500 bytes. */
export function chatOutput(seed: number): unknown {
  const shell = JSON.stringify({ role: 'assistant', content: '' }).length;
  return { role: 'assistant', content: text(500 - shell, seed + 2) };
}

const BASE_TIME = Date.parse('2026-11-24T09:00:00.000Z');
const TYPES = ['GENERATION', 'TOOL', 'GENERATION', 'RETRIEVAL', 'GENERATION', 'TOOL', 'FUNCTION', 'GENERATION'] as const;

export interface SpanInput {
  id: string;
  traceId: string;
  parentId: string | null;
  name: string;
  type: string;
  startTime: string;
  endTime: string;
  input: unknown;
  output: unknown;
  meta: Record<string, unknown>;
  tags: string[];
  model?: string;
  inputTokens?: number;
  outputTokens?: number;
  cost?: number;
}

/**
 * The spans of one trace in the order a writer sends them, parents first: span k's parent is span
 * (k - 1) / `fanout`, so a trace of n spans is a tree of depth log_fanout(n).
 */
export class TraceSpans {
  private next = 0;
  constructor(
    readonly traceId: string,
    private readonly fanout = 4,
    private readonly startMs = BASE_TIME,
  ) {}

  get count() {
    return this.next;
  }

  take(n: number): SpanInput[] {
    return Array.from({ length: n }, () => this.span(this.next++));
  }

  private span(k: number): SpanInput {
    const parentIndex = k === 0 ? null : Math.floor((k - 1) / this.fanout);
    const type = k === 0 ? 'AGENT' : TYPES[k % TYPES.length]!;
    const start = this.startMs + k * 7;
    const span: SpanInput = {
      id: `${this.traceId}.${k}`,
      traceId: this.traceId,
      parentId: parentIndex === null ? null : `${this.traceId}.${parentIndex}`,
      name: k === 0 ? 'support-agent' : `${type.toLowerCase()}-${k % 13}`,
      type,
      startTime: new Date(start).toISOString(),
      endTime: new Date(start + 40 + (k % 17) * 11).toISOString(),
      input: chatInput(k),
      output: chatOutput(k),
      meta: { userId: `u-${k % 97}`, sessionId: `s-${this.traceId}`, env: 'production', release: '2026.11.3' },
      tags: k === 0 ? ['production', 'support'] : ['production'],
    };
    if (type === 'GENERATION') Object.assign(span, { model: 'gpt-5-mini', inputTokens: 812 + k, outputTokens: 64, cost: 0.00093 });
    return span;
  }
}

/** A 1 MiB string: the root input of the growth workload's large traces. */
export const ONE_MIB = text(1024 * 1024, 7);

/** An open span as an SDK creates it when the step starts: no output, no end time yet. */
export function opening(span: SpanInput): SpanInput {
  const { output: _output, endTime: _endTime, ...open } = span;
  return open as SpanInput;
}

/** What closing a span sends: its output, end time, tokens and cost. */
export function closing(span: SpanInput) {
  return { output: chatOutput(span.id.length), endTime: span.endTime, inputTokens: 812, outputTokens: 64, cost: 0.00093 };
}
