import DataLoader from 'dataloader';
import { queryFromInfo } from '@pothos/plugin-prisma';
import type { GraphQLResolveInfo } from 'graphql';
import { builder } from '../schema/builder.js';
import type { Context } from '../schema/context.js';
import { DateTimeRange, FloatRange } from '../schema/ranges.js';
import { connectionFrom, connectionOf, PAGE, pageCost, resolveTotalCount } from '../schema/connections.js';
import { EventKind, eventsQuery } from '../events/event.schema.js';
import { Span, SpanConnection, SpanFilterInput, SpanType } from '../spans/span.schema.js';
import { ROWS_PER_READ, ROWS_PER_TURN, rowsOfSlice, spanPageSlice, spansInTurns, WHOLE_READ_SPANS, type SpanRowsReader } from '../spans/span-pages.js';
import { BadUserInput } from '../errors.js';
import { matchingSpanIds } from '../spans/span-search.js';
import type { SpanFilter } from '../spans/span-filter.js';
import { inPageOrder, MAX_OFFSET, offsetOf, pageSize } from '../db/keyset.js';
import { executionLoader } from '../schema/loaders.js';
import { withPlannedSelection } from '../schema/reload.js';
import type { PlannedQuery } from '../schema/planned-selection.js';
import { traceStarts } from './trace-start.js';
import type { SpanRow, TraceRow } from '../db/rows.js';
import { TRACE_ORIGINS, TRACE_STATUSES } from '../vocabulary.js';
import { compositionSteps, traceSummary } from './trace-rollup.js';
import { MAX_TRACE_IDS, searchTraces, TRACE_ORDER_FIELDS } from './trace-search.js';
import { isStale } from './trace-stale.js';
import { spanTrees, type SpanTree } from '../spans/span-tree.js';
import { admitRows } from '../schema/response-budget.js';
import { admitTraceContent } from '../spans/span-content.js';
import { selectsField } from '../schema/selected-fields.js';
import { deleteTrace } from './trace.service.js';
import { feedOptionsOf, unlessFailed, type FeedFailure } from '../subscriptions/bounded-feed.js';

export const TraceStatus = builder.enumType('TraceStatus', {
  description: 'Where a trace stands.',
  values: {
    RUNNING: { description: 'At least one span is still open.' },
    OK: { description: 'Every span ended, none with an error.' },
    ERROR: { description: 'Every span ended and at least one has an error.' },
  } satisfies Record<(typeof TRACE_STATUSES)[number], { description: string }>,
});

export const TraceOrigin = builder.enumType('TraceOrigin', {
  description: 'Where a trace comes from.',
  values: {
    APP: { description: 'An application recorded it (GraphQL, OpenTelemetry, REST).' },
    PLAYGROUND: { description: 'A playground run: one GENERATION span, the request and answer of the run.' },
  } satisfies Record<(typeof TRACE_ORIGINS)[number], { description: string }>,
});

const StepCount = builder.objectRef<{ type: string; count: number }>('StepCount').implement({
  description: 'How many spans of one type a trace has.',
  fields: (t) => ({
    type: t.field({ type: SpanType, description: 'The span type.', resolve: (step) => step.type as never }),
    count: t.exposeInt('count', { description: 'How many spans of that type.' }),
  }),
});

const inStartOrder = [{ startTime: 'asc' as const }, { id: 'asc' as const }];

const SpanOrder = builder.enumType('SpanOrder', {
  description: 'The order of the spans of a trace.',
  values: {
    START: { description: 'By start time, then id.' },
    TREE: {
      description:
        'Depth-first: each span right before its subtree, siblings by start time then id; roots (spans without a parent, ' +
        'or whose parent is not in the trace) likewise. With Span.depth, one flat list draws a whole tree of any depth.',
    },
  },
});

/**
 * Spans in the tree's depth-first order. A span the tree was read without (written between the two
 * reads) keeps its place after the others, in start order.
 */
/**
 * Every span's `ancestors` in a list cost the sum of their depths in rows (a 3,000-span chain: 4.5
 * million), known from the tree before one is read: a list that cannot fit the response's budget is
 * refused before the work, not after 200,000 rows were built.
 */
