import DataLoader from 'dataloader';
import { builder, readScope } from '../schema/builder.js';
import { DateTimeRange } from '../schema/ranges.js';
import { connectionFrom, connectionOf, PAGE, pageCost, resolveTotalCount } from '../schema/connections.js';
import { executionLoader } from '../schema/loaders.js';
import { pageSize } from '../db/keyset.js';
import { TraceConnection, TraceFilterInput } from '../traces/trace.schema.js';
import { searchTraces } from '../traces/trace-search.js';
import { traceStarts } from '../traces/trace-start.js';
import type { SessionRow } from '../db/rows.js';
import { searchSessions, sessionsByIds } from './session.service.js';

export const Session = builder.prismaObject('Session', {
  description:
    'A conversation or thread: the traces that name the same session id (`sessionId` on a root span, or OTLP\'s ' +
    '`gen_ai.conversation.id` / `session.id`), with rollups over them.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The session id, as the writer named it.' }),
    traceCount: t.exposeInt('traceCount', { description: 'How many traces the session has.' }),
    firstTime: t.expose('firstTime', { type: 'DateTime', description: 'When its earliest trace started.' }),
    lastTime: t.expose('lastTime', { type: 'DateTime', description: 'The latest time any of its traces reached: its end, or its start while it runs.' }),
    totalTokens: t.exposeInt('totalTokens', { description: 'Tokens over all its traces.' }),
    cost: t.exposeFloat('cost', { description: 'Cost over all its traces, in USD to 1e-8.' }),
    errorCount: t.exposeInt('errorCount', { description: 'How many of its traces have a failed span.' }),
    traces: t.field({
      ...readScope,
      type: TraceConnection,
      complexity: (args) => ({ field: 1, multiplier: pageCost(args.first) }),
      description: 'Its traces, newest first; filtered as `traces` is.',
      args: {
        first: t.arg.int({ required: false, description: 'Page size: 50 when left out, at most 500.' }),
        after: t.arg.string({ required: false, description: 'The endCursor of the previous page.' }),
        filter: t.arg({ type: TraceFilterInput, required: false, description: 'Only traces matching this too.' }),
      },
      resolve: async (session, args, ctx, info) => {
        const first = pageSize(args.first, PAGE.default, PAGE.max);
        const filter = { ...args.filter, sessionId: session.id };
        const connection = await connectionOf(
          ctx,
          info,
          'Trace',
          (columns) => searchTraces(ctx.services.db, ctx.scope, { first, after: args.after, filter, columns, staleAfterMs: ctx.limits.staleAfterMs }),
          (query, where) => ctx.services.db.read.trace.findMany({ ...query, where }),
        );
        const starts = traceStarts(ctx, info);
        for (const edge of connection.edges) starts.remember(edge.node);
        return connection;
      },
    }),
  }),
});

const SessionFilterInput = builder.inputType('SessionFilter', {
  description: 'Conditions on sessions; all given conditions must hold.',
  fields: (t) => ({
    search: t.string({ required: false, description: 'Substring of the session id.' }),
    lastTime: t.field({ type: DateTimeRange, required: false, description: 'Last active within this range.' }),
    hasError: t.boolean({ required: false, description: 'Only sessions with (true) or without (false) a failed trace.' }),
  }),
});

const SessionConnection = builder.connectionObject(
  {
    type: Session,
    name: 'SessionConnection',
    description: 'A page of sessions.',
    fields: (t) => ({
      totalCount: t.int({ description: 'How many sessions match, over all pages.', resolve: resolveTotalCount }),
    }),
  },
  { description: 'A session in a page, with its cursor.' },
);

builder.queryFields((t) => ({
  sessions: t.field({
    type: SessionConnection,
    complexity: (args) => ({ field: 1, multiplier: pageCost(args.first) }),
    description: 'Sessions of the project, most recently active first.',
    args: {
      first: t.arg.int({ required: false, description: 'Page size: 50 when left out, at most 500.' }),
      after: t.arg.string({ required: false, description: 'The endCursor of the previous page.' }),
      filter: t.arg({ type: SessionFilterInput, required: false, description: 'Only sessions matching this.' }),
    },
    resolve: async (_root, args, ctx) => {
      const first = pageSize(args.first, PAGE.default, PAGE.max);
      const page = await searchSessions(ctx.services.db, ctx.scope, { first, after: args.after, filter: args.filter });
      return connectionFrom<(typeof page.rows)[number]>(page);
    },
  }),
  session: t.field({
    type: Session,
    nullable: true,
    description: 'One session by id, or null when this project has none by that id.',
    args: { id: t.arg.id({ required: true, description: 'The session id.' }) },
    resolve: async (_root, args, ctx) => (await sessionsByIds(ctx.services.db, ctx.scope, [args.id]))[0] ?? null,
  }),
}));

builder.prismaObjectField('Trace', 'session', (t) =>
  t.field({
    type: Session,
    nullable: true,
    description: 'The session the trace belongs to, if any.',
    select: { sessionId: true },
    resolve: (trace, _args, ctx, info) => {
      if (!trace.sessionId) return null;
      // One read for the sessions of every trace in the response.
      const loader = executionLoader(ctx, info, 'Trace.session', () =>
        new DataLoader<string, SessionRow | null>(async (ids) => {
          const rows = new Map((await sessionsByIds(ctx.services.db, ctx.scope, ids)).map((row) => [row.id, row]));
          return ids.map((id) => rows.get(id) ?? null);
        }),
      );
      return loader.load(trace.sessionId);
    },
  }),
);
