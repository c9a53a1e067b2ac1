import { builder, readScope } from '../schema/builder.js';
import type { Context } from '../schema/context.js';
import { withPlannedSelection } from '../schema/reload.js';
import type { PlannedQuery } from '../schema/planned-selection.js';
import { selectsField } from '../schema/selected-fields.js';
import { traceStarts, type TraceStarts } from '../traces/trace-start.js';
import { DateTimeRange, FloatRange } from '../schema/ranges.js';
import { EventKind, eventsQuery } from '../events/event.schema.js';
import { pageSize } from '../db/keyset.js';
import { SPAN_TYPES, SPAN_TYPE_DESCRIPTIONS } from '../vocabulary.js';
import { COST_SOURCES } from '../costs/cost.service.js';
import type { SpanRow } from '../db/rows.js';
import { searchSpans } from './span-search.js';
import { connectionOf, PAGE, pageCost, resolveTotalCount } from '../schema/connections.js';
import { SPAN_JSON_FIELDS, spanJson } from './span-json.js';
import type { SpanChangeEvent } from './span-feed.js';
import { CONTENT_COLUMNS, CONTENT_FLAGS } from '../pubsub.js';
import { executionLoader, selectionKey } from '../schema/loaders.js';
import { chargeRows, COUNTS_ITS_ROWS } from '../schema/response-budget.js';
import type { GraphQLResolveInfo } from 'graphql';
import DataLoader from 'dataloader';
import { queryFromInfo } from '@pothos/plugin-prisma';
import { placeOfSpan, type SubtreeRollup } from './span-tree.js';
import { spanContentField } from './span-content.js';
import { feedOptionsOf, unlessFailed } from '../subscriptions/bounded-feed.js';
import { BadUserInput } from '../errors.js';

export const CostSource = builder.enumType('CostSource', {
  description: "Where a span's cost came from.",
  values: {
    PROVIDED: { description: 'The writer sent it.' },
    COMPUTED: { description: "Computed from the span's model and tokens with the project's price, else the price table shipped with Spantree." },
    UNKNOWN: { description: 'No cost was sent and none could be computed (no model, no tokens, or a model without a price).' },
  } satisfies Record<(typeof COST_SOURCES)[number], { description: string }>,
});

export const SpanType = builder.enumType('SpanType', {
  description: 'What kind of step a span is.',
  values: Object.fromEntries(SPAN_TYPES.map((type) => [type, { description: SPAN_TYPE_DESCRIPTIONS[type] }])),
});

/** The columns `json` puts in its object. */
const SPAN_JSON_COLUMNS = Object.fromEntries(SPAN_JSON_FIELDS.map((name) => [name, true])) as { [K in (typeof SPAN_JSON_FIELDS)[number]]: true };

/**
 * Milliseconds from the trace's start to the span's: from a trace row loaded with the span when there
 * is one, else from the execution's trace start times.
 */
function startOffset(span: { startTime: Date; traceId: string }, starts: TraceStarts): number | Promise<number> {
  const joined = (span as { trace?: { startTime?: unknown } }).trace?.startTime;
  const start = joined instanceof Date ? joined : starts.of(span.traceId);
  return start instanceof Date ? span.startTime.getTime() - start.getTime() : start.then((date) => span.startTime.getTime() - date.getTime());
}

const SpanSubtree = builder.objectRef<SubtreeRollup>('SpanSubtree').implement({
  description: 'Rollups of a span and everything under it, at any depth.',
  fields: (t) => ({
    spanCount: t.exposeInt('spanCount', { description: 'The span itself and all its descendants.' }),
    totalTokens: t.exposeInt('totalTokens', { description: 'Tokens over the span and its descendants.' }),
    cost: t.exposeFloat('cost', { description: 'Cost in USD over the span and its descendants, to 1e-8.' }),
    errorCount: t.exposeInt('errorCount', { description: 'How many of the span and its descendants have an error.' }),
  }),
});

/**
 * Spans by id with the selection planned at this field, for `ancestors`: the ancestors of every span
 * of a response in one statement, each read once however many spans share it, and handed out at
 * once (no promise per span) once read. A span waiting for rows costs one promise, however deep it
 * sits: asking for each of its ancestors (a promise each) made a 2,000-span chain's ancestors two
 * million promises.
 */
