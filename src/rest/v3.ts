/**
 * `/v3`: the Opper tracing contract as the newer SDKs and the product page's examples speak it.
 * Answers wrap their object in `{"data": ...}`; errors are `{"error": {code, message, details}}`.
 * A trace read also carries its fields at the top level, beside `data`: the Python beta reads them
 * there, the TypeScript beta inside `data`.
 */
import { z } from 'zod';
import type { SpanRow } from '../db/rows.js';
import { BadUserInput, NotFound } from '../errors.js';
import { createSpanEvent } from '../ingest/event-writes.js';
import { deleteTrace } from '../traces/trace.service.js';
import { EVENT_KINDS, type EventKind } from '../vocabulary.js';
import { eventOf, SPAN_EVENTS_READ, spanDataOf, spanStatus, traceHeadOf, TRACE_EVENTS_READ, found, type Read, type ReadEvent, type ReadSpan } from './reads.js';
import { route } from './route.js';
import { jsonObject, spanBodiesIn, spanDataOut, spanFieldsIn, spanIdParam, timeOut, traceIdParam } from './schemas.js';
import { spanRoutes, traceReadRoutes } from './shared-routes.js';
import { contractView, isoTime, wholeMs } from './span-mapping.js';

const KINDS = EVENT_KINDS.map((kind) => kind.toLowerCase());

/** What the span fields that are otherwise always set say of the write answers to a key without READ. */
const WITHHELD = 'null only in a write answer to a key without READ, which shows what its request sent (docs/rest.md)';

const spanFieldsV3In = {
  ...spanFieldsIn,
  input: spanFieldsIn.input.meta({ description: 'A string (any JSON is kept). Content: kept under a FULL retention rule only.' }),
  output: spanFieldsIn.output.meta({ description: 'A string (any JSON is kept). Content.' }),
  metadata: jsonObject.nullish().meta({ description: 'Kept as sent (in meta.opper.metadata).' }),
  tags: jsonObject.nullish().meta({ description: 'An object; each entry is also the Spantree tag "key:value", which the explorer filters on.' }),
};

const spanIn = spanBodiesIn(spanFieldsV3In, { create: 'CreateSpanRequestV3', update: 'UpdateSpanRequestV3' });

const createdOut = z
  .object({ data: z.object({ id: z.string(), trace_id: z.string(), name: z.string(), parent_id: z.string().nullable(), type: z.string().nullable().meta({ description: WITHHELD }) }) })
  .meta({ id: 'CreatedSpan' });

const spanFieldsOut = {
  id: z.string(),
  trace_id: z.string(),
  name: z.string(),
  type: z.string().nullable().meta({ description: WITHHELD }),
  parent_id: z.string().nullable(),
  start_time: timeOut.nullable().meta({ description: WITHHELD }),
  end_time: timeOut.nullable(),
  duration_ms: z.number().int().nullable(),
  input: z.unknown(),
  output: z.unknown(),
  error: z.string().nullable(),
  status: z.string().nullable().meta({ description: `running, ok or error; ${WITHHELD}` }),
  meta: jsonObject.nullable(),
  metadata: jsonObject.nullable(),
  tags: jsonObject.nullable(),
  score: z.number().nullable(),
  data: spanDataOut,
};
const spanOut = z.object(spanFieldsOut).meta({ id: 'SpanV3' });
const spanAnswer = z.object({ data: spanOut }).meta({ id: 'SpanAnswerV3' });

const eventOut = z
  .object({ id: z.string(), span_id: z.string(), kind: z.string(), source: z.string(), data: z.unknown(), created_at: timeOut })
  .meta({ id: 'Event' });
const eventList = z.object({ data: z.array(eventOut) }).meta({ id: 'EventList' });

const eventIn = z
  .object({
    kind: z.string().meta({ description: `${KINDS.join(', ')}: "feedback" is the one an app writes.` }),
    source: z.string().nullish().meta({ description: 'Who or what emitted it; "api" when left out.' }),
    data: z.unknown().optional().meta({ description: 'Any JSON.' }),
  })
  .strict()
  .meta({ id: 'CreateEventRequest' });

const traceItemFields = {
  id: z.string(),
  span_count: z.number().int(),
  name: z.string().nullable(),
  start_time: timeOut.nullable(),
  end_time: timeOut.nullable(),
  duration_ms: z.number().int().nullable(),
  status: z.string().meta({ description: 'running, ok or error.' }),
};
const traceItemOut = z.object(traceItemFields).meta({ id: 'TraceListItemV3' });
const traceFields = { ...traceItemFields, spans: z.array(spanOut), events: z.array(eventOut) };
const traceOut = z.object({ data: z.object(traceFields), ...traceFields }).meta({ id: 'TraceV3' });

const kindQuery = z.object({ kind: z.string().optional().meta({ description: `Only events of this kind (${KINDS.join(', ')}).` }) });

function spanOf(span: SpanRow | ReadSpan): z.input<typeof spanOut> {
  const view = contractView(span);
  return {
    id: span.id,
    trace_id: span.traceId,
    name: span.name,
    type: view.type,
    parent_id: span.parentId,
    start_time: isoTime(span.startTime)!,
    end_time: isoTime(span.endTime),
    duration_ms: wholeMs(span.durationMs),
    input: span.input ?? null,
    output: span.output ?? null,
    error: span.error,
    status: spanStatus(span),
    meta: view.meta,
    metadata: view.metadata,
    tags: view.tags,
    score: span.score,
    data: spanDataOf({ ...span, tags: [...(span.tags as string[])] } as ReadSpan),
  };
}

