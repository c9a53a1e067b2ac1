/**
 * `/v2`: the Opper tracing contract as the published SDKs speak it (npm `opperai` 3.x, Python
 * `opperai` 1.7.x). Snake_case JSON; every success answer has exactly the status the SDK expects
 * (200, or 204 for deletes), and errors are `{type, message, detail}`.
 */
import { z } from 'zod';
import type { SpanRow } from '../db/rows.js';
import { NotFound } from '../errors.js';
import { submitFeedback } from '../ingest/event-writes.js';
import { addSpanMetric, deleteSpanMetric, updateSpanMetric } from '../ingest/metric-writes.js';
import { idSchema } from '../validation.js';
import { metricOf, SPAN_METRICS_READ, spanDataOf, traceHeadOf, found, type Read, type ReadMetric, type ReadSpan, type ReadTrace } from './reads.js';
import { route } from './route.js';
import { jsonObject, metricIn, metricOut, pageQuery, spanBodiesIn, spanDataOut, spanFieldsIn, spanIdParam, timeOut } from './schemas.js';
import { spanRoutes, traceReadRoutes } from './shared-routes.js';
import { metricShown } from './unread-answers.js';
import { contractScore, contractText, contractView, isoTime, wholeMs } from './span-mapping.js';

const spanIn = spanBodiesIn(spanFieldsIn, { create: 'CreateSpanRequest', update: 'UpdateSpanRequest' });

const spanOut = z
  .object({
    id: z.string(),
    name: z.string(),
    trace_id: z.string(),
    parent_id: z.string().nullable(),
    type: z.string().nullable().meta({ description: 'null only in a write answer to a key without READ that did not send it.' }),
    start_time: timeOut.nullable().meta({ description: 'null only in a write answer to a key without READ that did not send it.' }),
    end_time: timeOut.nullable(),
    input: z.unknown(),
    output: z.unknown(),
    error: z.string().nullable(),
    meta: jsonObject.nullable(),
    score: z.number().int().nullable(),
  })
  .meta({ id: 'Span' });

const spanWithFeedbackOut = spanOut
  .extend({ feedback: z.object({ score: z.number(), comment: z.string().nullable() }).nullable().meta({ description: 'The latest feedback with a score.' }) })
  .meta({ id: 'SpanWithFeedback' });

const feedbackIn = z
  .object({
    score: z.number().min(0, 'must be from 0 to 1').max(1, 'must be from 0 to 1').meta({ description: '0.0 negative, 1.0 positive.' }),
    comment: z.string().nullish(),
    save_to_dataset: z.boolean().nullish().meta({ description: 'Datasets are not part of Spantree: accepted, never saved.' }),
  })
  .strict()
  .meta({ id: 'SubmitFeedbackRequest' });

const feedbackOut = z
  .object({ span_id: z.string(), score: z.number(), comment: z.string().nullable(), example_saved: z.boolean() })
  .meta({ id: 'SubmitFeedbackResponse' });

const page = <T extends z.ZodType>(item: T, id: string) => z.object({ meta: z.object({ total_count: z.number().int() }), data: z.array(item) }).meta({ id });

const traceItemOut = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    start_time: timeOut.nullable(),
    end_time: timeOut.nullable(),
    duration_ms: z.number().int().nullable(),
    status: z.string(),
    span_count: z.number().int(),
    input: z.string().nullable(),
    output: z.string().nullable(),
    total_tokens: z.number().int(),
  })
  .meta({ id: 'TraceListItem' });

const traceSpanOut = z
  .object({
    id: z.string(),
    name: z.string(),
    type: z.string(),
    parent_id: z.string().nullable(),
    start_time: timeOut,
    end_time: timeOut.nullable(),
    duration_ms: z.number().int().nullable(),
    error: z.string().nullable(),
    meta: jsonObject.nullable(),
    score: z.number().int().nullable(),
    metrics: z.array(metricOut.omit({ span_id: true })),
    data: spanDataOut,
  })
  .meta({ id: 'TraceSpan' });

const traceOut = traceItemOut.extend({ spans: z.array(traceSpanOut) }).meta({ id: 'Trace' });

const metricPath = spanIdParam.extend({ metric_id: idSchema.meta({ description: 'The metric id.' }) });