function ancestorRows(ctx: Context, info: GraphQLResolveInfo, ids: string[]): SpanRow[] | Promise<SpanRow[]> {
  const rows = executionLoader(ctx, info, `Span.ancestors:${selectionKey(info)}`, () => {
    // The same path plans the same query: the batch reads with the first one's.
    const query = ctx.services.db.planned(queryFromInfo({ context: ctx, info, select: { id: true, traceId: true } }));
    const loaded = new Map<string, SpanRow>();
    const loader = new DataLoader<string, SpanRow>(async (batch) => {
      const found = (await ctx.services.db.read.span.findMany({
        ...query,
        where: { projectId: ctx.scope.projectId, id: { in: [...batch] } },
      })) as unknown as SpanRow[];
      for (const row of found) loaded.set(row.id, row);
      return batch.map((id) => loaded.get(id) ?? new Error(`span ${id} not found while its descendants were read`));
    });
    /** Ids asked of the loader so far, and a promise settled once all of them are read. */
    return { query, loaded, loader, asked: new Set<string>(), read: Promise.resolve() as Promise<unknown> };
  });
  // Planned for each span's field all the same: planning records, under the field's own path, that
  // these rows carry the selection (else each of their fields would fall back to a query of its own).
  queryFromInfo({ context: ctx, info, select: { id: true, traceId: true } });
  const fresh: string[] = [];
  let missing = false;
  for (const id of ids) {
    if (rows.loaded.has(id)) continue;
    missing = true;
    if (!rows.asked.has(id)) {
      rows.asked.add(id);
      fresh.push(id);
    }
  }
  if (!missing) return ids.map((id) => rows.loaded.get(id)!);
  if (fresh.length) rows.read = Promise.all([rows.read, rows.loader.loadMany(fresh)]);
  return rows.read.then(() =>
    ids.map((id) => {
      const row = rows.loaded.get(id);
      if (!row) throw new Error(`span ${id} not found while its descendants were read`);
      return row;
    }),
  );
}

/**
 * The columns every read of spans loads: small, and what every view of a span shows. Content (input,
 * output, meta, instructions ...), tags and the error text are loaded only when selected.
 */
const BASE_COLUMNS = {
  id: true,
  traceId: true,
  parentId: true,
  name: true,
  seq: true,
  type: true,
  startTime: true,
  endTime: true,
  durationMs: true,
  inputTokens: true,
  outputTokens: true,
  totalTokens: true,
  cost: true,
  costSource: true,
  score: true,
  retained: true,
} as const;

/** A span's children, in the order they started. */
const inStartOrder = { orderBy: [{ startTime: 'asc' as const }, { id: 'asc' as const }] };

