import { builder } from '../schema/builder.js';
import { connectionFrom, PAGE, pageCost } from '../schema/connections.js';
import { pageSize } from '../db/keyset.js';
import type { Context } from '../schema/context.js';
import { ConversationMessage, ConversationRole, GenerationParameters } from '../conversations/conversation.schema.js';
import { CostSource } from '../spans/span.schema.js';
import { unlessFailed, type FeedFailure } from '../subscriptions/bounded-feed.js';
import type { PlaygroundRunView } from './playground-run.js';
import { executeRun, prepareRun, RunEvents, wireRequest, type PlaygroundRunEvent as RunEventValue, type PlaygroundRunInput as RunInputValue } from './playground.service.js';
import { playgroundRunPage } from './playground-history.js';

export const PlaygroundRun = builder.objectRef<PlaygroundRunView>('PlaygroundRun').implement({
  description: 'A run of the playground, recorded as a trace of its own (origin PLAYGROUND) holding one GENERATION span.',
  fields: (t) => ({
    id: t.exposeID('id', { description: "The run's GENERATION span." }),
    traceId: t.exposeID('traceId', { description: "The run's own trace." }),
    providerId: t.exposeID('providerId', { nullable: true, description: 'The provider it ran on (it may have been deleted since).' }),
    model: t.exposeString('model', { description: 'The model it ran.' }),
    label: t.exposeString('label', { nullable: true, description: 'The label it was given (a variant of a comparison).' }),
    messages: t.field({
      type: [ConversationMessage],
      nullable: true,
      description: "The messages sent, in order; null when the project's retention rule did not keep content.",
      resolve: (run) => run.messages,
    }),
    parameters: t.field({ type: GenerationParameters, nullable: true, description: 'The parameters sent (stop sequences are in `extra.stop_sequences`).', resolve: (run) => run.parameters }),
    output: t.field({
      type: ConversationMessage,
      nullable: true,
      description: 'The answer: text and tool calls; null when it was not kept, or when the run failed before any text arrived.',
      resolve: (run) => run.output,
    }),
    inputTokens: t.exposeInt('inputTokens', { nullable: true, description: 'Input tokens, as the provider counted them.' }),
    outputTokens: t.exposeInt('outputTokens', { nullable: true, description: 'Output tokens, as the provider counted them.' }),
    cost: t.exposeFloat('cost', { nullable: true, description: "USD, from the provider's token counts and the price table (or the project's prices)." }),
    costSource: t.field({ type: CostSource, description: 'Where the cost comes from.', resolve: (run) => run.costSource as never }),
    latencyMs: t.exposeFloat('latencyMs', { nullable: true, description: 'From sending the request to the end of the answer, in milliseconds.' }),
    timeToFirstTokenMs: t.exposeFloat('timeToFirstTokenMs', { nullable: true, description: 'From sending the request to the first text, in milliseconds.' }),
    error: t.exposeString('error', { nullable: true, description: "Why the run failed or stopped (the provider's status and message); null when it finished." }),
    sourceTraceId: t.exposeID('sourceTraceId', { nullable: true, description: 'The trace it was replayed from.' }),
    sourceSpanId: t.exposeID('sourceSpanId', { nullable: true, description: 'The span it was opened at.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it started.' }),
  }),
});

const PlaygroundRunEvent = builder.objectRef<RunEventValue>('PlaygroundRunEvent').implement({
  description: 'One event of a streaming run: text as it arrives (`delta`), then, last, the finished run (`run`).',
  fields: (t) => ({
    delta: t.exposeString('delta', { nullable: true, description: 'Text that arrived since the last event; null in the last event.' }),
    run: t.field({ type: PlaygroundRun, nullable: true, description: 'The finished run, recorded; only in the last event.', resolve: (event) => event.run }),
  }),
});

const PlaygroundToolCallInput = builder.inputType('PlaygroundToolCallInput', {
  description: 'A tool call an assistant message made.',
  fields: (t) => ({
    id: t.id({ required: true, description: "The call's id, which the TOOL message answering it names." }),
    name: t.string({ required: true, description: 'The tool.' }),
    arguments: t.field({ type: 'JSON', required: false, description: 'Its arguments.' }),
  }),
});

const PlaygroundMessageInput = builder.inputType('PlaygroundMessageInput', {
  description: 'One message of the conversation to send.',
  fields: (t) => ({
    role: t.field({ type: ConversationRole, required: true, description: 'Who speaks.' }),
    content: t.string({ required: false, description: 'Its text.' }),
    toolCalls: t.field({ type: [PlaygroundToolCallInput], required: false, description: 'For an ASSISTANT message: the tool calls it made.' }),
    toolCallId: t.id({ required: false, description: 'For a TOOL message: the call it answers.' }),
  }),
});

const PlaygroundParametersInput = builder.inputType('PlaygroundParametersInput', {
  description: 'Request parameters; those left out are not sent, so the provider applies its own defaults.',
  fields: (t) => ({
    temperature: t.float({ required: false, description: 'Sampling temperature, 0 to 2.' }),
    maxTokens: t.int({ required: false, description: 'The most tokens to produce, at most PLAYGROUND_MAX_TOKENS (4096 unless set). Anthropic needs one: that limit when left out.' }),
    topP: t.float({ required: false, description: 'Nucleus sampling, 0 to 1.' }),
    stop: t.stringList({ required: false, description: 'Stop sequences.' }),
    extra: t.field({ type: 'JSON', required: false, description: 'Anything else the provider takes (seed, response_format, reasoning_effort ...), sent under the names given.' }),
  }),
});