/** An event kind as the contract writes it (any case), checked against Spantree's. */
function kindOf(kind: string, field: string): EventKind {
  const upper = kind.toUpperCase();
  if (!(EVENT_KINDS as readonly string[]).includes(upper)) throw new BadUserInput(`${field}: must be one of ${KINDS.join(', ')}`, { field });
  return upper as EventKind;
}

/** The events on a span, or on every span of a trace (`owner`), oldest first; of one kind when asked. */
async function eventsOn(read: Read, owner: 'span' | 'trace', id: string, kind: string | undefined) {
  const document = owner === 'span' ? SPAN_EVENTS_READ : TRACE_EVENTS_READ;
  const answer = await read<Record<string, { events: ReadEvent[] } | null>>(document, { id, kind: kind ? [kindOf(kind, 'kind')] : null });
  return found(answer[owner], `${owner} ${id}`).events.map(eventOf);
}

export const V3_ROUTES = [
  ...spanRoutes('v3', {
    create: {
      summary: 'Create a span; no trace_id and no parent_id starts a trace.',
      body: spanIn.create,
      schema: createdOut,
      description: 'The span: its id and trace_id.',
      answer: (span, view) => ({ data: view({ id: span.id, trace_id: span.traceId, name: span.name, parent_id: span.parentId, type: contractView(span).type }) }),
    },
    get: { summary: 'Get a span.', schema: spanAnswer, answer: (span) => ({ data: spanOf(span) }) },
    update: {
      summary: 'Change a span: its output, error, end, meta, metadata, tags ...',
      body: spanIn.update,
      schema: spanAnswer,
      answer: (span, view) => ({ data: view(spanOf(span)) }),
    },
  }),
  route<{ span_id: string }, z.output<typeof kindQuery>, undefined>({
    method: 'get',
    path: '/v3/spans/{span_id}/events',
    operationId: 'spans.listEvents',
    summary: 'The events on a span, oldest first.',
    scope: 'READ',
    params: spanIdParam,
    query: kindQuery,
    success: { status: 200, schema: eventList, description: 'The events.' },
    async handle({ read, params, query }) {
      return { status: 200, body: { data: await eventsOn(read, 'span', params.span_id, query.kind) } };
    },
  }),
  route<{ span_id: string }, undefined, z.input<typeof eventIn>>({
    method: 'post',
    path: '/v3/spans/{span_id}/events',
    operationId: 'spans.createEvent',
    summary: 'Record an event on a span (feedback, for instance).',
    scope: 'INGEST',
    params: spanIdParam,
    body: eventIn,
    success: { status: 200, schema: z.object({ data: eventOut }).meta({ id: 'EventAnswer' }), description: 'The event as stored.' },
    async handle({ services, scope, params, body }) {
      const event = await createSpanEvent(services, scope, params.span_id, { kind: kindOf(body.kind, 'body.kind'), source: body.source, data: body.data });
      return { status: 200, body: { data: eventOf(event as ReadEvent) } };
    },
  }),
  ...traceReadRoutes('v3', {
    list: {
      schema: z.object({ data: z.array(traceItemOut), meta: z.object({ total_count: z.number().int() }) }).meta({ id: 'TracePageV3' }),
      answer: ({ total, traces }) => ({ data: traces.map(traceHeadOf), meta: { total_count: total } }),
    },
    get: {
      summary: 'A trace with all its spans (start order) and events.',
      schema: traceOut,
      description: 'The trace, in data and at the top level.',
      answer: (trace) => {
        const fields = { ...traceHeadOf(trace), spans: (trace.spans ?? []).map(spanOf), events: (trace.events ?? []).map(eventOf) };
        return { data: fields, ...fields };
      },
    },
  }),
  route<{ trace_id: string }, undefined, undefined>({
    method: 'delete',
    path: '/v3/traces/{trace_id}',
    operationId: 'traces.delete',
    summary: 'Delete a trace with all its spans, events and metrics (ADMIN, as deleteTrace); live subscribers end with NOT_FOUND.',
    scope: 'ADMIN',
    params: traceIdParam,
    success: { status: 204, description: 'Deleted.' },
    async handle({ services, scope, params }) {
      if (!(await deleteTrace(services, scope.projectId, params.trace_id))) throw new NotFound(`trace ${params.trace_id} not found`);
      return { status: 204 };
    },
  }),
  route<{ trace_id: string }, z.output<typeof kindQuery>, undefined>({
    method: 'get',
    path: '/v3/traces/{trace_id}/events',
    operationId: 'traces.listEvents',
    summary: 'The events on any span of a trace, oldest first.',
    scope: 'READ',
    params: traceIdParam,
    query: kindQuery,
    success: { status: 200, schema: eventList, description: 'The events.' },
    async handle({ read, params, query }) {
      return { status: 200, body: { data: await eventsOn(read, 'trace', params.trace_id, query.kind) } };
    },
  }),
];