/** A span as every /v2 span answer has it. */
function spanOf(span: SpanRow | ReadSpan): z.input<typeof spanOut> {
  const view = contractView(span);
  return {
    id: span.id,
    name: span.name,
    trace_id: span.traceId,
    parent_id: span.parentId,
    type: view.type,
    start_time: isoTime(span.startTime)!,
    end_time: isoTime(span.endTime),
    input: span.input ?? null,
    output: span.output ?? null,
    error: span.error,
    meta: view.meta,
    score: contractScore(span.score),
  };
}

/** The latest feedback with a score, which /v2 answers beside a span. */
function latestFeedbackOf(span: ReadSpan): { score: number; comment: string | null } | null {
  const scored = (span.feedback ?? [])
    .map((event) => event.data as { score?: number | null; comment?: string | null } | null)
    .filter((data) => typeof data?.score === 'number')
    .at(-1);
  return scored ? { score: scored.score!, comment: scored.comment ?? null } : null;
}

function traceItemOf(trace: ReadTrace): z.input<typeof traceItemOut> {
  return { ...traceHeadOf(trace), input: contractText(trace.input), output: contractText(trace.output), total_tokens: trace.totalTokens };
}

function traceSpanOf(span: ReadSpan): z.input<typeof traceSpanOut> {
  const view = contractView(span);
  return {
    id: span.id,
    name: span.name,
    type: view.type,
    parent_id: span.parentId,
    start_time: isoTime(span.startTime)!,
    end_time: isoTime(span.endTime),
    duration_ms: wholeMs(span.durationMs),
    error: span.error,
    meta: view.meta,
    score: contractScore(span.score),
    metrics: (span.metrics ?? []).map(({ spanId: _spanId, ...metric }) => {
      const { span_id: _span, ...rest } = metricOf({ ...metric, spanId: span.id });
      return rest;
    }),
    data: spanDataOf(span),
  };
}

/** A span's metrics (the list and the get read them all: a span has few), or NOT_FOUND. */
async function metricsOf(read: Read, spanId: string): Promise<ReadMetric[]> {
  const { span } = await read<{ span: { metrics: ReadMetric[] } | null }>(SPAN_METRICS_READ, { id: spanId });
  return found(span, `span ${spanId}`).metrics;
}

