/**
 * Validation and normalisation of span writes, for every entry point (GraphQL today, OTLP later).
 * Messages name the field and say what is wrong in words a person acts on.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { BadUserInput } from '../errors.js';
import { roundCost } from '../costs/money.js';
import { SPAN_TYPES, type SpanType } from '../vocabulary.js';

export const LIMITS = {
  idLength: 128,
  nameLength: 512,
  modelLength: 256,
  errorLength: 32_768,
  instructionsLength: 262_144,
  tagLength: 128,
  tags: 64,
  /** Serialised size of one JSON field (input, output, meta, event data). */
  jsonBytes: 4 * 1024 * 1024,
  /** How deep arrays and objects may nest in one JSON field: far beyond any real message list. */
  jsonDepth: 64,
  /**
   * The largest magnitude of a number a writer sets (cost, score, metric and feedback values). Far
   * beyond any real value, and small enough that sums over a trace stay exact enough and finite.
   */
  number: 1e15,
  int32: 2_147_483_647,
};

export const idSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(LIMITS.idLength, `must be at most ${LIMITS.idLength} characters`)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

function checkJsonSize(value: unknown, ctx: z.RefinementCtx) {
  // Depth first, without recursion: measuring the size of a value nested 100,000 deep would overflow the stack.
  if (nestedDeeperThan(value, LIMITS.jsonDepth)) {
    ctx.addIssue({ code: 'custom', message: `nests deeper than ${LIMITS.jsonDepth} levels` });
    return;
  }
  // Prisma's JSON serialisation drops this key; refusing beats acknowledging what is not stored.
  if (anyWithin(value, hasProtoKey)) {
    ctx.addIssue({ code: 'custom', message: 'holds the object key "__proto__", which cannot be stored; rename it' });
    return;
  }
  // JSON text may hold 1e400, which parses as Infinity and would be stored as null while the reply
  // showed it: refused like any other number that cannot be kept.
  if (anyWithin(value, isNonFiniteNumber)) {
    ctx.addIssue({ code: 'custom', message: 'holds a number too large to store (beyond ±1.7976931348623157e308)' });
    return;
  }
  const size = Buffer.byteLength(JSON.stringify(value) ?? '');
  if (size > LIMITS.jsonBytes) ctx.addIssue({ code: 'custom', message: `is ${size} bytes; the limit is ${LIMITS.jsonBytes}` });
}

/** Whether `test` holds for `value` or for anything within it (`value` already known to be shallow). */
export function anyWithin(value: unknown, test: (item: unknown) => boolean): boolean {
  if (test(value)) return true;
  return value !== null && typeof value === 'object' && Object.values(value).some((child) => anyWithin(child, test));
}

function hasProtoKey(item: unknown): boolean {
  return item !== null && typeof item === 'object' && !Array.isArray(item) && Object.hasOwn(item, '__proto__');
}

/** Infinity or NaN: what a JSON number beyond the double range (1e400) becomes once parsed. */
export function isNonFiniteNumber(item: unknown): boolean {
  return typeof item === 'number' && !Number.isFinite(item);
}

/** Whether arrays and objects in `value` nest more than `max` levels deep. */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Object.values(item)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}

/** Any JSON value within the size limit. */
export const jsonSchema = z.unknown().superRefine(checkJsonSize);

/** A finite number within ±LIMITS.number. */
export function boundedNumber() {
  return z
    .number()
    .finite('must be a finite number')
    .min(-LIMITS.number, `must be at least -${LIMITS.number}`)
    .max(LIMITS.number, `must be at most ${LIMITS.number}`);
}

/**
 * Whether a date lies in the years 1 to 9999: what ISO-8601 writes with four digits and both databases
 * store. PostgreSQL refuses year 0 and earlier outright, and SQLite would store a date whose cursor
 * could not be written, which broke paging through traces for everyone.
 */
export function isStorableDate(date: Date): boolean {
  const year = date.getUTCFullYear();
  return year >= 1 && year <= 9999;
}

export const STORABLE_DATES = 'must be between the years 1 and 9999 (UTC)';

