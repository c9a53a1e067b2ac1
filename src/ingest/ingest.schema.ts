/**
 * The write mutations and their inputs: spans (create, batch, update, delete), events and feedback,
 * metrics. Each resolver hands its input, as received, to the write path (./ingest.service.ts,
 * ./span-deletes.ts, ./event-writes.ts, ./metric-writes.ts), which validates it as it does for OTLP
 * and REST, and reads back what the client selected on what was written.
 */
import { builder, type SchemaTypes } from '../schema/builder.js';
import type { Context } from '../schema/context.js';
import { withPlannedSelection } from '../schema/reload.js';
import { writtenAnswer } from '../schema/read-scope.js';
import type { EventRow } from '../db/rows.js';
import { SpanType, spansAsSelected } from '../spans/span.schema.js';
import { EventKind, Thumbs } from '../events/event.schema.js';
import { createSpan, createSpans, updateSpan } from './ingest.service.js';
import { deleteSpan } from './span-deletes.js';
import { createSpanEvent, submitFeedback } from './event-writes.js';
import { addSpanMetric, deleteSpanMetric, updateSpanMetric } from './metric-writes.js';
import { NotFound } from '../errors.js';

/** The fields a writer sets on a span, shared by CreateSpanInput and UpdateSpanInput. */
function writableSpanFields(t: PothosSchemaTypes.InputFieldBuilder<SchemaTypes, 'InputObject'>) {
  return {
    type: t.field({ type: SpanType, required: false, description: 'What kind of step; GENERATION when a model is given, else FUNCTION.' }),
    startTime: t.field({ type: 'DateTime', required: false, description: 'When the step started; now when left out on create.' }),
    endTime: t.field({ type: 'DateTime', required: false, description: 'When it ended: leave out while it runs, set it to close the span.' }),
    input: t.field({ type: 'JSON', required: false, description: 'What went in.' }),
    output: t.field({ type: 'JSON', required: false, description: 'What came out.' }),
    error: t.string({ required: false, description: 'The error message, if it failed.' }),
    meta: t.field({ type: 'JSON', required: false, description: 'A JSON object of metadata; an update replaces it whole.' }),
    tags: t.stringList({ required: false, description: 'Tags; an update replaces them all.' }),
    score: t.float({ required: false, description: 'A numeric score.' }),
    model: t.string({ required: false, description: 'The model that ran.' }),
    inputTokens: t.int({ required: false, description: 'Prompt tokens.' }),
    outputTokens: t.int({ required: false, description: 'Completion tokens.' }),
    totalTokens: t.int({ required: false, description: 'All tokens; inputTokens + outputTokens unless set.' }),
    cost: t.float({ required: false, description: 'What it cost.' }),
    instructions: t.string({ required: false, description: 'The instructions (system prompt) used.' }),
    observations: t.string({ required: false, description: "A judge's observations on the step, as text. Content: kept only under a FULL retention rule." }),
    scorerContext: t.field({
      type: 'JSON',
      required: false,
      description: "A judge's context per criterion, a JSON object keyed by criterion; an update replaces it whole. Content, like observations.",
    }),
  };
}

const CreateSpanInput = builder.inputType('CreateSpanInput', {
  description: 'A span to record. Without parentId and traceId it starts a new trace.',
  fields: (t) => ({
    id: t.id({ required: false, description: 'Your own id for the span (kept as given); generated when left out.' }),
    traceId: t.id({
      required: false,
      description: "The trace to join. Needed for a child sent before its parent, or to choose a new trace's id.",
    }),
    parentId: t.id({ required: false, description: 'The parent span; leave out for a root span.' }),
    sessionId: t.id({
      required: false,
      description: "The session (conversation, thread) the span's trace belongs to. Set it on the root span; a trace keeps the first session any of its spans names.",
    }),
    name: t.string({ required: true, description: 'A human-readable label for the step.' }),
    ...writableSpanFields(t),
  }),
});