export const V2_ROUTES = [
  ...spanRoutes('v2', {
    create: {
      summary: 'Create a span; no parent_id and no trace_id starts a trace. Sending the same id and body again is a safe retry.',
      body: spanIn.create,
      schema: spanOut,
      description: 'The span as stored (to a key without READ: its ids and what the request sent, see docs/rest.md).',
      answer: (span, view) => view(spanOf(span)),
    },
    get: {
      summary: 'Get a span, with its latest feedback.',
      schema: spanWithFeedbackOut,
      answer: (span) => ({ ...spanOf(span), feedback: latestFeedbackOf(span) }),
    },
    update: { summary: 'Change a span: its end, output, error, score ...', body: spanIn.update, schema: spanOut, answer: (span, view) => view(spanOf(span)) },
  }),
  route<{ span_id: string }, undefined, z.input<typeof feedbackIn>>({
    method: 'post',
    path: '/v2/spans/{span_id}/feedback',
    operationId: 'spans.submitFeedback',
    summary: 'Record feedback on a span: a FEEDBACK event (score 1 is thumbs up, 0 thumbs down).',
    scope: 'INGEST',
    params: spanIdParam,
    body: feedbackIn,
    success: { status: 200, schema: feedbackOut, description: 'The feedback as recorded.' },
    async handle({ services, scope, params, body }) {
      const thumbs = body.score === 1 ? 'UP' : body.score === 0 ? 'DOWN' : null;
      const event = await submitFeedback(services, scope, params.span_id, { score: body.score, comment: body.comment, thumbs });
      const data = event.data as { score: number; comment: string | null };
      return { status: 200, body: { span_id: params.span_id, score: data.score, comment: data.comment, example_saved: false } };
    },
  }),
  route<{ span_id: string }, undefined, undefined>({
    method: 'post',
    path: '/v2/spans/{span_id}/save_examples',
    operationId: 'spans.saveExamples',
    summary: 'Datasets are not part of Spantree: always answers 404 (the SDK raises NotFoundError).',
    scope: 'INGEST',
    params: spanIdParam,
    success: { status: 404, description: 'Never succeeds: datasets are not part of Spantree.' },
    async handle() {
      throw new NotFound('Datasets are not part of Spantree: save_examples is not served');
    },
  }),
  route<{ span_id: string }, undefined, z.input<typeof metricIn>>({
    method: 'post',
    path: '/v2/spans/{span_id}/metrics',
    operationId: 'spanMetrics.createMetric',
    summary: 'Record a metric on a span.',
    scope: 'INGEST',
    params: spanIdParam,
    body: metricIn,
    success: { status: 200, schema: metricOut, description: 'The metric as stored.' },
    async handle({ services, scope, params, body }) {
      const metric = await addSpanMetric(services.db, scope, params.span_id, body);
      return { status: 200, body: metricOf(metric) };
    },
  }),
  route<{ span_id: string }, z.output<z.ZodObject<typeof pageQuery>>, undefined>({
    method: 'get',
    path: '/v2/spans/{span_id}/metrics',
    operationId: 'spanMetrics.list',
    summary: "A page of a span's metrics, oldest first.",
    scope: 'READ',
    params: spanIdParam,
    query: z.object(pageQuery),
    success: { status: 200, schema: page(metricOut, 'MetricPage'), description: 'The page, and how many there are.' },
    async handle({ read, params, query }) {
      const metrics = await metricsOf(read, params.span_id);
      return { status: 200, body: { meta: { total_count: metrics.length }, data: metrics.slice(query.offset, query.offset + query.limit).map(metricOf) } };
    },
  }),
  route<{ span_id: string; metric_id: string }, undefined, undefined>({
    method: 'get',
    path: '/v2/spans/{span_id}/metrics/{metric_id}',
    operationId: 'spanMetrics.get',
    summary: 'Get one metric of a span.',
    scope: 'READ',
    params: metricPath,
    success: { status: 200, schema: metricOut, description: 'The metric.' },
    async handle({ read, params }) {
      const metric = (await metricsOf(read, params.span_id)).find((candidate) => candidate.id === params.metric_id);
      return { status: 200, body: metricOf(found(metric, `metric ${params.metric_id} of span ${params.span_id}`)) };
    },
  }),
  route<{ span_id: string; metric_id: string }, undefined, Partial<z.input<typeof metricIn>>>({
    method: 'patch',
    path: '/v2/spans/{span_id}/metrics/{metric_id}',
    operationId: 'spanMetrics.updateMetric',
    summary: 'Change a metric.',
    scope: 'INGEST',
    params: metricPath,
    body: metricIn.partial().meta({ id: 'UpdateMetricRequest' }),
    success: { status: 200, schema: metricOut, description: 'The metric as stored (to a key without READ: its ids and what the request sent, see docs/rest.md).' },
    async handle({ services, principal, scope, params, body }) {
      const metric = await updateSpanMetric(services.db, scope, params.span_id, params.metric_id, body);
      return { status: 200, body: metricShown(principal, metricOf(metric), body) };
    },
  }),
  route<{ span_id: string; metric_id: string }, undefined, undefined>({
    method: 'delete',
    path: '/v2/spans/{span_id}/metrics/{metric_id}',
    operationId: 'spanMetrics.delete',
    summary: 'Delete a metric.',
    scope: 'INGEST',
    params: metricPath,
    success: { status: 204, description: 'Deleted.' },
    async handle({ services, scope, params }) {
      await deleteSpanMetric(services.db, scope, params.span_id, params.metric_id);
      return { status: 204 };
    },
  }),
  ...traceReadRoutes('v2', {
    list: { schema: page(traceItemOut, 'TracePage'), answer: ({ total, traces }) => ({ meta: { total_count: total }, data: traces.map(traceItemOf) }) },
    get: {
      summary: 'A trace with all its spans (start order) and their metrics.',
      schema: traceOut,
      description: 'The trace.',
      answer: (trace) => ({ ...traceItemOf(trace), spans: (trace.spans ?? []).map(traceSpanOf) }),
    },
  }),
];