const dateSchema = z
  .date()
  .refine((date) => !Number.isNaN(date.getTime()), 'must be a valid date-time')
  .refine(isStorableDate, STORABLE_DATES);
const tokensSchema = z
  .number()
  .int('must be a whole number')
  .min(0, 'must not be negative')
  .max(LIMITS.int32, `must be at most ${LIMITS.int32}`);
const textSchema = (max: number) => z.string().max(max, `must be at most ${max} characters`);

const spanFields = {
  name: z.string().min(1, 'must not be empty').max(LIMITS.nameLength, `must be at most ${LIMITS.nameLength} characters`),
  type: z.enum(SPAN_TYPES, { message: `must be one of ${SPAN_TYPES.join(', ')}` }),
  startTime: dateSchema,
  endTime: dateSchema.nullable(),
  input: jsonSchema.nullable(),
  output: jsonSchema.nullable(),
  error: textSchema(LIMITS.errorLength).nullable(),
  // Not z.record: it rebuilds the object by assignment, which drops a "__proto__" key.
  meta: z
    .custom<Record<string, unknown>>((value) => value !== null && typeof value === 'object' && !Array.isArray(value), 'must be a JSON object')
    .superRefine(checkJsonSize)
    .nullable(),
  tags: z
    .array(z.string().min(1, 'must not be empty').max(LIMITS.tagLength, `must be at most ${LIMITS.tagLength} characters`))
    .max(LIMITS.tags, `may hold at most ${LIMITS.tags} tags`)
    .nullable(),
  score: boundedNumber().nullable(),
  model: textSchema(LIMITS.modelLength).nullable(),
  inputTokens: tokensSchema.nullable(),
  outputTokens: tokensSchema.nullable(),
  totalTokens: tokensSchema.nullable(),
  cost: boundedNumber().min(0, 'must not be negative').nullable(),
  instructions: textSchema(LIMITS.instructionsLength).nullable(),
};

const createSchema = z
  .object(spanFields)
  .partial()
  .extend({
    id: idSchema.nullish(),
    traceId: idSchema.nullish(),
    parentId: idSchema.nullish(),
    sessionId: idSchema.nullish(),
    name: spanFields.name,
    type: spanFields.type.nullish(),
    startTime: spanFields.startTime.nullish(),
  })
  .strict();

const updateSchema = z.object(spanFields).partial().strict();

/** What a writer sends; every field is checked here, so callers pass it on as received. */
export type Unchecked<T> = { [K in keyof T]?: unknown };
export type CreateSpanInput = Unchecked<z.input<typeof createSchema>>;
export type UpdateSpanInput = Unchecked<z.input<typeof updateSchema>>;

/** The stored fields of a span that a write sets; `undefined` leaves a field as it is. */
export interface SpanFields {
  name: string;
  type: SpanType;
  startTime: Date;
  endTime: Date | null;
  input: unknown;
  output: unknown;
  error: string | null;
  meta: Record<string, unknown> | null;
  tags: string[];
  score: number | null;
  model: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  totalTokens: number | null;
  cost: number | null;
  instructions: string | null;
}

/** The writable fields of a stored span. */
export function spanFieldsOf(span: {
  [K in keyof SpanFields]: unknown;
}): SpanFields {
  return {
    name: span.name as string,
    type: span.type as SpanType,
    startTime: span.startTime as Date,
    endTime: span.endTime as Date | null,
    input: span.input,
    output: span.output,
    error: span.error as string | null,
    meta: span.meta as SpanFields['meta'],
    tags: span.tags as string[],
    score: span.score as number | null,
    model: span.model as string | null,
    inputTokens: span.inputTokens as number | null,
    outputTokens: span.outputTokens as number | null,
    totalTokens: span.totalTokens as number | null,
    cost: span.cost as number | null,
    instructions: span.instructions as string | null,
  };
}

/** A validated create, with defaults applied and the hash that recognises its retries. */
export interface PreparedSpan {
  id: string | undefined;
  traceId: string | undefined;
  parentId: string | null;
  /** The session the span's trace joins, when the trace has none yet. */
  sessionId: string | null;
  fields: SpanFields;
  ingestHash: string;
}