function admitAncestors(ctx: Context, info: GraphQLResolveInfo, ids: readonly string[], tree: SpanTree): void {
  let rows = 0;
  for (const id of ids) rows += tree.place(id)?.depth ?? 0;
  admitRows(ctx, info, rows);
}

function inTreeOrder(rows: SpanRow[], tree: SpanTree): SpanRow[] {
  const positionOf = (row: SpanRow) => tree.place(row.id)?.position ?? Number.MAX_SAFE_INTEGER;
  return rows
    .map((row, index) => ({ row, index, position: positionOf(row) }))
    .sort((a, b) => a.position - b.position || a.index - b.index)
    .map(({ row }) => row);
}

export const Trace = builder.prismaObject('Trace', {
  description: 'A tree of spans under one root span, with rollups over all of them.',
  // Select mode: a read loads the columns its fields need. The start always comes along: the spans
  // read with the trace take their startOffsetMs from it.
  select: { id: true, startTime: true },
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The trace id.' }),
    name: t.exposeString('name', { description: "The root span's name; empty until the root span arrives." }),
    status: t.field({
      type: TraceStatus,
      description: 'RUNNING while any span is open, ERROR if any span has an error, else OK.',
      select: { status: true },
      resolve: (trace) => trace.status as never,
    }),
    startTime: t.expose('startTime', { type: 'DateTime', description: 'The earliest span start.' }),
    endTime: t.expose('endTime', { type: 'DateTime', nullable: true, description: 'The latest span end; null until a span ends.' }),
    durationMs: t.exposeFloat('durationMs', {
      nullable: true,
      description:
        'endTime - startTime in milliseconds once the trace has finished; null while it is RUNNING (any span still open, ' +
        'even when the root has ended): its elapsed time is then now - startTime. Ordered by DURATION, running traces come last.',
    }),
    errorCount: t.exposeInt('errorCount', { description: 'How many spans of the trace have an error.' }),
    origin: t.field({
      type: TraceOrigin,
      description: 'APP for what an application recorded, PLAYGROUND for a playground run.',
      select: { origin: true },
      resolve: (trace) => trace.origin as never,
    }),
    sourceTraceId: t.exposeID('sourceTraceId', { nullable: true, description: 'For a playground run: the trace it was replayed from.' }),
    sourceSpanId: t.exposeID('sourceSpanId', { nullable: true, description: 'For a playground run: the span it was opened at.' }),
    stale: t.boolean({
      description:
        'true when the trace is RUNNING and nothing in it changed for longer than the server setting STALE_AFTER_MS ' +
        '(30 minutes unless set): a run that probably died without closing its spans.',
      select: { status: true, updatedAt: true },
      resolve: (trace, _args, ctx) => isStale(trace, { afterMs: ctx.limits.staleAfterMs, now: new Date() }),
    }),
    spanCount: t.exposeInt('spanCount', { description: 'How many spans the trace has.' }),
    seq: t.exposeInt('spanSeq', {
      description:
        'The number of the last span change in the trace (the highest Span.seq; 0 before any): of two states of ' +
        'a trace, from a query and from traceUpdated, the one with the higher seq is the later.',
    }),
    totalTokens: t.exposeInt('totalTokens', { description: 'Tokens over all spans.' }),
    cost: t.exposeFloat('cost', { description: 'Cost over all spans.' }),
    composition: t.field({
      type: [StepCount],
      description: 'Spans per type, in a fixed type order.',
      select: { composition: true },
      resolve: (trace) => compositionSteps(trace.composition as Record<string, number>),
    }),
    summary: t.string({
      description: 'The step composition as a trace explorer row shows it, e.g. "28 steps · 8 llm · 11 tool".',
      select: { spanCount: true, composition: true },
      resolve: (trace) => traceSummary(trace.spanCount, trace.composition as Record<string, number>),
    }),
    input: t.field({
      type: 'JSON',
      nullable: true,
      description: "The root span's input.",
      select: { rootSpan: { select: { input: true } } },
      resolve: (trace) => trace.rootSpan?.input ?? null,
    }),
    output: t.field({
      type: 'JSON',
      nullable: true,
      description: "The root span's output.",
      select: { rootSpan: { select: { output: true } } },
      resolve: (trace) => trace.rootSpan?.output ?? null,
    }),
    inputPreview: t.string({
      nullable: true,
      description:
        "The root span's input as text, cut to 200 characters; of a chat, its last user message. When the root has no input " +
        "(an agent run's root carries none), its first generation's last user message. Only content that was kept.",
      select: { inputPreview: true, generationInputPreview: true },
      resolve: (trace) => trace.inputPreview ?? trace.generationInputPreview,
    }),
    outputPreview: t.string({
      nullable: true,
      description:
        "The root span's output as text, cut to 200 characters; of a chat, its last assistant message. When the root has no " +
        "output, its last generation's answer. Only content that was kept.",
      select: { outputPreview: true, generationOutputPreview: true },
      resolve: (trace) => trace.outputPreview ?? trace.generationOutputPreview,
    }),
    tags: t.stringList({ description: 'The tags of all its spans, sorted.', select: { tags: true }, resolve: (trace) => trace.tags as string[] }),
    meta: t.expose('meta', { type: 'JSON', nullable: true, description: "The root span's meta." }),
    retained: t.exposeBoolean('retained', {
      description: "Whether its root span's content (input, output, instructions) was kept; previews are null when not.",
    }),
    rootSpan: t.relation('rootSpan', { nullable: true, description: 'The root span; walk its children for the tree.' }),
    sessionId: t.exposeID('sessionId', { nullable: true, description: 'The session (conversation, thread) the trace belongs to, if any.' }),
    spans: t.field({
      type: [Span],
      description:
        'All spans of the trace, flat, in start order or depth-first (order: TREE); optionally only those matching a filter. ' +
        `A trace of ${WHOLE_READ_SPANS.toLocaleString('en-US')} spans or more is read from a snapshot (as spanConnection's), ` +
        `${ROWS_PER_READ} rows per statement and ${ROWS_PER_TURN} per turn of the event loop, other requests served in between; \`spans @stream(initialCount: 200)\` sends the first rows at once ` +
        'and the rest as they are read. For a view, page with spanConnection.',
      select: { spanCount: true, spanSeq: true },
      args: {
        filter: t.arg({ type: SpanFilterInput, required: false, description: 'Only spans matching this.' }),
        order: t.arg({ type: SpanOrder, required: false, defaultValue: 'START', description: 'The order of the list.' }),
      },
      // Read after the trace, as rows: joined into the trace's read, thousands of spans would be
      // built into one JSON value on PostgreSQL.
      resolve: async (trace, args, ctx, info) => {
        const order = args.order === 'TREE' ? 'TREE' : 'START';
        const withAncestors = selectsField(info, 'ancestors');
        const streamed = info.fieldNodes.some((node) => node.directives?.some((directive) => directive.name.value === 'stream'));
        if (!args.filter && !streamed) await admitTraceContent(ctx, info, trace.id);
        if (trace.spanCount >= WHOLE_READ_SPANS) {
          // An async iterable: the executor completes each chunk as it comes. (Pothos types a resolver's
          // list as one kind of value; the executor takes either.)
          const admit = withAncestors ? (ids: readonly string[], tree: SpanTree) => admitAncestors(ctx, info, ids, tree) : undefined;
          return spansInTurns(ctx.services, ctx.scope, trace, order, args.filter ?? null, plannedSpans(ctx, info, []), readSpansById(ctx), ctx.signal, admit) as unknown as SpanRow[];
        }
        const spans = traceSpans(ctx, info, args.filter ?? null).load(trace.id);
        if (args.order !== 'TREE' && !withAncestors) return spans;
        const [rows, tree] = await Promise.all([spans, spanTrees(ctx, info).load(trace.id)]);
        if (withAncestors) admitAncestors(ctx, info, rows.map((row) => row.id), tree);
        return args.order === 'TREE' ? inTreeOrder(rows, tree) : rows;
      },
    }),
    spanConnection: t.field({
      type: SpanConnection,
      description:
        'The spans of the trace a page at a time, depth-first (TREE: a parent always before its children) or by start. ' +
        'The pages of one walk are a snapshot: each span that existed at the first page comes exactly once, while writers add spans; ' +
        'those written later come from traceSpans(after: asOf). A page costs the same in a trace of any size.',
      select: { spanSeq: true, spanCount: true },
      complexity: (args) => ({ field: 1, multiplier: pageCost(args.first) }),
      args: {
        first: t.arg.int({ required: false, defaultValue: PAGE.max, description: `Page size: ${PAGE.max} when left out, at most ${PAGE.max}.` }),
        after: t.arg.string({ required: false, description: 'The endCursor of the previous page (or any edge cursor of the same walk).' }),
        skip: t.arg.int({
          required: false,
          defaultValue: 0,
          description:
            'Spans to pass over after the cursor (or from the first): a view that jumps (a dragged scrollbar) reads the page at any position ' +
            "of the walk's snapshot in one request: after the first edge's cursor, skip: position - 1.",
        }),
        order: t.arg({ type: SpanOrder, required: false, defaultValue: 'TREE', description: 'The order of the pages.' }),
        filter: t.arg({ type: SpanFilterInput, required: false, description: 'Only spans matching this.' }),
      },
      resolve: async (trace, args, ctx, info) => {
        const slice = await spanPageSlice(ctx.services, ctx.scope, trace, {
          first: pageSize(args.first, PAGE.max, PAGE.max),
          after: args.after,
          skip: skipOf(args.skip),
          order: args.order === 'START' ? 'START' : 'TREE',
          filter: args.filter ?? null,
        }, ctx.signal);
        const rows = await rowsOfSlice(ctx.scope, trace.id, slice, plannedSpans(ctx, info, ['edges', 'node']), readSpansById(ctx));
        const cursorOf = new Map(slice.ids.map((id, index) => [id, slice.cursors[index]!]));
        const connection = connectionFrom(
          { rows, cursors: [], hasNextPage: slice.hasNextPage, totalCount: () => Promise.resolve(slice.totalCount) },
          rows.map((node) => ({ cursor: cursorOf.get(node.id)!, node })),
        );
        return { ...connection, asOf: slice.snapshot.asOf };
      },
    }),
    events: t.relation('events', {
      description: 'Events on any span of the trace, oldest first.',
      args: { kind: t.arg({ type: [EventKind], required: false, description: 'Only events of these kinds.' }) },
      query: (args) => eventsQuery(args.kind),
    }),
  }),
});

