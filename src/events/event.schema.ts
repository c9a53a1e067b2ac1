import { builder, readScope } from '../schema/builder.js';
import { EVENT_KINDS } from '../vocabulary.js';
import { openSpanEventFeed } from './event-feed.js';
import { feedOptionsOf, unlessFailed } from '../subscriptions/bounded-feed.js';

const KIND_DESCRIPTIONS: Record<(typeof EVENT_KINDS)[number], string> = {
  GUARDRAIL: 'A guardrail checked or blocked the step.',
  OBSERVE: 'An observer (a judge) scored or commented on the step.',
  ROUTE: 'A router chose a model or path.',
  COMPLY: 'A compliance rule applied (retention, redaction).',
  FEEDBACK: 'Feedback from a person or an app: thumbs, score, comment.',
};

export const EventKind = builder.enumType('EventKind', {
  description: 'What kind of thing an event records.',
  values: Object.fromEntries(EVENT_KINDS.map((kind) => [kind, { description: KIND_DESCRIPTIONS[kind] }])),
});

export const Thumbs = builder.enumType('Thumbs', {
  description: 'A thumbs up or down.',
  values: { UP: { description: 'Good.' }, DOWN: { description: 'Bad.' } },
});

/** Orders a span's or a trace's events as they happened. */
export function eventsQuery(kind: readonly string[] | null | undefined) {
  return {
    // Each kind once: a list of 40,000 copies is still a filter on one kind.
    where: kind?.length ? { kind: { in: [...new Set(kind)] } } : undefined,
    orderBy: [{ createdAt: 'asc' as const }, { id: 'asc' as const }],
  };
}

export const Event = builder.prismaObject('Event', {
  description: 'Something that happened on a span: a guardrail, an observation, a route, a comply rule, feedback.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The event id.' }),
    spanId: t.exposeID('spanId', { description: 'The span the event is on.' }),
    traceId: t.exposeID('traceId', { description: 'The trace of that span.' }),
    kind: t.field({ type: EventKind, description: 'What kind of event this is.', resolve: (event) => event.kind as never }),
    source: t.exposeString('source', { description: 'Who or what emitted the event (a rule name, "user", "api", ...).' }),
    data: t.expose('data', { type: 'JSON', nullable: true, description: 'The event payload. For FEEDBACK: { thumbs, score, comment }.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the event was recorded.' }),
    span: t.relation('span', { ...readScope, description: 'The span the event is on.' }),
  }),
});

builder.subscriptionFields((t) => ({
  spanEvents: t.field({
    type: Event,
    description:
      'Events on the spans of a trace as they are recorded, feedback included. With replay: true, the events already ' +
      'stored come first, oldest first, then the live ones, with no gap and no duplicate. A trace id with no span yet ' +
      'is waited for: the subscription stays open and its events arrive once it has some.',
    args: {
      traceId: t.arg.id({ required: true, description: 'The trace to watch.' }),
      kind: t.arg({ type: [EventKind], required: false, description: 'Only events of these kinds.' }),
      replay: t.arg.boolean({ required: false, defaultValue: false, description: 'Send the events already stored first.' }),
    },
    subscribe: (_root, args, ctx) =>
      openSpanEventFeed(ctx.services, ctx.scope, args.traceId, { ...feedOptionsOf(ctx), kinds: args.kind, replay: args.replay ?? false }),
    resolve: (event) => unlessFailed(event),
  }),
}));