/** Validates one create; `label` names it in messages (`input`, `input[3]`). */
export function prepareCreate(raw: CreateSpanInput, label: string, now: Date): PreparedSpan {
  const input = parse(createSchema, raw, label);
  const startTime = input.startTime ?? now;
  const fields: SpanFields = {
    name: input.name,
    // A span that names a model is an LLM call unless the writer says otherwise.
    type: input.type ?? (input.model ? 'GENERATION' : 'FUNCTION'),
    startTime,
    endTime: input.endTime ?? null,
    input: input.input ?? null,
    output: input.output ?? null,
    error: input.error ?? null,
    meta: input.meta ?? null,
    tags: normalizeTags(input.tags),
    score: input.score ?? null,
    model: input.model ?? null,
    inputTokens: input.inputTokens ?? null,
    outputTokens: input.outputTokens ?? null,
    totalTokens: input.totalTokens ?? sumTokens(input.inputTokens, input.outputTokens),
    cost: input.cost == null ? null : roundCost(input.cost),
    instructions: input.instructions ?? null,
  };
  checkTimes(fields, label);
  checkTokens(fields, label);
  return {
    id: input.id ?? undefined,
    traceId: input.traceId ?? undefined,
    parentId: input.parentId ?? null,
    sessionId: input.sessionId ?? null,
    fields,
    ingestHash: hashOf(input),
  };
}

/** Validates an update against the span as stored; returns the fields to write. */
export function prepareUpdate(raw: UpdateSpanInput, stored: SpanFields, label: string): Partial<SpanFields> {
  const input = parse(updateSchema, raw, label);
  const changes: Partial<SpanFields> = {};
  for (const [key, value] of Object.entries(input) as [keyof SpanFields, unknown][]) {
    if (value === undefined) continue;
    if (value === null && (key === 'name' || key === 'type' || key === 'startTime')) {
      throw new BadUserInput(`${label}.${key}: cannot be cleared`, { field: `${label}.${key}` });
    }
    (changes as Record<string, unknown>)[key] =
      key === 'tags' ? normalizeTags(value as string[] | null) : key === 'cost' && value !== null ? roundCost(value as number) : value;
  }
  // A total the writer never set follows the input and output counts.
  const tokensChanged = changes.inputTokens !== undefined || changes.outputTokens !== undefined;
  const totalWasDerived = stored.totalTokens === sumTokens(stored.inputTokens, stored.outputTokens);
  if (changes.totalTokens === undefined && tokensChanged && totalWasDerived) {
    changes.totalTokens = sumTokens(
      changes.inputTokens === undefined ? stored.inputTokens : changes.inputTokens,
      changes.outputTokens === undefined ? stored.outputTokens : changes.outputTokens,
    );
  }
  checkTimes({ ...stored, ...changes }, label);
  checkTokens({ ...stored, ...changes }, label);
  return changes;
}

/** Milliseconds from start to end, or null while the span is open. */
export function durationOf(fields: Pick<SpanFields, 'startTime' | 'endTime'>): number | null {
  return fields.endTime ? fields.endTime.getTime() - fields.startTime.getTime() : null;
}

function checkTimes(fields: Pick<SpanFields, 'startTime' | 'endTime'>, label: string) {
  if (fields.endTime && fields.endTime < fields.startTime) {
    throw new BadUserInput(
      `${label}.endTime: ${fields.endTime.toISOString()} is before startTime ${fields.startTime.toISOString()}`,
      { field: `${label}.endTime` },
    );
  }
}

function sumTokens(input: number | null | undefined, output: number | null | undefined): number | null {
  return input == null && output == null ? null : (input ?? 0) + (output ?? 0);
}

function checkTokens(fields: Pick<SpanFields, 'totalTokens'>, label: string) {
  if (fields.totalTokens !== null && fields.totalTokens > LIMITS.int32) {
    throw new BadUserInput(`${label}.totalTokens: inputTokens + outputTokens is ${fields.totalTokens}; the most a span can count is ${LIMITS.int32}`, {
      field: `${label}.totalTokens`,
    });
  }
}