/** The most spans `skip` passes over. */
const MAX_SKIP = 100_000_000;

function skipOf(skip: number | null | undefined): number {
  if (skip == null) return 0;
  if (!Number.isSafeInteger(skip) || skip < 0 || skip > MAX_SKIP) throw new BadUserInput(`skip: must be a whole number from 0 to ${MAX_SKIP}`, { field: 'skip' });
  return skip;
}

/** The selection plugin-prisma planned for the spans at `path` under this field, as a read by id takes it. */
function plannedSpans(ctx: Context, info: GraphQLResolveInfo, path: string[]): PlannedQuery {
  return ctx.services.db.planned(queryFromInfo({ context: ctx, info, path, select: { id: true, traceId: true } })) as PlannedQuery;
}

function readSpansById(ctx: Context): SpanRowsReader {
  return (query, where) => ctx.services.db.read.span.findMany({ ...query, where }) as Promise<SpanRow[]>;
}

/**
 * The spans of every trace in a response, all of them in one statement, or those matching a filter
 * in two (matching ids, then the rows), however many traces ask. Each reads the columns selected.
 */
function traceSpans(ctx: Context, info: GraphQLResolveInfo, filter: SpanFilter | null) {
  // Planned for each trace's field, not once per batch: planning records, under the field's own
  // path, that its rows carry the selected columns (else each field would fall back to a query).
  const query = ctx.services.db.planned(queryFromInfo({ context: ctx, info, select: { id: true, traceId: true } }));
  // Keyed by the query itself, not the field's path: aliases that select the same (six aliases of one
  // trace's spans) share one read, where each would otherwise walk the same rows again.
  const key = `Trace.spans:${JSON.stringify(query)}:${JSON.stringify(filter)}`;
  return executionLoader(ctx, info, key, () => {
    type Row = { id: string; traceId: string };
    const read = (where: object, orderBy?: typeof inStartOrder) =>
      ctx.services.db.read.span.findMany({ ...query, where: { projectId: ctx.scope.projectId, ...where }, orderBy }) as Promise<Row[]>;
    return new DataLoader<string, SpanRow[]>(async (traceIds) => {
      let byTrace: Map<string, Row[]>;
      if (!filter) {
        byTrace = new Map(traceIds.map((id) => [id, []]));
        for (const row of await read({ traceId: { in: [...traceIds] } }, inStartOrder)) byTrace.get(row.traceId)?.push(row);
      } else {
        const idsByTrace = await matchingSpanIds(ctx.services.db, ctx.scope, traceIds, filter);
        const ids = [...idsByTrace.values()].flat();
        const rows = ids.length ? await read({ id: { in: ids } }) : [];
        byTrace = new Map(traceIds.map((traceId) => [traceId, inPageOrder(idsByTrace.get(traceId) ?? [], rows)]));
      }
      // Rows with the selected columns (the Span type is in select mode), not whole rows.
      return traceIds.map((traceId) => (byTrace.get(traceId) ?? []) as unknown as SpanRow[]);
    });
  });
}