const UpdateSpanInput = builder.inputType('UpdateSpanInput', {
  description: 'Changes to a span: fields left out stay as they are; null clears a field that may be empty.',
  fields: (t) => ({
    name: t.string({ required: false, description: 'A human-readable label for the step.' }),
    ...writableSpanFields(t),
  }),
});

builder.mutationFields((t) => ({
  createSpan: t.prismaField({
    // The trace a new span went into (generated for a new trace) is where it was written.
    ...writtenAnswer(['traceId']),
    nullable: true, // see builder.mutationType
    type: 'Span',
    description:
      'Records a span. Without parentId and traceId it starts a new trace named after it. ' +
      'Sending the same id with the same content again returns the stored span (a safe retry).',
    args: { input: t.arg({ type: CreateSpanInput, required: true }) },
    resolve: async (query, _root, args, ctx) => (await spansAsSelected(query, ctx, [await createSpan(ctx.services, ctx.scope, args.input)]))[0]!,
  }),
  createSpans: t.prismaField({
    ...writtenAnswer(['traceId']),
    nullable: true, // see builder.mutationType
    type: ['Span'],
    description: 'Records many spans at once, in any order (parents after children is fine): all of them or, on any error, none.',
    args: { input: t.arg({ type: [CreateSpanInput], required: true }) },
    resolve: async (query, _root, args, ctx) =>
      spansAsSelected(query, ctx, await createSpans(ctx.services, ctx.scope, args.input, { maxSpans: ctx.limits.batchSpans })),
  }),
  updateSpan: t.prismaField({
    ...writtenAnswer(),
    nullable: true, // see builder.mutationType
    type: 'Span',
    description: 'Changes a span, e.g. closes it with its output, end time, tokens and cost.',
    args: {
      id: t.arg.id({ required: true, description: 'The span to change.' }),
      input: t.arg({ type: UpdateSpanInput, required: true }),
    },
    resolve: async (query, _root, args, ctx) =>
      (await spansAsSelected(query, ctx, [await updateSpan(ctx.services, ctx.scope, args.id, args.input)]))[0]!,
  }),
  deleteSpan: t.boolean({
    nullable: true, // see builder.mutationType
    description:
      'Deletes a span with its whole subtree (every span under it, at any depth) and their events and metrics, at once. ' +
      "Deleting the trace's root span, or its last spans, deletes the whole trace as deleteTrace does. The trace's and its " +
      "session's rollups are those of the spans left. The trace's live subscribers get a DELETED change per span (or, when " +
      'the trace went, end with NOT_FOUND). true when it was deleted, false when the project has no such span.',
    args: { id: t.arg.id({ required: true, description: 'The span to delete, with everything under it.' }) },
    resolve: (_root, args, ctx) => whetherDeleted(deleteSpan(ctx.services, ctx.scope, args.id)),
  }),
}));

/** true once a deletion is done, false when what it names is not there: as deleteTrace answers. */
async function whetherDeleted(deletion: Promise<unknown>): Promise<boolean> {
  try {
    await deletion;
    return true;
  } catch (error) {
    if (error instanceof NotFound) return false;
    throw error;
  }
}

const CreateEventInput = builder.inputType('CreateEventInput', {
  description: 'An event to attach to a span.',
  fields: (t) => ({
    kind: t.field({ type: EventKind, required: true, description: 'What kind of event.' }),
    source: t.string({ required: false, description: 'Who or what emitted it; "api" when left out.' }),
    data: t.field({ type: 'JSON', required: false, description: 'The payload, any JSON.' }),
  }),
});

const FeedbackInput = builder.inputType('FeedbackInput', {
  description: 'Feedback on a span; give at least one of score, thumbs and comment.',
  fields: (t) => ({
    score: t.float({ required: false, description: 'A numeric score on your own scale.' }),
    thumbs: t.field({ type: Thumbs, required: false, description: 'Thumbs up or down.' }),
    comment: t.string({ required: false, description: 'Free text.' }),
    source: t.string({ required: false, description: 'Who gave it; "user" when left out.' }),
  }),
});

