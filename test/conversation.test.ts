/**
 * `Trace.conversation` and `Span.conversation` through the API: the turns of OpenAI-style and
 * Anthropic-style generations written with createSpans, each once, with tool calls; "run from here";
 * and no conversation at all when content was not retained.
 */
import { describe, expect, it } from 'vitest';
import { useTestServer } from './helpers/server.js';
import { at, uid } from './helpers/operations.js';

const server = useTestServer();

const CREATE = `mutation($input: [CreateSpanInput!]!) { createSpans(input: $input) { id } }`;
const MESSAGES = `messages { role content toolCalls { id name arguments } toolCallId spanId model parameters { temperature maxTokens tools } }`;
const turns = (conversation: any) => conversation.messages.map((message: any) => [message.role, message.content, message.spanId]);

describe('the conversation of a trace', () => {
  it('rebuilds an OpenAI-style agent loop: each turn once, tool calls and results, model and parameters', async () => {
    const traceId = uid('openai');
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }];
    const system = { role: 'system', content: 'You answer from the knowledge base.' };
    const user = { role: 'user', content: 'What is our refund window?' };
    const call = { role: 'assistant', content: null, tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'lookup', arguments: '{"q":"refund"}' } }] };
    const result = { role: 'tool', tool_call_id: 'call_9', content: '30 days' };
    await server().gql(CREATE, {
      input: [
        { traceId, id: `${traceId}-agent`, name: 'agent', type: 'AGENT', startTime: at(0) },
        {
          traceId, id: `${traceId}-g1`, parentId: `${traceId}-agent`, name: 'chat', model: 'gpt-4o', startTime: at(10),
          input: { model: 'gpt-4o', messages: [system, user], temperature: 0, max_tokens: 256, tools },
          output: { choices: [{ message: call, finish_reason: 'tool_calls' }] },
        },
        { traceId, id: `${traceId}-tool`, parentId: `${traceId}-agent`, name: 'lookup', type: 'TOOL', startTime: at(20), input: { q: 'refund' }, output: '30 days' },
        {
          traceId, id: `${traceId}-g2`, parentId: `${traceId}-agent`, name: 'chat', model: 'gpt-4o', startTime: at(30),
          input: { model: 'gpt-4o', messages: [system, user, call, result], temperature: 0, max_tokens: 256, tools },
          output: { role: 'assistant', content: 'Refunds are accepted within 30 days.' },
        },
      ],
    });
    const { trace } = await server().gql(`query($id: ID!) { trace(id: $id) { conversation { retained reason ${MESSAGES} } } }`, { id: traceId });
    expect(trace.conversation.retained).toBe(true);
    expect(turns(trace.conversation)).toEqual([
      ['SYSTEM', 'You answer from the knowledge base.', `${traceId}-g1`],
      ['USER', 'What is our refund window?', `${traceId}-g1`],
      ['ASSISTANT', null, `${traceId}-g1`],
      ['TOOL', '30 days', `${traceId}-g2`],
      ['ASSISTANT', 'Refunds are accepted within 30 days.', `${traceId}-g2`],
    ]);
    const [, , assistant, tool] = trace.conversation.messages;
    expect(assistant.toolCalls).toEqual([{ id: 'call_9', name: 'lookup', arguments: { q: 'refund' } }]);
    expect(tool.toolCallId).toBe('call_9');
    expect(assistant).toMatchObject({ model: 'gpt-4o', parameters: { temperature: 0, maxTokens: 256, tools } });

    // "Run from here": up to and including the first generation; from the tool span, the same.
    const upTo = await server().gql(
      `query($g: ID!, $t: ID!) { g: span(id: $g) { conversation { ${MESSAGES} } } t: span(id: $t) { conversation { ${MESSAGES} } } }`,
      { g: `${traceId}-g1`, t: `${traceId}-tool` },
    );
    expect(turns(upTo.g.conversation).map(([role]: string[]) => role)).toEqual(['SYSTEM', 'USER', 'ASSISTANT']);
    expect(upTo.t.conversation).toEqual(upTo.g.conversation);
  });

  it('rebuilds an Anthropic-style exchange with tool_use and tool_result blocks', async () => {
    const traceId = uid('anthropic');
    const user = { role: 'user', content: 'Book a table for two at 8pm.' };
    const toolUse = { role: 'assistant', content: [{ type: 'text', text: 'Checking availability.' }, { type: 'tool_use', id: 'toolu_1', name: 'book', input: { people: 2, time: '20:00' } }] };
    const toolResult = { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'booked: #42' }] };
    await server().gql(CREATE, {
      input: [
        {
          traceId, id: `${traceId}-g1`, name: 'messages', model: 'claude-sonnet-4-20250514', startTime: at(0),
          input: { system: 'You are a concierge.', messages: [user], max_tokens: 1024 },
          output: { type: 'message', role: 'assistant', content: toolUse.content, stop_reason: 'tool_use' },
        },
        {
          traceId, id: `${traceId}-g2`, name: 'messages', model: 'claude-sonnet-4-20250514', startTime: at(50),
          input: { system: 'You are a concierge.', messages: [user, toolUse, toolResult], max_tokens: 1024 },
          output: { type: 'message', role: 'assistant', content: [{ type: 'text', text: 'Done: booking #42.' }], stop_reason: 'end_turn' },
        },
      ],
    });
    const { trace } = await server().gql(`query($id: ID!) { trace(id: $id) { conversation { retained ${MESSAGES} } } }`, { id: traceId });
    expect(turns(trace.conversation)).toEqual([
      ['SYSTEM', 'You are a concierge.', `${traceId}-g1`],
      ['USER', 'Book a table for two at 8pm.', `${traceId}-g1`],
      ['ASSISTANT', 'Checking availability.', `${traceId}-g1`],
      ['TOOL', 'booked: #42', `${traceId}-g2`],
      ['ASSISTANT', 'Done: booking #42.', `${traceId}-g2`],
    ]);
    expect(trace.conversation.messages[2].toolCalls).toEqual([{ id: 'toolu_1', name: 'book', arguments: { people: 2, time: '20:00' } }]);
    expect(trace.conversation.messages[3].toolCallId).toBe('toolu_1');
    expect(trace.conversation.messages[0].parameters.maxTokens).toBe(1024);
  });

  it('says so, and shows nothing, when a generation was written under metadata only', async () => {
    const traceId = uid('partial');
    await server().gql(CREATE, { input: [{ traceId, id: `${traceId}-g1`, name: 'chat', model: 'gpt-4o', startTime: at(0), input: [{ role: 'user', content: 'hi' }], output: 'hello' }] });
    await server().gql(`mutation { setRetentionRule(input: { mode: METADATA_ONLY }) { mode } }`);
    try {
      await server().gql(CREATE, { input: [{ traceId, id: `${traceId}-g2`, name: 'chat', model: 'gpt-4o', startTime: at(10), input: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }, { role: 'user', content: 'secret' }], output: 'ok' }] });
    } finally {
      await server().gql(`mutation { setRetentionRule(input: { mode: FULL }) { mode } }`);
    }
    const { trace } = await server().gql(`query($id: ID!) { trace(id: $id) { conversation { retained reason messages { role } } } }`, { id: traceId });
    expect(trace.conversation.retained).toBe(false);
    expect(trace.conversation.messages).toEqual([]);
    expect(trace.conversation.reason).toContain(`${traceId}-g2`);
    // Up to the first generation, everything was kept.
    const { span } = await server().gql(`query($id: ID!) { span(id: $id) { conversation { retained messages { role content } } } }`, { id: `${traceId}-g1` });
    expect(span.conversation).toEqual({ retained: true, messages: [{ role: 'USER', content: 'hi' }, { role: 'ASSISTANT', content: 'hello' }] });
  });
});