const PlaygroundRunInput = builder.inputType('PlaygroundRunInput', {
  description: 'A run: the conversation to send (cut after a message for "run from here"), where, and with which settings.',
  fields: (t) => ({
    projectId: t.id({ required: false, description: "The caller's project (the only one a run may be in)." }),
    providerId: t.id({ required: true, description: 'The model provider to call.' }),
    model: t.string({ required: true, description: 'The model to run.' }),
    messages: t.field({ type: [PlaygroundMessageInput], required: true, description: 'The messages to send, exactly as given.' }),
    parameters: t.field({ type: PlaygroundParametersInput, required: false, description: 'Request parameters.' }),
    tools: t.field({ type: 'JSON', required: false, description: 'Tool definitions, as recorded in GenerationParameters.tools (OpenAI\'s or Anthropic\'s format).' }),
    sourceTraceId: t.id({ required: false, description: 'The trace this run replays; its history lists the run.' }),
    sourceSpanId: t.id({ required: false, description: 'The span it was opened at.' }),
    label: t.string({ required: false, description: 'A name for the run (a variant of a comparison).' }),
  }),
});

const PlaygroundRequest = builder.objectRef<ReturnType<typeof wireRequest>>('PlaygroundRequest').implement({
  description: 'The request a run sends, exactly as it goes on the wire ("View code"); never the key or a header value.',
  fields: (t) => ({
    url: t.exposeString('url', { description: 'The address it is sent to (POST).' }),
    body: t.field({ type: 'JSON', description: 'The JSON body, as sent.', resolve: (request) => request.body }),
    keyHeader: t.exposeString('keyHeader', {
      nullable: true,
      description: 'The header the key goes in: `authorization` (as `Bearer <key>`) or `x-api-key`; null when the provider has no key.',
    }),
    headerNames: t.exposeStringList('headerNames', { description: "The provider's extra headers, by name; their values are secret." }),
  }),
});

export const PlaygroundRunConnection = builder.connectionObject(
  { type: PlaygroundRun, name: 'PlaygroundRunConnection', description: 'A page of playground runs, newest first.' },
  { description: 'A run in a page, with its cursor.' },
);

/**
 * Running needs PLAYGROUND (it spends the provider's money), or ADMIN, which may create a PLAYGROUND
 * key anyway (so a key made before the scope existed keeps working). The history needs READ.
 */
const runScope = { skipTypeScopes: true, authScopes: { PLAYGROUND: true, ADMIN: true } } as const;

const callerOf = (ctx: Context) => ({ principal: ctx.principal, scope: ctx.scope, signal: ctx.signal });

builder.queryFields((t) => ({
  playgroundRequest: t.field({
    type: PlaygroundRequest,
    description: 'The request runPlayground would send for this input, exactly (for "View code"); checks the input as a run does, sends nothing.',
    args: { input: t.arg({ type: PlaygroundRunInput, required: true, description: 'The conversation to send, where, and with which settings.' }) },
    resolve: async (_root, args, ctx) => wireRequest(await prepareRun(ctx.services, callerOf(ctx), args.input as RunInputValue)),
  }),
  playgroundRuns: t.field({
    type: PlaygroundRunConnection,
    description: 'The playground runs of the project, newest first; with `sourceTraceId`, those replaying that trace.',
    complexity: (args) => ({ field: 1, multiplier: pageCost(args.first) }),
    args: {
      sourceTraceId: t.arg.id({ required: false, description: 'Only the runs replaying this trace.' }),
      first: t.arg.int({ required: false, description: `Page size (default ${PAGE.default}, at most ${PAGE.max}).` }),
      after: t.arg.string({ required: false, description: 'The endCursor of the page before.' }),
    },
    resolve: async (_root, args, ctx) =>
      connectionFrom<PlaygroundRunView>(
        await playgroundRunPage(ctx.services.db, ctx.scope, {
          sourceTraceId: args.sourceTraceId ?? null,
          first: pageSize(args.first, PAGE.default, PAGE.max),
          after: args.after,
        }),
      ),
  }),
}));

builder.mutationFields((t) => ({
  runPlayground: t.field({
    nullable: true, // see builder.mutationType
    ...runScope,
    type: PlaygroundRun,
    description:
      "Runs a conversation on one of the project's model providers (PLAYGROUND scope) and answers when it is done. The run is recorded " +
      'as a trace of origin PLAYGROUND. A provider error is PROVIDER_ERROR, with its status and the trace that recorded it.',
    args: { input: t.arg({ type: PlaygroundRunInput, required: true, description: 'The conversation to send, where, and with which settings.' }) },
    resolve: async (_root, args, ctx) => executeRun(ctx.services, callerOf(ctx), await prepareRun(ctx.services, callerOf(ctx), args.input as RunInputValue)),
  }),
}));

builder.subscriptionFields((t) => ({
  playgroundRun: t.field({
    ...runScope,
    type: PlaygroundRunEvent,
    description:
      'Runs a conversation as runPlayground does (PLAYGROUND scope), streaming: `{ delta }` events as text arrives, then one `{ run }`, then ' +
      "the end. Leaving the subscription aborts the provider's request at once.",
    args: { input: t.arg({ type: PlaygroundRunInput, required: true, description: 'The conversation to send, where, and with which settings.' }) },
    subscribe: async (_root, args, ctx) => new RunEvents(ctx.services, callerOf(ctx), await prepareRun(ctx.services, callerOf(ctx), args.input as RunInputValue)),
    resolve: (event) => unlessFailed(event as RunEventValue | FeedFailure),
  }),
}));