builder.mutationFields((t) => ({
  createSpanEvent: t.prismaField({
    ...writtenAnswer(),
    nullable: true, // see builder.mutationType
    type: 'Event',
    description: 'Attaches an event to a span.',
    args: {
      spanId: t.arg.id({ required: true, description: 'The span to attach it to.' }),
      input: t.arg({ type: CreateEventInput, required: true }),
    },
    resolve: async (query, _root, args, ctx) => eventAsSelected(query, ctx, await createSpanEvent(ctx.services, ctx.scope, args.spanId, args.input)),
  }),
  submitFeedback: t.prismaField({
    // Its kind is always FEEDBACK, and its data is made of what was sent (score, thumbs, comment).
    ...writtenAnswer(['kind', 'data']),
    nullable: true, // see builder.mutationType
    type: 'Event',
    description: 'Records feedback on a span, stored as an event of kind FEEDBACK.',
    args: {
      spanId: t.arg.id({ required: true, description: 'The span the feedback is about.' }),
      input: t.arg({ type: FeedbackInput, required: true }),
    },
    resolve: async (query, _root, args, ctx) => eventAsSelected(query, ctx, await submitFeedback(ctx.services, ctx.scope, args.spanId, args.input)),
  }),
}));

async function eventAsSelected(query: object, ctx: Context, event: EventRow): Promise<EventRow> {
  const [selected] = await withPlannedSelection('Event', query, [event], (planned, ids) =>
    ctx.services.db.read.event.findMany({ ...ctx.services.db.planned(planned), where: { projectId: ctx.scope.projectId, id: { in: ids } } }),
  );
  return selected!;
}

const MetricInput = builder.inputType('MetricInput', {
  description: 'A measurement to attach to a span.',
  fields: (t) => ({
    dimension: t.string({ required: true, description: 'What is measured.' }),
    value: t.float({ required: true, description: 'The value.' }),
    comment: t.string({ required: false, description: 'An optional comment.' }),
  }),
});

const UpdateMetricInput = builder.inputType('UpdateMetricInput', {
  description: 'Changes to a metric: fields left out stay as they are.',
  fields: (t) => ({
    dimension: t.string({ required: false, description: 'What is measured.' }),
    value: t.float({ required: false, description: 'The value.' }),
    comment: t.string({ required: false, description: 'An optional comment; null clears it.' }),
  }),
});

builder.mutationFields((t) => ({
  addSpanMetric: t.prismaField({
    ...writtenAnswer(),
    nullable: true, // see builder.mutationType
    type: 'Metric',
    description: 'Attaches a metric to a span.',
    args: {
      spanId: t.arg.id({ required: true, description: 'The span measured.' }),
      input: t.arg({ type: MetricInput, required: true }),
    },
    resolve: (_query, _root, args, ctx) => addSpanMetric(ctx.services.db, ctx.scope, args.spanId, args.input),
  }),
  updateSpanMetric: t.prismaField({
    ...writtenAnswer(),
    nullable: true, // see builder.mutationType
    type: 'Metric',
    description: 'Changes a metric of a span; NOT_FOUND when the span has no such metric.',
    args: {
      spanId: t.arg.id({ required: true, description: 'The span measured.' }),
      id: t.arg.id({ required: true, description: 'The metric.' }),
      input: t.arg({ type: UpdateMetricInput, required: true }),
    },
    resolve: (_query, _root, args, ctx) => updateSpanMetric(ctx.services.db, ctx.scope, args.spanId, args.id, args.input),
  }),
  deleteSpanMetric: t.boolean({
    nullable: true, // see builder.mutationType
    description: 'Deletes a metric of a span. true when it was deleted, false when the span has no such metric.',
    args: {
      spanId: t.arg.id({ required: true, description: 'The span measured.' }),
      id: t.arg.id({ required: true, description: 'The metric.' }),
    },
    resolve: (_root, args, ctx) => whetherDeleted(deleteSpanMetric(ctx.services.db, ctx.scope, args.spanId, args.id)),
  }),
}));