export const Span = builder.prismaObject('Span', {
  description: 'One step of a trace: an LLM call, a tool call, a function or any nested unit of work.',
  // Select mode: a read loads the columns its fields need, not whole rows with every input and output.
  // The small columns every view shows are always loaded, so their fields resolve from the row as it
  // is: a field with a selection of its own costs a lookup of what its row was loaded with, per field
  // and per row (a fifth of a 100,000-span read's time, most of it garbage).
  select: BASE_COLUMNS,
  fields: (t) => ({
    id: t.id({ description: 'The span id, as the writer chose it or as Spantree generated it.', resolve: (span) => span.id }),
    traceId: t.id({ description: 'The trace the span belongs to.', resolve: (span) => span.traceId }),
    trace: t.relation('trace', { ...readScope, description: 'The trace the span belongs to.' }),
    parentId: t.id({
      nullable: true,
      description: 'The parent span; null on a root span. Set even while the parent has not arrived yet.',
      resolve: (span) => span.parentId,
    }),
    parent: t.relation('parent', { ...readScope, nullable: true, description: 'The parent span, once stored.' }),
    children: t.relation('children', {
      ...readScope,
      query: inStartOrder,
      // A tree's levels together hold at most the trace's spans: nesting adds a level, it does not multiply.
      complexity: { field: 1, multiplier: 1 },
      description: 'The spans nested directly under this one, in start order.',
    }),
    name: t.string({ description: 'A human-readable label for the step.', resolve: (span) => span.name }),
    seq: t.int({
      description:
        "The number of the span's last change in its trace (as SpanChange.seq). The highest seq of the spans a " +
        'client read is where traceSpans(after:) resumes, with nothing missed and nothing sent twice.',
      resolve: (span) => span.seq,
    }),
    type: t.field({ type: SpanType, description: 'What kind of step this is.', resolve: (span) => span.type as never }),
    startTime: t.field({ type: 'DateTime', description: 'When the step started.', resolve: (span) => span.startTime }),
    endTime: t.field({ type: 'DateTime', nullable: true, description: 'When the step ended; null while it runs.', resolve: (span) => span.endTime }),
    durationMs: t.float({ nullable: true, description: 'endTime - startTime in milliseconds; null while it runs.', resolve: (span) => span.durationMs }),
    startOffsetMs: t.float({
      description: 'Where the span starts within its trace: milliseconds after the trace started.',
      // The trace's start is read once per request for all spans and levels, not joined per span.
      resolve: (span, _args, ctx, info) => startOffset(span, traceStarts(ctx, info)),
    }),
    // Content is measured before it is read, and read in bounded pieces (src/spans/span-content.ts).
    input: t.field({
      ...readScope,
      type: 'JSON',
      nullable: true,
      description: 'What went into the step; null when not retained.',
      resolve: (span, _args, ctx, info) => spanContentField(ctx, info, span, 'input'),
    }),
    output: t.field({
      ...readScope,
      type: 'JSON',
      nullable: true,
      description: 'What came out of the step; null when not retained.',
      resolve: (span, _args, ctx, info) => spanContentField(ctx, info, span, 'output'),
    }),
    error: t.exposeString('error', { nullable: true, description: 'The error message, if the step failed.' }),
    meta: t.expose('meta', { type: 'JSON', nullable: true, description: 'Metadata for filtering and context (user, tenant, flags).' }),
    tags: t.stringList({ description: 'Tags, sorted.', select: { tags: true }, resolve: (span) => span.tags as string[] }),
    score: t.float({ nullable: true, description: 'A numeric score on the span.', resolve: (span) => span.score }),
    model: t.exposeString('model', { nullable: true, description: 'The model that ran (GENERATION spans).' }),
    inputTokens: t.int({ nullable: true, description: 'Prompt tokens.', resolve: (span) => span.inputTokens }),
    outputTokens: t.int({ nullable: true, description: 'Completion tokens.', resolve: (span) => span.outputTokens }),
    totalTokens: t.int({
      nullable: true,
      description: 'All tokens; inputTokens + outputTokens unless the writer set it.',
      resolve: (span) => span.totalTokens,
    }),
    cost: t.float({
      nullable: true,
      description: 'What the step cost in USD, to 1e-8: as the writer sent it, or computed from the price table (see costSource).',
      resolve: (span) => span.cost,
    }),
    costSource: t.field({
      type: CostSource,
      description: 'Where cost came from.',
      resolve: (span) => span.costSource as never,
    }),
    instructions: t.string({
      ...readScope,
      nullable: true,
      description: 'The instructions (system prompt) used; null when not retained.',
      resolve: (span, _args, ctx, info) => spanContentField(ctx, info, span, 'instructions') as Promise<string | null>,
    }),
    observations: t.string({
      ...readScope,
      nullable: true,
      resolve: (span, _args, ctx, info) => spanContentField(ctx, info, span, 'observations') as Promise<string | null>,
      description:
        "What a judge observed about the step: an evaluation's findings as text. Content, kept under a FULL retention " +
        'rule only; null when no judge wrote any or when not retained.',
    }),
    scorerContext: t.field({
      ...readScope,
      type: 'JSON',
      nullable: true,
      resolve: (span, _args, ctx, info) => spanContentField(ctx, info, span, 'scorerContext'),
      description:
        "The judge's context per criterion, a JSON object: each key a criterion, its value what the judge weighed for it " +
        '(e.g. {"accuracy": {"score": 0.9, "reason": "..."}}). Content, like observations; null when none or not retained.',
    }),
    retained: t.boolean({
      description:
        "Whether this span's content (input, output, instructions, observations, scorerContext) was kept: true when its " +
        'latest write was under a FULL retention rule, false under METADATA_ONLY (the default) and once contentTtlDays has erased it.',
      resolve: (span) => span.retained,
    }),
    events: t.relation('events', {
      ...readScope,
      description: 'Events on the span, oldest first.',
      args: { kind: t.arg({ type: [EventKind], required: false, description: 'Only events of these kinds.' }) },
      query: (args) => eventsQuery(args.kind),
    }),
    metrics: t.relation('metrics', {
      ...readScope,
      description: 'Metrics on the span, oldest first.',
      query: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] },
    }),
    json: t.field({
      ...readScope,
      type: 'JSON',
      description: 'The whole span as one JSON object (fields, events, metrics), for "copy span".',
      select: {
        ...SPAN_JSON_COLUMNS,
        events: eventsQuery(null),
        metrics: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] },
      },
      resolve: (span) => spanJson(span),
    }),
  }),
});