export const TraceFilterInput = builder.inputType('TraceFilter', {
  description: 'Conditions on traces, as the trace explorer offers them; all given conditions must hold.',
  fields: (t) => ({
    search: t.string({ required: false, description: 'Case-insensitive substring of the trace name.' }),
    status: t.field({ type: [TraceStatus], required: false, description: 'Any of these statuses.' }),
    durationMs: t.field({ type: FloatRange, required: false, description: 'Duration within this range.' }),
    cost: t.field({ type: FloatRange, required: false, description: 'Cost within this range.' }),
    totalTokens: t.field({ type: FloatRange, required: false, description: 'Tokens within this range.' }),
    startTime: t.field({ type: DateTimeRange, required: false, description: 'Started within this range.' }),
    tags: t.stringList({ required: false, description: 'Has every one of these tags (on any span).' }),
    meta: t.field({ type: 'JSON', required: false, description: "The root span's meta contains these key/values." }),
    model: t.string({ required: false, description: 'Has a span that ran this model.' }),
    sessionId: t.id({ required: false, description: 'In this session.' }),
    ids: t.idList({
      required: false,
      description: `Only the traces with these ids (at most ${MAX_TRACE_IDS}; an empty list matches none): the rows a live explorer shows.`,
    }),
    stale: t.boolean({
      required: false,
      description:
        'true: only stale traces (RUNNING with no change for longer than STALE_AFTER_MS, see Trace.stale); false: only the others. ' +
        'In traceUpdated a change resets the clock, so a change is checked as of when it arrives.',
    }),
    hasSpan: t.field({
      type: SpanFilterInput,
      required: false,
      description: 'Has at least one span matching this: a failed tool, a guardrail event, a slow generation ...',
    }),
    origin: t.field({
      type: [TraceOrigin],
      required: false,
      description: 'Any of these origins. Left out: APP only, so playground runs stay out of the explorer; a filter that lists `ids` matches them whatever their origin.',
    }),
  }),
});

