/**
 * Between the Opper tracing contract's words and Spantree's model, both ways, for /v2 and /v3 alike.
 * Whatever the contract carries that Spantree has no column for is kept in the span's meta under
 * the key `opper` (the type as sent, /v3 metadata and tags), so that a read gives back what was written.
 */
import type { SpanRow } from '../db/rows.js';
import { createSpan, updateSpan, type IngestServices } from '../ingest/ingest.service.js';
import type { CreateSpanInput, UpdateSpanInput } from '../ingest/span-input.js';
import type { Scope } from '../schema/context.js';
import { storedMeta } from '../spans/span.service.js';
import { SPAN_TYPES, type SpanType } from '../vocabulary.js';

/** The meta key that holds what the contract sends and Spantree has no column for. */
export const CONTRACT_META_KEY = 'opper';

/** The contract's free-text span types (lower case, as its SDKs send them) that name a Spantree type. */
const TYPE_NAMES: Record<string, SpanType> = {
  ...Object.fromEntries(SPAN_TYPES.map((type) => [type.toLowerCase(), type])),
  llm: 'GENERATION',
};

/** The type a span takes when the contract's type names none of Spantree's (the original is kept). */
export const DEFAULT_SPAN_TYPE: SpanType = 'FUNCTION';

/** What the contract keeps in meta.opper. */
interface ContractExtras {
  type?: string;
  metadata?: Record<string, unknown>;
  tags?: Record<string, unknown>;
}

/** Spantree's `data` extension of a span body: the generation's details, and the judge's results. */
export interface SpanData {
  model?: string | null;
  input_tokens?: number | null;
  output_tokens?: number | null;
  total_tokens?: number | null;
  cost?: number | null;
  instructions?: string | null;
  observations?: string | null;
  scorer_context?: Record<string, unknown> | null;
  tags?: string[] | null;
  session_id?: string | null;
}

/** A span as the contract writes it (create or update), both versions' fields together. */
export interface ContractSpanBody {
  id?: string | null;
  trace_id?: string | null;
  parent_id?: string | null;
  name?: string | null;
  type?: string | null;
  /** RFC 3339; without an offset, UTC. */
  start_time?: string | null;
  end_time?: string | null;
  input?: unknown;
  output?: unknown;
  error?: string | null;
  meta?: Record<string, unknown> | null;
  metadata?: Record<string, unknown> | null;
  /** /v3: an object of tags. */
  tags?: Record<string, unknown> | null;
  score?: number | null;
  data?: SpanData | null;
}

/** The Spantree type for a contract type, and whether the contract's word must be kept to give it back. */
function spanTypeOf(type: string): { type: SpanType; kept: boolean } {
  const known = TYPE_NAMES[type.toLowerCase()];
  return known ? { type: known, kept: type !== type.toLowerCase() || type === 'llm' } : { type: DEFAULT_SPAN_TYPE, kept: true };
}

/** /v3 tags ({env: "prod"}) as Spantree tags ("env:prod"), which the trace explorer filters on. */
function tagStrings(tags: Record<string, unknown>): string[] {
  return Object.entries(tags).map(([key, value]) => `${key}:${typeof value === 'string' ? value : JSON.stringify(value)}`);
}

/**
 * The fields of a create or update as Spantree's write path takes them. `stored` is the span's meta as
 * stored (updates): its contract extras are kept unless the body replaces them.
 */
function spanFieldsOf(body: ContractSpanBody, storedMeta?: unknown): UpdateSpanInput & { tags?: unknown } {
  const fields: Record<string, unknown> = {};
  const set = (key: string, value: unknown) => {
    if (value !== undefined) fields[key] = value;
  };
  set('name', body.name);
  set('startTime', timeOf(body.start_time));
  set('endTime', timeOf(body.end_time));
  set('input', body.input);
  set('output', body.output);
  set('error', body.error);
  set('score', body.score);
  const data = body.data ?? {};
  set('model', data.model);
  set('inputTokens', data.input_tokens);
  set('outputTokens', data.output_tokens);
  set('totalTokens', data.total_tokens);
  set('cost', data.cost);
  set('instructions', data.instructions);
  set('observations', data.observations);
  set('scorerContext', data.scorer_context);

  const stored = storedMeta && typeof storedMeta === 'object' && !Array.isArray(storedMeta) ? (storedMeta as Record<string, unknown>) : undefined;
  const extras: ContractExtras = { ...(contractExtras(stored) ?? {}) };
  let extrasChanged = false;
  if (body.type != null) {
    const { type, kept } = spanTypeOf(body.type);
    fields.type = type;
    if (kept) extras.type = body.type;
    else delete extras.type;
    extrasChanged = true;
  }
  if (body.metadata !== undefined) {
    if (body.metadata === null) delete extras.metadata;
    else extras.metadata = body.metadata;
    extrasChanged = true;
  }
  const tags: string[] = [...(data.tags ?? [])];
  if (body.tags !== undefined) {
    if (body.tags === null) delete extras.tags;
    else {
      extras.tags = body.tags;
      tags.push(...tagStrings(body.tags));
    }
    extrasChanged = true;
  }
  if (body.tags !== undefined || data.tags !== undefined) fields.tags = tags;
  if (body.meta !== undefined || extrasChanged) {
    const userMeta = body.meta !== undefined ? body.meta : stored ? withoutExtras(stored) : null;
    const hasExtras = Object.keys(extras).length > 0;
    fields.meta = hasExtras ? { ...(userMeta ?? {}), [CONTRACT_META_KEY]: extras } : userMeta;
  }
  return fields;
}