// Where a span sits in its trace's tree, from one read of the trace's skeleton per response
// (src/spans/span-tree.ts): a whole tree's worth of these costs a constant number of statements.
builder.prismaObjectFields(Span, (t) => ({
    depth: t.int({
      description:
        "How deep the span sits in its trace's tree: 0 for a root (a span without a parent, or whose parent is not in the " +
        "trace), its parent's depth + 1 otherwise. With Trace.spans(order: TREE) it draws the whole tree from one flat list.",
      resolve: (span, _args, ctx, info) => placeOfSpan(ctx, info, span, (place) => place.depth),
    }),
    ancestors: t.field({
      type: [Span],
      description:
        "The spans from the trace's root down to this span's parent, root first (a breadcrumb); empty for a root. " +
        'Each counts as a row of the response (MAX_RESPONSE_ROWS): in a deep chain, every span\'s ancestors add up fast.',
      // Counted by depth before any row is read: a chain's ancestors grow with the square of its length.
      extensions: COUNTS_ITS_ROWS,
      resolve: (span, _args, ctx, info) => {
        const rowsOf = (ids: string[]) => (ids.length === 0 ? [] : ancestorRows(ctx, info, ids));
        const ids = placeOfSpan(ctx, info, span, (place, tree) => {
          chargeRows(ctx, info, place.depth);
          return tree.ancestorsOf(span.id);
        });
        return Array.isArray(ids) ? rowsOf(ids) : ids.then(rowsOf);
      },
    }),
    childCount: t.int({
      description: 'How many spans sit directly under this one.',
      resolve: (span, _args, ctx, info) => placeOfSpan(ctx, info, span, (place) => place.childCount),
    }),
    descendantCount: t.int({
      description: 'How many spans sit under this one, at any depth.',
      resolve: (span, _args, ctx, info) => placeOfSpan(ctx, info, span, (place) => place.descendantCount),
    }),
    subtree: t.field({
      type: SpanSubtree,
      description: 'Rollups (spans, tokens, cost, errors) of this span and everything under it.',
      resolve: (span, _args, ctx, info) => placeOfSpan(ctx, info, span, (place) => place.subtree),
    }),
}));

export const SpanFilterInput = builder.inputType('SpanFilter', {
  description: 'Conditions on spans; all given conditions must hold.',
  fields: (t) => ({
    search: t.string({ required: false, description: 'Case-insensitive substring of the span name.' }),
    name: t.string({ required: false, description: 'The exact span name.' }),
    type: t.field({ type: [SpanType], required: false, description: 'Any of these span types.' }),
    model: t.string({ required: false, description: 'The exact model name.' }),
    hasError: t.boolean({ required: false, description: 'true: failed spans only; false: spans without an error.' }),
    score: t.field({ type: FloatRange, required: false, description: 'Score within this range.' }),
    durationMs: t.field({ type: FloatRange, required: false, description: 'Duration within this range (ended spans only).' }),
    startTime: t.field({ type: DateTimeRange, required: false, description: 'Started within this range.' }),
    tags: t.stringList({ required: false, description: 'Has every one of these tags.' }),
    meta: t.field({ type: 'JSON', required: false, description: 'meta contains these key/values, e.g. {"userId": "u-123"}.' }),
    traceId: t.id({ required: false, description: 'In this trace.' }),
    parentId: t.id({ required: false, description: 'Directly under this span.' }),
    isRoot: t.boolean({ required: false, description: 'true: root spans only; false: non-root spans only.' }),
    hasEventKind: t.field({ type: [EventKind], required: false, description: 'Has at least one event of any of these kinds.' }),
  }),
});