const TraceOrderField = builder.enumType('TraceOrderField', {
  description: 'What traces can be sorted by.',
  values: {
    START_TIME: { description: 'When the trace started.' },
    DURATION: { description: 'How long it took; running traces (durationMs null) come after the finished ones in both directions.' },
    COST: { description: 'What it cost.' },
    TOKENS: { description: 'How many tokens it used.' },
    SPAN_COUNT: { description: 'How many spans it has.' },
  } satisfies Record<(typeof TRACE_ORDER_FIELDS)[number], { description: string }>,
});

const OrderDirection = builder.enumType('OrderDirection', {
  description: 'Sort direction.',
  values: { ASC: { description: 'Smallest first.' }, DESC: { description: 'Largest (newest) first.' } },
});

const TraceOrderBy = builder.inputType('TraceOrderBy', {
  description: 'How to sort traces. Ties are broken by id, so pages never overlap.',
  fields: (t) => ({
    field: t.field({ type: TraceOrderField, required: false, defaultValue: 'START_TIME', description: 'Sort key.' }),
    direction: t.field({ type: OrderDirection, required: false, defaultValue: 'DESC', description: 'Sort direction.' }),
  }),
});

export const TraceConnection = builder.connectionObject({
  type: Trace,
  name: 'TraceConnection',
  description: 'A page of traces.',
  fields: (t) => ({
    totalCount: t.int({ description: 'How many traces match, over all pages.', resolve: resolveTotalCount }),
  }),
}, { description: 'A trace in a page, with its cursor.' });