/** A contract create as the write path's create input. */
export function createInputOf(body: ContractSpanBody): CreateSpanInput {
  return {
    ...spanFieldsOf(body),
    id: body.id ?? undefined,
    traceId: body.trace_id ?? undefined,
    parentId: body.parent_id ?? undefined,
    sessionId: body.data?.session_id ?? undefined,
  };
}

/** A contract update as the write path's update input, keeping the stored contract extras. */
export function updateInputOf(body: ContractSpanBody, storedMeta: unknown): UpdateSpanInput {
  return spanFieldsOf(body, storedMeta);
}

/** Whether an update changes meta, so that the stored meta must be read first to keep its extras. */
export function updateTouchesMeta(body: ContractSpanBody): boolean {
  return body.meta !== undefined || body.type != null || body.metadata !== undefined || body.tags !== undefined;
}

function contractExtras(meta: unknown): ContractExtras | undefined {
  if (!meta || typeof meta !== 'object' || Array.isArray(meta)) return undefined;
  const extras = (meta as Record<string, unknown>)[CONTRACT_META_KEY];
  return extras && typeof extras === 'object' && !Array.isArray(extras) ? (extras as ContractExtras) : undefined;
}

function withoutExtras(meta: Record<string, unknown>): Record<string, unknown> | null {
  if (!(CONTRACT_META_KEY in meta)) return meta;
  const { [CONTRACT_META_KEY]: _extras, ...rest } = meta;
  return Object.keys(rest).length ? rest : null;
}

/** A stored span's fields as the contract reads them: its type as written, its meta without the extras. */
export function contractView(span: { type: string; meta: unknown; tags?: unknown }): {
  type: string;
  meta: Record<string, unknown> | null;
  metadata: Record<string, unknown> | null;
  tags: Record<string, unknown> | null;
} {
  const extras = contractExtras(span.meta);
  const meta = span.meta && typeof span.meta === 'object' && !Array.isArray(span.meta) ? withoutExtras(span.meta as Record<string, unknown>) : null;
  return {
    type: extras?.type ?? span.type.toLowerCase(),
    meta,
    metadata: extras?.metadata ?? null,
    tags: extras?.tags ?? tagObject(Array.isArray(span.tags) ? span.tags.filter((tag): tag is string => typeof tag === 'string') : []),
  };
}

/** Spantree tags ("env:prod", "beta") as the /v3 tag object ({env: "prod", beta: true}); null when none. */
function tagObject(tags: readonly string[]): Record<string, unknown> | null {
  if (tags.length === 0) return null;
  const object: Record<string, unknown> = {};
  for (const tag of tags) {
    const colon = tag.indexOf(':');
    if (colon > 0) object[tag.slice(0, colon)] = tag.slice(colon + 1);
    else object[tag] = true;
  }
  return object;
}

/** A contract time as a Date: RFC 3339, and a time written without an offset is UTC. */
function timeOf(value: string | null | undefined): Date | null | undefined {
  if (value == null) return value;
  return new Date(/(Z|[+-]\d{2}:?\d{2})$/i.test(value) ? value : `${value}Z`);
}

/** The contract's integer score: Spantree keeps any number, the contract's SDK accepts whole ones. */
export function contractScore(score: number | null | undefined): number | null {
  return score == null ? null : Math.round(score);
}

/** Durations in whole milliseconds, as the contract has them, from the same rollups the explorer shows. */
export function wholeMs(durationMs: number | null | undefined): number | null {
  return durationMs == null ? null : Math.round(durationMs);
}

/** RFC 3339 with the UTC designator, as the contract's SDKs require. */
export function isoTime(value: Date | string | null | undefined): string | null {
  return value == null ? null : new Date(value).toISOString();
}

/** A span's or trace's input or output as the contract's string fields: text as is, other JSON as JSON text. */
export function contractText(value: unknown): string | null {
  if (value == null) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Creates a span from a contract body, through the one write path. */
export function createContractSpan(services: IngestServices, scope: Scope, body: ContractSpanBody): Promise<SpanRow> {
  return createSpan(services, scope, createInputOf(body));
}

/**
 * Changes a span from a contract body, through the one write path. When the body touches meta, the
 * stored meta is read first, so that the contract's extras kept there (meta.opper) survive.
 */
export async function updateContractSpan(services: IngestServices, scope: Scope, spanId: string, body: ContractSpanBody): Promise<SpanRow> {
  const meta = updateTouchesMeta(body) ? await storedMeta(services.db, scope, spanId) : undefined;
  return updateSpan(services, scope, spanId, updateInputOf(body, meta));
}
