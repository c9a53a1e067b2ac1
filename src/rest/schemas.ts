/**
 * The pieces both versions of the contract are described with: request pieces validate what a client
 * sends (the write path then checks limits with Spantree's own validation, src/validation.ts), answer
 * pieces describe what Spantree sends. The OpenAPI documents are generated from these.
 */
import { z } from 'zod';
import { idSchema, LIMITS } from '../validation.js';

/** RFC 3339, with an offset or `Z`; a time without one is taken as UTC. */
export const timeIn = z.iso.datetime({ offset: true, local: true, message: 'must be an RFC 3339 date-time, e.g. 2026-12-07T16:40:00Z' });
/** What Spantree answers: RFC 3339 in UTC (`Z`). */
export const timeOut = z.iso.datetime();

/** Any JSON object. */
export const jsonObject = z.record(z.string(), z.unknown());

export const spanIdParam = z.object({ span_id: idSchema.meta({ description: 'The span id.' }) });
export const traceIdParam = z.object({ trace_id: idSchema.meta({ description: 'The trace id.' }) });

/** A whole number in a query string. */
const queryInt = (min: number, max: number) =>
  z.coerce.number({ message: 'must be a whole number' }).int('must be a whole number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);

/** The page size REST lists take at most, and by default. */
export const REST_PAGE = { default: 100, max: 100 };
/** `offset` and `limit`, as every list of the contract takes them. */
export const pageQuery = {
  offset: queryInt(0, 100_000).optional().default(0).meta({ description: 'How many to skip.' }),
  limit: queryInt(1, REST_PAGE.max).optional().default(REST_PAGE.default).meta({ description: `How many to return (at most ${REST_PAGE.max}).` }),
};

/** Spantree's extension of a span body: a generation's details and a judge's results. */
export const spanDataIn = z
  .object({
    model: z.string().nullish().meta({ description: 'The model that ran (generation spans).' }),
    input_tokens: z.number().int().nullish(),
    output_tokens: z.number().int().nullish(),
    total_tokens: z.number().int().nullish(),
    cost: z.number().nullish().meta({ description: 'USD; computed from the price table when left out.' }),
    instructions: z.string().nullish().meta({ description: 'The instructions (system prompt) used. Content: kept under a FULL retention rule only.' }),
    observations: z.string().nullish().meta({ description: "The judge's observations. Content." }),
    scorer_context: jsonObject.nullish().meta({ description: "The judge's per-criterion results. Content." }),
    tags: z.array(z.string()).nullish().meta({ description: 'Spantree tags (strings).' }),
    session_id: idSchema.nullish().meta({ description: 'The session the trace joins.' }),
  })
  .strict()
  .meta({ id: 'SpanDataInput', description: "Spantree's extension: a generation's details and a judge's results." });

/** What Spantree keeps of a span's `data`, as both versions read it. */
export const spanDataOut = z
  .object({
    input: z.string().nullable(),
    output: z.string().nullable(),
    total_tokens: z.number().int().nullable(),
    model: z.string().nullable(),
    instructions: z.string().nullable(),
    function: z.string().nullable(),
    tags: z.array(z.string()),
    score: z.number().int().nullable(),
    generation_id: z.string().nullable(),
    observations: z.string().nullable(),
    scorer_context: jsonObject.nullable(),
  })
  .meta({ id: 'SpanData' });

export const metricOut = z
  .object({ id: z.string(), span_id: z.string(), dimension: z.string(), value: z.number(), comment: z.string().nullable(), created_at: timeOut })
  .meta({ id: 'Metric' });

export const metricIn = z
  .object({
    dimension: z.string().meta({ description: 'What is measured.' }),
    value: z.number(),
    comment: z.string().nullish(),
  })
  .strict()
  .meta({ id: 'MetricInput' });

/** An id the contract's client may choose for a span. */
export const clientId = idSchema.meta({ description: `A span id of your choosing (at most ${LIMITS.idLength} characters); sending it again is a safe retry.` });

/** The span fields both versions write, as their SDKs send them; each version adds its own. */
export const spanFieldsIn = {
  name: z.string().meta({ description: 'What the step is; the root span names the trace.' }),
  type: z
    .string()
    .nullish()
    .meta({ description: 'generation, function, call, tool, agent, retrieval, embedding (or llm); any other word is kept and the span is a function.' }),
  start_time: timeIn.nullish(),
  end_time: timeIn.nullish(),
  input: z.unknown().optional().meta({ description: 'Any JSON. Content: kept under a FULL retention rule only.' }),
  output: z.unknown().optional().meta({ description: 'Any JSON. Content.' }),
  error: z.string().nullish().meta({ description: 'The error message when the step failed.' }),
  meta: jsonObject.nullish(),
  score: z.number().nullish().meta({ description: 'A score (the contract has whole numbers; Spantree keeps any number and answers it rounded).' }),
  data: spanDataIn.nullish(),
};

/** What a create adds: the ids a client may give. */
export const spanIdsIn = {
  id: clientId.nullish(),
  trace_id: idSchema.nullish().meta({ description: 'The trace; filled in from parent_id when the parent is stored.' }),
  parent_id: idSchema.nullish().meta({ description: 'The parent span; no trace_id and no parent_id starts a trace.' }),
};

/**
 * A version's create and update bodies from its span fields (`spanFieldsIn`, or a version's superset):
 * a create may also give the ids; an update changes only what it names, so even the name may be left out.
 * `ids` are the two bodies' names in the OpenAPI document.
 */
export function spanBodiesIn<Fields extends typeof spanFieldsIn>(fields: Fields, ids: { create: string; update: string }) {
  return {
    create: z.object({ ...fields, ...spanIdsIn }).strict().meta({ id: ids.create }),
    update: z.object({ ...fields, name: spanFieldsIn.name.nullish() }).strict().meta({ id: ids.update }),
  };
}

/** The query of both versions' trace lists. */
export const listTracesQuery = z.object({ ...pageQuery, name: z.string().optional().meta({ description: 'Case-insensitive substring of the trace name.' }) });