function normalizeTags(tags: string[] | null | undefined): string[] {
  return [...new Set(tags ?? [])].sort();
}

/**
 * Parses with zod and turns its first complaint into one readable BAD_USER_INPUT error. Text comes
 * back as it will be stored (see `storableText`), so what a write acknowledges is what is read back.
 */
export function parse<T extends z.ZodType>(schema: T, value: unknown, label: string): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return storableText(result.data) as z.output<T>;
  const issue = result.error.issues[0]!;
  const field = [label, ...issue.path.map(String)].join('.');
  const message = issue.code === 'unrecognized_keys' ? `unknown field ${issue.keys.join(', ')}` : issue.message;
  throw new BadUserInput(`${field}: ${message}`, { field });
}

/**
 * `value` with every NUL character and every lone UTF-16 surrogate in its strings (and object keys)
 * replaced by U+FFFD. PostgreSQL cannot store NUL in text or JSON, and neither database can store half
 * a surrogate pair (UTF-8 has no encoding for it); model output sometimes has both, and a span is not
 * dropped for it. Replacing them before the write is what makes the reply and every later read agree.
 *
 * Runs on a request's variables before anything has checked their shape (undeclared ones included),
 * so it walks with a stack of its own rather than recursing: a value nested 10,000 levels deep would
 * otherwise overflow the call stack and reach the client as "Unexpected error.". Unchanged values come
 * back as the same objects.
 */
export function storableText(value: unknown): unknown {
  if (typeof value === 'string') return storableString(value);
  if (!isContainer(value)) return value;
  const stack: StorableFrame[] = [storableFrame(value)];
  for (;;) {
    const frame = stack.at(-1)!;
    if (frame.next < frame.values.length) {
      const child = frame.values[frame.next];
      if (isContainer(child)) {
        stack.push(storableFrame(child));
        continue;
      }
      settle(frame, typeof child === 'string' ? storableString(child) : child);
      continue;
    }
    stack.pop();
    const built = !frame.changed
      ? frame.source
      : Array.isArray(frame.source)
        ? frame.values
        : // fromEntries defines own properties: a "__proto__" key stays a key, as JSON means it.
          Object.fromEntries(frame.keys.map((key, index) => [key, frame.values[index]]));
    const parent = stack.at(-1);
    if (!parent) return built;
    settle(parent, built);
  }
}

/** An array or object being made storable: its (storable) keys, its values so far, the next to visit. */
interface StorableFrame {
  source: object;
  keys: string[];
  values: unknown[];
  next: number;
  changed: boolean;
}

function isContainer(value: unknown): value is object {
  return value !== null && typeof value === 'object' && !(value instanceof Date);
}

function storableFrame(source: object): StorableFrame {
  if (Array.isArray(source)) return { source, keys: [], values: [...source], next: 0, changed: false };
  const entries = Object.entries(source);
  const keys = entries.map(([key]) => storableString(key));
  return { source, keys, values: entries.map(([, item]) => item), next: 0, changed: keys.some((key, index) => key !== entries[index]![0]) };
}

/** Records the storable form of the frame's current value and moves on. */
function settle(frame: StorableFrame, storable: unknown) {
  if (storable !== frame.values[frame.next]) {
    frame.values[frame.next] = storable;
    frame.changed = true;
  }
  frame.next += 1;
}

export function storableString(text: string): string {
  const wellFormed = text.isWellFormed() ? text : text.toWellFormed();
  return wellFormed.includes('\u0000') ? wellFormed.replaceAll('\u0000', '\uFFFD') : wellFormed;
}

/** A stable hash of what the writer sent (keys sorted), so a retry is recognised whatever its key order. */
function hashOf(input: unknown): string {
  return createHash('sha256').update(canonicalJson(input)).digest('hex');
}

function canonicalJson(value: unknown, topLevel = true): string {
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item, false)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    // A field left out and a field sent as null mean the same to a create; inside JSON values they differ.
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined && !(topLevel && v === null))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v, false)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}
