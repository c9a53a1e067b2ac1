/**
 * Validation and normalisation of span writes, for every transport (GraphQL mutations, OTLP/HTTP):
 * what a create or an update may hold, the defaults a create takes, and the hash that recognises a retry.
 * Messages name the field and say what is wrong in words a person acts on.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { BadUserInput } from '../errors.js';
import { canonicalJson } from '../canonical-json.js';
import { roundCost } from '../costs/money.js';
import { SPAN_TYPES } from '../vocabulary.js';
import { boundedNumber, checkJsonSize, dateSchema, idSchema, jsonSchema, LIMITS, parse, type Unchecked } from '../validation.js';
import type { SpanFields } from '../spans/span-fields.js';

const tokensSchema = z
  .number()
  .int('must be a whole number')
  .min(0, 'must not be negative')
  .max(LIMITS.int32, `must be at most ${LIMITS.int32}`);
const textSchema = (max: number) => z.string().max(max, `must be at most ${max} characters`);
// Not z.record: it rebuilds the object by assignment, which drops a "__proto__" key.
const jsonObjectSchema = z
  .custom<Record<string, unknown>>((value) => value !== null && typeof value === 'object' && !Array.isArray(value), 'must be a JSON object')
  .superRefine(checkJsonSize);

const spanFields = {
  name: z.string().min(1, 'must not be empty').max(LIMITS.nameLength, `must be at most ${LIMITS.nameLength} characters`),
  type: z.enum(SPAN_TYPES, { message: `must be one of ${SPAN_TYPES.join(', ')}` }),
  startTime: dateSchema,
  endTime: dateSchema.nullable(),
  input: jsonSchema.nullable(),
  output: jsonSchema.nullable(),
  error: textSchema(LIMITS.errorLength).nullable(),
  meta: jsonObjectSchema.nullable(),
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
  observations: textSchema(LIMITS.observationsLength).nullable(),
  scorerContext: jsonObjectSchema.nullable(),
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

export type CreateSpanInput = Unchecked<z.input<typeof createSchema>>;
export type UpdateSpanInput = Unchecked<z.input<typeof updateSchema>>;

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
    observations: input.observations ?? null,
    scorerContext: input.scorerContext ?? null,
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
 * A stable hash of what the writer sent (keys sorted), so a retry is recognised whatever its key
 * order. A field left out and a field sent as null mean the same to a create (inside JSON values
 * they differ). Stored with the span: the text hashed must never change for the same input.
 */
function hashOf(input: Record<string, unknown>): string {
  const given = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== null && value !== undefined));
  return createHash('sha256').update(canonicalJson(given)).digest('hex');
}
