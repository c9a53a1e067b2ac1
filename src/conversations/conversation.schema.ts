import { builder, readScope } from '../schema/builder.js';
import {
  spanMessagesOf,
  type Conversation as ConversationValue,
  type ConversationMessage as MessageValue,
  type GenerationParameters as ParametersValue,
  type SpanContent,
  type SpanMessages as SpanMessagesValue,
  type ToolCall as ToolCallValue,
} from './conversation.js';
import { traceConversation } from './conversation.service.js';

export const ConversationRole = builder.enumType('ConversationRole', {
  description: 'Who speaks a message.',
  values: {
    SYSTEM: { description: 'Instructions (system or developer prompt).' },
    USER: { description: 'The user.' },
    ASSISTANT: { description: 'The model.' },
    TOOL: { description: 'The result of a tool call, sent back to the model.' },
  },
});

const ToolCall = builder.objectRef<ToolCallValue>('ToolCall').implement({
  description: 'A call the assistant asked the application to make.',
  fields: (t) => ({
    id: t.exposeID('id', { nullable: true, description: "The call's id, which the TOOL message answering it names." }),
    name: t.exposeString('name', { description: 'The tool.' }),
    arguments: t.field({ type: 'JSON', nullable: true, description: 'Its arguments, parsed when they were JSON text.', resolve: (call) => call.arguments ?? null }),
  }),
});

export const GenerationParameters = builder.objectRef<ParametersValue>('GenerationParameters').implement({
  description: 'The request parameters of a generation, as a playground sends them again.',
  fields: (t) => ({
    temperature: t.exposeFloat('temperature', { nullable: true, description: 'Sampling temperature.' }),
    maxTokens: t.exposeInt('maxTokens', { nullable: true, description: 'The most tokens the model could produce.' }),
    topP: t.exposeFloat('topP', { nullable: true, description: 'Nucleus sampling.' }),
    tools: t.field({ type: 'JSON', nullable: true, description: 'The tool definitions offered to the model.', resolve: (parameters) => parameters.tools }),
    extra: t.field({ type: 'JSON', description: 'Other request parameters (seed, stop, response_format ...), under their recorded names.', resolve: (parameters) => parameters.extra }),
  }),
});

export const ConversationMessage = builder.objectRef<MessageValue>('ConversationMessage').implement({
  description: 'One turn of a conversation, with the generation where it first appeared.',
  fields: (t) => ({
    role: t.field({ type: ConversationRole, description: 'Who speaks.', resolve: (message) => message.role }),
    content: t.exposeString('content', { nullable: true, description: 'Its text (text parts joined by newlines); null when it has none.' }),
    parts: t.field({
      type: 'JSON',
      description: 'Its structured parts: {type: text|image|tool_call|tool_result|reasoning|other, ...}.',
      resolve: (message) => message.parts,
    }),
    toolCalls: t.field({ type: [ToolCall], description: 'Tool calls the assistant made in this turn.', resolve: (message) => message.toolCalls }),
    toolCallId: t.exposeID('toolCallId', { nullable: true, description: 'For a TOOL message: the call it answers.' }),
    spanId: t.exposeID('spanId', { description: 'The generation span where this message first appeared.' }),
    model: t.exposeString('model', { nullable: true, description: 'The model of that generation.' }),
    parameters: t.field({
      type: GenerationParameters,
      nullable: true,
      description: "That generation's request parameters; null when none were recorded.",
      resolve: (message) => message.parameters,
    }),
  }),
});

export const Conversation = builder.objectRef<ConversationValue>('Conversation').implement({
  description:
    "A trace's conversation as a playground needs it: every system, user, assistant and tool turn of its generation spans, " +
    'in order, each once (a generation repeats the history it was given).',
  fields: (t) => ({
    retained: t.exposeBoolean('retained', {
      description: 'False when a generation\'s content was not kept under the retention rule: then there are no messages, never a partial conversation.',
    }),
    reason: t.exposeString('reason', { nullable: true, description: 'Why there are no messages, when there are none.' }),
    messages: t.field({ type: [ConversationMessage], description: 'The turns, in order.', resolve: (conversation) => conversation.messages }),
  }),
});

builder.prismaObjectField('Trace', 'conversation', (t) =>
  t.field({
    ...readScope,
    type: Conversation,
    description: "The trace's conversation, rebuilt from its generation spans (\"open in playground\").",
    resolve: (trace, _args, ctx) => traceConversation(ctx.services.db, ctx.scope, trace.id),
  }),
);

builder.prismaObjectField('Span', 'conversation', (t) =>
  t.field({
    ...readScope,
    type: Conversation,
    description: "The trace's conversation up to and including this span (\"run from here\").",
    select: { traceId: true },
    resolve: (span, _args, ctx) => traceConversation(ctx.services.db, ctx.scope, span.traceId, span.id),
  }),
);

const SpanMessages = builder.objectRef<SpanMessagesValue>('SpanMessages').implement({
  description:
    "One span's own instructions, input and output as messages, decoded as Conversation decodes them (OpenAI, Anthropic, " +
    'OpenTelemetry GenAI, LangChain ...); each message is told by this span. Only content that was kept is here.',
  fields: (t) => ({
    instructions: t.field({
      type: ConversationMessage,
      nullable: true,
      description: 'The instructions as one SYSTEM message; null when the span has none or they were not kept.',
      resolve: (messages) => messages.instructions,
    }),
    input: t.field({
      type: [ConversationMessage],
      nullable: true,
      description: 'The input as messages; null when it is not a chat (plain text, other JSON: read Span.input) or was not kept.',
      resolve: (messages) => messages.input,
    }),
    output: t.field({
      type: [ConversationMessage],
      nullable: true,
      description: 'The output as messages; null when it is not a chat (read Span.output) or was not kept.',
      resolve: (messages) => messages.output,
    }),
  }),
});

builder.prismaObjectField('Span', 'messages', (t) =>
  t.field({
    ...readScope,
    type: SpanMessages,
    description: "This span's own content as messages (the span detail), as the trace's conversation decodes it.",
    select: { id: true, model: true, input: true, output: true, instructions: true, meta: true },
    resolve: (span) => spanMessagesOf(span as SpanContent),
  }),
);