export const SpanConnection = builder.connectionObject({
  type: Span,
  name: 'SpanConnection',
  description: 'A page of spans.',
  fields: (t) => ({
    totalCount: t.int({
      description: 'How many spans match, over all pages (for Trace.spanConnection: in its snapshot).',
      resolve: resolveTotalCount,
    }),
    asOf: t.int({
      nullable: true,
      description:
        "Trace.spanConnection: the trace's change number the pages are a snapshot of. Every page of one walk holds the spans " +
        'that existed then; pass it to traceSpans(after:) to get every change since, with nothing missed and nothing twice. ' +
        'Null for the project-wide spans list.',
      resolve: (connection) => (connection as { asOf?: number }).asOf ?? null,
    }),
  }),
}, { description: 'A span in a page, with its cursor.' });

builder.queryFields((t) => ({
  span: t.prismaField({
    type: 'Span',
    nullable: true,
    description: 'One span by id, or null when it does not exist in this project.',
    args: { id: t.arg.id({ required: true, description: 'The span id.' }) },
    resolve: async (query, _root, args, ctx, info) => {
      const span = await ctx.services.db.read.span.findUnique({
        // One span: its trace's start joins the same read (one statement on PostgreSQL) rather than
        // costing a statement of its own; the spans of its subtree take it from there.
        ...ctx.services.db.planned(selectsField(info, 'startOffsetMs') ? withTraceStart(query) : query),
        where: { projectId_id: { projectId: ctx.scope.projectId, id: args.id } },
      });
      const trace = (span as { trace?: { startTime?: unknown } } | null)?.trace;
      if (span && trace) traceStarts(ctx, info).remember({ id: span.traceId, startTime: trace.startTime });
      return span;
    },
  }),
  spans: t.field({
    type: SpanConnection,
    complexity: (args) => ({ field: 1, multiplier: pageCost(args.first) }),
    description: 'Spans across all traces of the project, newest first.',
    args: {
      first: t.arg.int({ required: false, description: 'Page size: 50 when left out, at most 500.' }),
      after: t.arg.string({ required: false, description: 'The endCursor of the previous page.' }),
      filter: t.arg({ type: SpanFilterInput, required: false, description: 'Only spans matching this.' }),
    },
    resolve: (_root, args, ctx, info) => {
      const first = pageSize(args.first, PAGE.default, PAGE.max);
      return connectionOf(
        ctx,
        info,
        'Span',
        (columns) => searchSpans(ctx.services.db, ctx.scope, { first, after: args.after, filter: args.filter, columns }),
        (query, where) => ctx.services.db.read.span.findMany({ ...query, where }),
      );
    },
  }),
}));

/** Spans a mutation wrote, with the relations the client selected on them. */
export function spansAsSelected(query: PlannedQuery, ctx: Context, spans: SpanRow[]): Promise<SpanRow[]> {
  return withPlannedSelection('Span', query, spans, (planned, ids) =>
    ctx.services.db.read.span.findMany({ ...ctx.services.db.planned(planned), where: { projectId: ctx.scope.projectId, id: { in: ids } } }),
  );
}

/** A single span's planned read, with its trace's start time selected too. */
function withTraceStart<Query extends PlannedQuery>(query: Query): Query {
  // The Trace type always selects its start: a trace the client selected brings it along.
  if (!query.select || query.select.trace) return query;
  return { ...query, select: { ...query.select, trace: { select: { startTime: true } } } };
}

/** Whether the selection at `info` shows content columns that `span` (a published change) was sent without. */
function missesContent(info: GraphQLResolveInfo, span: SpanRow): boolean {
  return CONTENT_COLUMNS.some((column) => !(column in span) && selectsField(info, column));
}