describe("a span's own messages (Span.messages)", () => {
  it('decodes OpenTelemetry instructions and a tool result as the conversation does; plain text stays text', async () => {
    const traceId = uid('own');
    const instructions = JSON.stringify([{ type: 'text', content: 'You are a weather bot.' }]);
    const input = [
      { role: 'user', parts: [{ type: 'text', content: 'Weather in Paris?' }] },
      { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } }] },
      { role: 'tool', parts: [{ type: 'tool_call_response', id: 'call_1', response: '18°C, sunny' }] },
    ];
    const output = [{ role: 'assistant', parts: [{ type: 'text', content: 'It is 18°C and sunny.' }], finish_reason: 'stop' }];
    await server().gql(CREATE, {
      input: [
        { traceId, id: `${traceId}-chat`, name: 'chat', model: 'gpt-4o-mini', startTime: at(0), instructions, input, output },
        { traceId, id: `${traceId}-text`, name: 'plain', type: 'FUNCTION', startTime: at(5), input: 'just text', output: { value: 1 } },
      ],
    });
    const OWN = `query($id: ID!) { span(id: $id) { messages { instructions { role content } input { role content toolCalls { id name arguments } toolCallId } output { role content } } } }`;
    const chat = (await server().gql(OWN, { id: `${traceId}-chat` })).span.messages;
    expect(chat.instructions).toEqual({ role: 'SYSTEM', content: 'You are a weather bot.' });
    expect(chat.input).toEqual([
      { role: 'USER', content: 'Weather in Paris?', toolCalls: [], toolCallId: null },
      { role: 'ASSISTANT', content: null, toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } }], toolCallId: null },
      { role: 'TOOL', content: '18°C, sunny', toolCalls: [], toolCallId: 'call_1' },
    ]);
    expect(chat.output).toEqual([{ role: 'ASSISTANT', content: 'It is 18°C and sunny.' }]);
    // Not a chat: nothing decoded, the span's input and output are read as they are.
    const plain = (await server().gql(OWN, { id: `${traceId}-text` })).span.messages;
    expect(plain).toEqual({ instructions: null, input: null, output: null });
  });
});