builder.queryFields((t) => ({
  trace: t.prismaField({
    type: 'Trace',
    nullable: true,
    description: 'One trace by id, or null when it does not exist in this project.',
    args: { id: t.arg.id({ required: true, description: 'The trace id.' }) },
    resolve: async (query, _root, args, ctx, info) => {
      const trace = await ctx.services.db.read.trace.findUnique({
        ...ctx.services.db.planned(query),
        where: { projectId_id: { projectId: ctx.scope.projectId, id: args.id } },
      });
      if (trace) traceStarts(ctx, info).remember(trace);
      return trace;
    },
  }),
  traces: t.field({
    type: TraceConnection,
    complexity: (args) => ({ field: 1, multiplier: pageCost(args.first) }),
    description: 'Traces of the project, newest first unless ordered otherwise; filtered as the trace explorer does.',
    args: {
      first: t.arg.int({ required: false, description: 'Page size: 50 when left out, at most 500.' }),
      after: t.arg.string({ required: false, description: 'The endCursor of the previous page.' }),
      offset: t.arg.int({
        required: false,
        description: `Traces to skip before the page (after the cursor, if any), at most ${MAX_OFFSET}: for clients that page by number. Cursors are cheaper.`,
      }),
      filter: t.arg({ type: TraceFilterInput, required: false, description: 'Only traces matching this.' }),
      orderBy: t.arg({ type: TraceOrderBy, required: false, description: 'Sort order; newest first when left out.' }),
    },
    resolve: async (_root, args, ctx, info) => {
      const first = pageSize(args.first, PAGE.default, PAGE.max);
      const connection = await connectionOf(
        ctx,
        info,
        'Trace',
        (columns) =>
          searchTraces(ctx.services.db, ctx.scope, {
            first,
            after: args.after,
            offset: offsetOf(args.offset),
            filter: args.filter,
            orderBy: args.orderBy,
            columns,
            staleAfterMs: ctx.limits.staleAfterMs,
          }),
        (query, where) => ctx.services.db.read.trace.findMany({ ...query, where }),
      );
      const starts = traceStarts(ctx, info);
      for (const edge of connection.edges) starts.remember(edge.node);
      return connection;
    },
  }),
}));

builder.mutationFields((t) => ({
  deleteTrace: t.boolean({
    nullable: true, // see builder.mutationType
    skipTypeScopes: true,
    authScopes: { ADMIN: true },
    description:
      'Deletes a trace with all its spans, events and metrics at once (ADMIN), for erasure requests; its live subscribers ' +
      'end with NOT_FOUND. true when it was deleted, false when the project has no such trace.',
    args: { id: t.arg.id({ required: true, description: 'The trace id.' }) },
    resolve: (_root, args, ctx) => deleteTrace(ctx.services, ctx.scope.projectId, args.id),
  }),
}));

builder.subscriptionFields((t) => ({
  traceUpdated: t.prismaField({
    type: 'Trace',
    description: 'Traces created or whose rollups changed; only those matching `filter`, the same filter as `traces`.',
    args: { filter: t.arg({ type: TraceFilterInput, required: false, description: 'Only traces matching this.' }) },
    subscribe: (_root, args, ctx) =>
      ctx.services.traceFeeds.open(ctx.scope, args.filter, { ...feedOptionsOf(ctx), staleAfterMs: ctx.limits.staleAfterMs }),
    resolve: async (query, change, _args, ctx, info) => {
      // The trace as this change left it; relations the client selected are read for it.
      const trace = unlessFailed(change as TraceRow | FeedFailure);
      traceStarts(ctx, info).remember(trace);
      const [selected] = await withPlannedSelection('Trace', query as PlannedQuery, [trace], (planned, ids) =>
        ctx.services.db.read.trace.findMany({ ...ctx.services.db.planned(planned), where: { projectId: ctx.scope.projectId, id: { in: ids } } }),
      );
      return { ...selected!, ...trace };
    },
  }),
}));