/**
 * A changed span's content, read once per change for every execution of it (all the subscribers of
 * the trace in this process with the same rights). Read now, it is the span's current content: a
 * later change of it may already be in, and will be sent in its turn.
 */
function spanContent(ctx: Context, info: GraphQLResolveInfo, span: SpanRow) {
  return executionLoader(ctx, info, 'span-content', () =>
    ctx.services.db.read.span.findUnique({
      where: { projectId_id: { projectId: ctx.scope.projectId, id: span.id } },
      select: CONTENT_FLAGS,
    }),
  ).then((content) => content ?? undefined);
}

export const SpanChangeOp = builder.enumType('SpanChangeOp', {
  description: 'What happened to a span.',
  values: {
    CREATED: { description: 'The span was recorded (or, on replay, was already stored).' },
    UPDATED: { description: 'The span changed, e.g. it ended with its output.' },
    DELETED: {
      description:
        'The span was deleted (deleteSpan deletes a span with its subtree: one DELETED change per span). `span` has its ' +
        'own fields as they were; what was stored with it (children, events, metrics, content) is gone.',
    },
  },
});

const SpanChange = builder.objectRef<SpanChangeEvent>('SpanChange').implement({
  description: 'A span created, updated or deleted in a trace, with the state the change left it in (a deleted one: as it was).',
  fields: (t) => ({
    op: t.field({ type: SpanChangeOp, description: 'Created, updated or deleted.', resolve: (change) => change.op }),
    seq: t.exposeInt('seq', {
      description:
        "The number of the span's last change in its trace. Live changes arrive in increasing seq, the order they were committed.",
    }),
    replayed: t.exposeBoolean('replayed', {
      description: 'true for spans sent from what was already stored (replay: true), false for live changes.',
    }),
    span: t.prismaField({
      type: 'Span',
      description: 'The span, as this change left it; select what you need (children, events, ...).',
      resolve: async (query, change, _args, ctx, info) => {
        const [loaded] = await spansAsSelected(query, ctx, [change.span]);
        // Changes and snapshots come without content (CONTENT_COLUMNS in src/pubsub.ts): read when selected.
        const content =
          loaded === change.span && missesContent(info, change.span) ? await (change.content?.() ?? spanContent(ctx, info, change.span)) : undefined;
        // Relations come from the database; the span's own fields stay as this change left them.
        return { ...loaded!, ...content, ...change.span };
      },
    }),
  }),
});

builder.subscriptionFields((t) => ({
  traceSpans: t.field({
    type: SpanChange,
    description:
      'Every span created, updated or deleted in a trace, in commit order. With replay: true, the spans already ' +
      'stored come first (as CREATED, in start order), then the live changes, with no gap and no duplicate. ' +
      'A trace id with no span yet is waited for: the subscription stays open and the first span arrives as it is written. ' +
      'A client that read the spans itself (trace { spans { seq ... } }), or lost its connection, passes after: the highest ' +
      'seq it holds, and gets only the changes since: no replay, no gap, no duplicate. Deletions are not stored: one made ' +
      'while the client was away reaches it on resume only while this server still holds it among the trace\'s recent ' +
      'changes, so read the trace again after a long absence.',
    args: {
      traceId: t.arg.id({ required: true, description: 'The trace to tail.' }),
      replay: t.arg.boolean({ required: false, defaultValue: false, description: 'Send the spans already stored first.' }),
      after: t.arg.int({
        required: false,
        description: 'Resume after this seq (Span.seq or SpanChange.seq): only later changes are sent. Not with replay: true.',
      }),
    },
    subscribe: (_root, args, ctx) => {
      if (args.after !== null && args.after !== undefined) {
        if (args.after < 0) throw new BadUserInput('after: a seq is 0 or more', { argument: 'after' });
        if (args.replay) throw new BadUserInput('Use replay: true (send every stored span) or after: seq (send what changed since), not both', { argument: 'after' });
      }
      return ctx.services.spanFeeds.open(ctx.scope, args.traceId, { ...feedOptionsOf(ctx), replay: args.replay ?? false, after: args.after });
    },
    resolve: (change) => unlessFailed(change),
  }),
}));
