import { describe, expect, it } from 'vitest';
import { conversationOf, headlineOf, type Conversation, type ConversationSpan } from '../../src/conversations/conversation.js';

const t = (seconds: number) => new Date(Date.UTC(2026, 10, 24, 9, 0, seconds));

const generation = (id: string, seconds: number, fields: Partial<ConversationSpan> = {}): ConversationSpan => ({
  id,
  parentId: 'agent',
  type: 'GENERATION',
  name: 'chat',
  startTime: t(seconds),
  model: null,
  input: null,
  output: null,
  instructions: null,
  meta: null,
  retained: true,
  ...fields,
});

const toolSpan = (id: string, seconds: number): ConversationSpan => ({
  ...generation(id, seconds),
  type: 'TOOL',
  name: 'get_weather',
});

/** Role, text and the span each message first appeared in: what a reader of the transcript sees. */
const turns = (conversation: Conversation) => conversation.messages.map((m) => [m.role, m.content, m.spanId]);

// An OpenAI agent loop: a tool round, then a follow-up question, each generation sent the full history.
const SYSTEM = { role: 'system', content: 'You are a travel assistant. Answer briefly.' };
const QUESTION = { role: 'user', content: 'What is the weather in Paris and Rome?' };
const weatherTool = {
  type: 'function',
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
};
const CALLS = {
  role: 'assistant',
  content: null,
  refusal: null,
  tool_calls: [
    { id: 'call_paris', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
    { id: 'call_rome', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
  ],
};
const PARIS = { role: 'tool', tool_call_id: 'call_paris', content: '{"temp_c":18,"sky":"cloudy"}' };
const ROME = { role: 'tool', tool_call_id: 'call_rome', content: '{"temp_c":24,"sky":"sunny"}' };
const ANSWER = { role: 'assistant', content: 'Paris: 18°C and cloudy. Rome: 24°C and sunny.' };
const FOLLOW_UP = { role: 'user', content: 'Which one is warmer?' };
const completion = (message: object) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  model: 'gpt-4o-2024-08-06',
  choices: [{ index: 0, message, finish_reason: 'stop' }],
});
const request = (messages: object[]) => ({ model: 'gpt-4o', messages, temperature: 0.2, tools: [weatherTool], seed: 7 });

const openAiLoop = [
  generation('gen-1', 1, { input: request([SYSTEM, QUESTION]), output: completion(CALLS) }),
  toolSpan('tool-paris', 2),
  toolSpan('tool-rome', 2),
  generation('gen-2', 3, { input: request([SYSTEM, QUESTION, CALLS, PARIS, ROME]), output: completion(ANSWER) }),
  generation('gen-3', 5, {
    input: request([SYSTEM, QUESTION, CALLS, PARIS, ROME, ANSWER, FOLLOW_UP]),
    output: completion({ role: 'assistant', content: 'Rome, by 6°C.' }),
  }),
];

describe('conversationOf: OpenAI chat', () => {
  it('keeps each turn once, in the generation where it first appeared', () => {
    const conversation = conversationOf([...openAiLoop].reverse());
    expect(conversation.retained).toBe(true);
    expect(conversation.reason).toBeNull();
    expect(turns(conversation)).toEqual([
      ['SYSTEM', 'You are a travel assistant. Answer briefly.', 'gen-1'],
      ['USER', 'What is the weather in Paris and Rome?', 'gen-1'],
      ['ASSISTANT', null, 'gen-1'],
      ['TOOL', '{"temp_c":18,"sky":"cloudy"}', 'gen-2'],
      ['TOOL', '{"temp_c":24,"sky":"sunny"}', 'gen-2'],
      ['ASSISTANT', 'Paris: 18°C and cloudy. Rome: 24°C and sunny.', 'gen-2'],
      ['USER', 'Which one is warmer?', 'gen-3'],
      ['ASSISTANT', 'Rome, by 6°C.', 'gen-3'],
    ]);
  });

  it('gives tool calls parsed arguments, and tool messages the call they answer', () => {
    const [, , calls, paris, rome] = conversationOf(openAiLoop).messages;
    expect(calls!.toolCalls).toEqual([
      { id: 'call_paris', name: 'get_weather', arguments: { city: 'Paris' } },
      { id: 'call_rome', name: 'get_weather', arguments: { city: 'Rome' } },
    ]);
    expect(calls!.parts.map((part) => part.type)).toEqual(['tool_call', 'tool_call']);
    expect([paris!.toolCallId, rome!.toolCallId]).toEqual(['call_paris', 'call_rome']);
    expect(paris!.parts).toEqual([
      { type: 'tool_result', toolCallId: 'call_paris', name: null, isError: false, content: [{ type: 'text', text: '{"temp_c":18,"sky":"cloudy"}' }] },
    ]);
    expect(paris!.toolCalls).toEqual([]);
  });

  it('takes model and parameters from the request body', () => {
    const [first] = conversationOf(openAiLoop).messages;
    expect(first!.model).toBe('gpt-4o');
    expect(first!.parameters).toEqual({ temperature: 0.2, maxTokens: null, topP: null, tools: [weatherTool], extra: { seed: 7 } });
  });

  it('prefers the span model column, and reads max_completion_tokens and top_p', () => {
    const [message] = conversationOf([
      generation('g', 1, {
        model: 'gpt-4.1-mini',
        input: { model: 'gpt-4.1', messages: [QUESTION], max_completion_tokens: 300, top_p: 0.9, response_format: { type: 'json_object' } },
      }),
    ]).messages;
    expect(message!.model).toBe('gpt-4.1-mini');
    expect(message!.parameters).toEqual({ temperature: null, maxTokens: 300, topP: 0.9, tools: null, extra: { response_format: { type: 'json_object' } } });
  });

  it('reads developer as SYSTEM, content part arrays, images and legacy function messages', () => {
    const conversation = conversationOf([
      generation('g', 1, {
        input: [
          { role: 'developer', content: 'Describe images.' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is in this picture?' },
              { type: 'image_url', image_url: { url: 'https://example.com/cat.png', detail: 'low' } },
            ],
          },
          { role: 'assistant', content: null, function_call: { name: 'lookup', arguments: '{"q":"cat"}' } },
          { role: 'function', name: 'lookup', content: 'A cat.' },
        ],
        output: 'A cat on a sofa.',
      }),
    ]);
    const [system, user, call, result, answer] = conversation.messages;
    expect(system!.role).toBe('SYSTEM');
    expect(user!.parts).toEqual([
      { type: 'text', text: 'What is in this picture?' },
      { type: 'image', url: 'https://example.com/cat.png', mediaType: null, data: null },
    ]);
    expect(call!.toolCalls).toEqual([{ id: null, name: 'lookup', arguments: { q: 'cat' } }]);
    expect(result!).toMatchObject({ role: 'TOOL', content: 'A cat.', toolCallId: null });
    expect(result!.parts[0]).toMatchObject({ type: 'tool_result', name: 'lookup' });
    expect(answer!).toMatchObject({ role: 'ASSISTANT', content: 'A cat on a sofa.' });
  });
});

// The same loop recorded from Anthropic's Messages API: system as a request field, tool_use and
// tool_result blocks, thinking in the output that the next request leaves out.
describe('conversationOf: Anthropic messages', () => {
  const body = (messages: object[]) => ({
    model: 'claude-sonnet-4-5',
    max_tokens: 1024,
    system: [{ type: 'text', text: 'You are a travel assistant.' }],
    tools: [{ name: 'get_weather', input_schema: { type: 'object' } }],
    stop_sequences: ['###'],
    messages,
  });
  const question = { role: 'user', content: 'What is the weather in Paris?' };
  const toolUse = { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } };
  const spans = [
    generation('a-1', 1, {
      input: body([question]),
      output: {
        id: 'msg_01',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-5-20250929',
        content: [
          { type: 'thinking', thinking: 'I should look up the weather.', signature: 'EqQB' },
          { type: 'text', text: 'Let me check.' },
          toolUse,
        ],
        stop_reason: 'tool_use',
      },
    }),
    generation('a-2', 3, {
      input: body([
        question,
        { role: 'assistant', content: [{ type: 'text', text: 'Let me check.' }, toolUse] },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_01', content: [{ type: 'text', text: '18°C, cloudy' }] },
            { type: 'text', text: 'Should I take an umbrella?' },
          ],
        },
      ]),
      output: {
        type: 'message',
        role: 'assistant',
        content: [{ type: 'text', text: 'It is 18°C and cloudy: take a light umbrella.' }],
        stop_reason: 'end_turn',
      },
    }),
  ];

  it('splits tool results into TOOL messages and keeps each turn once', () => {
    const conversation = conversationOf(spans);
    expect(turns(conversation)).toEqual([
      ['SYSTEM', 'You are a travel assistant.', 'a-1'],
      ['USER', 'What is the weather in Paris?', 'a-1'],
      ['ASSISTANT', 'Let me check.', 'a-1'],
      ['TOOL', '18°C, cloudy', 'a-2'],
      ['USER', 'Should I take an umbrella?', 'a-2'],
      ['ASSISTANT', 'It is 18°C and cloudy: take a light umbrella.', 'a-2'],
    ]);
    const [, , reply, result] = conversation.messages;
    expect(reply!.toolCalls).toEqual([{ id: 'toolu_01', name: 'get_weather', arguments: { city: 'Paris' } }]);
    expect(reply!.parts[0]).toEqual({ type: 'reasoning', text: 'I should look up the weather.', signature: 'EqQB' });
    expect(result!.toolCallId).toBe('toolu_01');
  });

  it('takes max_tokens and the other request fields from the body', () => {
    const [first] = conversationOf(spans).messages;
    expect(first!.model).toBe('claude-sonnet-4-5');
    expect(first!.parameters).toEqual({
      temperature: null,
      maxTokens: 1024,
      topP: null,
      tools: [{ name: 'get_weather', input_schema: { type: 'object' } }],
      extra: { stop_sequences: ['###'] },
    });
  });

  it('reads a bare messages array with block contents and base64 images', () => {
    const [user] = conversationOf([
      generation('g', 1, {
        input: [
          {
            role: 'user',
            content: [
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
              { type: 'text', text: 'Read the sign.' },
            ],
          },
        ],
      }),
    ]).messages;
    expect(user!.parts).toEqual([
      { type: 'image', url: null, mediaType: 'image/png', data: 'iVBORw0KGgo=' },
      { type: 'text', text: 'Read the sign.' },
    ]);
    expect(user!.content).toBe('Read the sign.');
  });
});

// OpenTelemetry GenAI semantic conventions: instructions in their own column, messages of parts,
// parameters in attributes.
describe('conversationOf: OpenTelemetry GenAI conventions', () => {
  const instructions = JSON.stringify([{ type: 'text', content: 'You are a weather bot.' }]);
  const meta = {
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.response.model': 'gpt-4o-2024-08-06',
    'gen_ai.request.temperature': 0.5,
    'gen_ai.request.max_tokens': 200,
    'gen_ai.request.seed': 42,
    'gen_ai.tool.definitions': JSON.stringify([{ type: 'function', name: 'get_weather' }]),
  };
  const user = { role: 'user', parts: [{ type: 'text', content: 'Weather in Paris?' }] };
  const spans = [
    generation('o-1', 1, {
      instructions,
      meta,
      input: [user],
      output: [
        {
          role: 'assistant',
          parts: [{ type: 'tool_call', id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } }],
          finish_reason: 'tool_call',
        },
      ],
    }),
    generation('o-2', 2, {
      instructions,
      meta,
      input: [
        user,
        // The same call, its arguments now recorded as JSON text.
        { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_1', name: 'get_weather', arguments: '{"city": "Paris"}' }] },
        { role: 'tool', parts: [{ type: 'tool_call_response', id: 'call_1', response: { temp_c: 18 } }] },
      ],
      output: [
        {
          role: 'assistant',
          parts: [
            { type: 'reasoning', content: 'The tool said 18.' },
            { type: 'text', content: 'It is 18°C in Paris.' },
          ],
          finish_reason: 'stop',
        },
      ],
    }),
  ];

  it('rebuilds the conversation with the instructions as its system message', () => {
    const conversation = conversationOf(spans);
    expect(turns(conversation)).toEqual([
      ['SYSTEM', 'You are a weather bot.', 'o-1'],
      ['USER', 'Weather in Paris?', 'o-1'],
      ['ASSISTANT', null, 'o-1'],
      ['TOOL', '{"temp_c":18}', 'o-2'],
      ['ASSISTANT', 'It is 18°C in Paris.', 'o-2'],
    ]);
    expect(conversation.messages[2]!.toolCalls).toEqual([{ id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } }]);
    expect(conversation.messages[3]!.toolCallId).toBe('call_1');
    expect(conversation.messages[4]!.parts[0]).toEqual({ type: 'reasoning', text: 'The tool said 18.', signature: null });
  });

  it('takes the response model and the parameters from the attributes', () => {
    const [first] = conversationOf(spans).messages;
    expect(first!.model).toBe('gpt-4o-2024-08-06');
    expect(first!.parameters).toEqual({
      temperature: 0.5,
      maxTokens: 200,
      topP: null,
      tools: [{ type: 'function', name: 'get_weather' }],
      extra: { seed: 42 },
    });
  });

  it('reads plain-text instructions, and does not repeat them when the input holds them too', () => {
    const conversation = conversationOf([
      generation('g', 1, {
        instructions: 'Be terse.',
        input: [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'Hi' }],
      }),
    ]);
    expect(turns(conversation)).toEqual([
      ['SYSTEM', 'Be terse.', 'g'],
      ['USER', 'Hi', 'g'],
    ]);
  });
});

describe('conversationOf: recognizing one reply in two formats', () => {
  it('matches an OpenAI choices[0].message output with the LangChain message that repeats it', () => {
    const conversation = conversationOf([
      generation('g-1', 1, {
        input: [{ role: 'user', content: 'Find the two latest invoices.' }],
        output: completion({
          role: 'assistant',
          content: '',
          tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'search_invoices', arguments: '{"query":"latest","limit":2}' } }],
        }),
      }),
      generation('g-2', 2, {
        input: {
          messages: [
            { type: 'human', content: 'Find the two latest invoices.' },
            // Arguments as an object, in another key order.
            { type: 'ai', content: '', tool_calls: [{ id: 'call_9', name: 'search_invoices', args: { limit: 2, query: 'latest' }, type: 'tool_call' }] },
            { type: 'tool', tool_call_id: 'call_9', content: 'INV-104, INV-103' },
          ],
        },
        output: { type: 'ai', content: 'The latest are INV-104 and INV-103.' },
      }),
    ]);
    expect(turns(conversation)).toEqual([
      ['USER', 'Find the two latest invoices.', 'g-1'],
      ['ASSISTANT', null, 'g-1'],
      ['TOOL', 'INV-104, INV-103', 'g-2'],
      ['ASSISTANT', 'The latest are INV-104 and INV-103.', 'g-2'],
    ]);
    expect(conversation.messages[1]!.toolCalls).toEqual([{ id: 'call_9', name: 'search_invoices', arguments: { query: 'latest', limit: 2 } }]);
  });

  it('tells apart calls whose arguments differ', () => {
    const call = (args: string) => ({
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'search', arguments: args } }],
    });
    const conversation = conversationOf([
      generation('g-1', 1, { input: [{ role: 'user', content: 'Search.' }], output: call('{"q":"a"}') }),
      generation('g-2', 2, { input: [{ role: 'user', content: 'Search.' }, call('{"q":"b"}')] }),
    ]);
    expect(conversation.messages.map((m) => m.toolCalls[0]?.arguments ?? null)).toEqual([null, { q: 'a' }, { q: 'b' }]);
  });

  it('reads LangChain serialized messages', () => {
    const conversation = conversationOf([
      generation('g', 1, {
        input: [
          { lc: 1, type: 'constructor', id: ['langchain', 'schema', 'messages', 'SystemMessage'], kwargs: { content: 'Be kind.' } },
          { lc: 1, type: 'constructor', id: ['langchain', 'schema', 'messages', 'HumanMessage'], kwargs: { content: 'Hello' } },
        ],
        output: { generations: [[{ text: 'Hi!', message: { type: 'AIMessageChunk', content: 'Hi!' } }]] },
      }),
    ]);
    expect(turns(conversation)).toEqual([
      ['SYSTEM', 'Be kind.', 'g'],
      ['USER', 'Hello', 'g'],
      ['ASSISTANT', 'Hi!', 'g'],
    ]);
  });
});

describe('conversationOf: deduplicating growing histories', () => {
  const user = (content: string) => ({ role: 'user', content });
  const assistant = (content: string) => ({ role: 'assistant', content });

  it('keeps a user who says "yes" twice', () => {
    const h1 = [user('Book me a flight to Rome.')];
    const h2 = [...h1, assistant('There is one at 9:00 for €120. Book it?'), user('yes')];
    const h3 = [...h2, assistant('Booked. Add a hotel?'), user('yes')];
    const conversation = conversationOf([
      generation('g-1', 1, { input: h1, output: 'There is one at 9:00 for €120. Book it?' }),
      generation('g-2', 2, { input: h2, output: 'Booked. Add a hotel?' }),
      generation('g-3', 3, { input: h3, output: 'Hotel booked.' }),
    ]);
    expect(turns(conversation)).toEqual([
      ['USER', 'Book me a flight to Rome.', 'g-1'],
      ['ASSISTANT', 'There is one at 9:00 for €120. Book it?', 'g-1'],
      ['USER', 'yes', 'g-2'],
      ['ASSISTANT', 'Booked. Add a hotel?', 'g-2'],
      ['USER', 'yes', 'g-3'],
      ['ASSISTANT', 'Hotel booked.', 'g-3'],
    ]);
  });

  it('aligns a history cut to a window on its overlap with the transcript', () => {
    const system = { role: 'system', content: 'You are a tutor.' };
    const conversation = conversationOf([
      generation('g-1', 1, { input: [system, user('What is 2+2?')], output: '4.' }),
      generation('g-2', 2, { input: [system, user('What is 2+2?'), assistant('4.'), user('And 3+3?')], output: '6.' }),
      // Only the last exchange is sent again, under the same system prompt.
      generation('g-3', 3, { input: [system, user('And 3+3?'), assistant('6.'), user('And 4+4?')], output: '8.' }),
    ]);
    expect(turns(conversation).map(([role, content]) => `${role}: ${content}`)).toEqual([
      'SYSTEM: You are a tutor.',
      'USER: What is 2+2?',
      'ASSISTANT: 4.',
      'USER: And 3+3?',
      'ASSISTANT: 6.',
      'USER: And 4+4?',
      'ASSISTANT: 8.',
    ]);
  });

  it('appends a sub-agent with its own history, then the parent going on', () => {
    const parent = { role: 'system', content: 'You are a planner. Delegate research.' };
    const task = user('Plan a weekend in Lisbon.');
    const delegate = {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'call_r', type: 'function', function: { name: 'research', arguments: '{"topic":"Lisbon"}' } }],
    };
    const researcher = { role: 'system', content: 'You are a researcher.' };
    const conversation = conversationOf([
      generation('p-1', 1, { input: [parent, task], output: delegate }),
      generation('r-1', 2, { parentId: 'research', input: [researcher, user('Research: Lisbon')], output: 'Lisbon: trams, Alfama, pastéis.' }),
      generation('r-2', 3, {
        parentId: 'research',
        input: [researcher, user('Research: Lisbon'), assistant('Lisbon: trams, Alfama, pastéis.'), user('Summarize in one line.')],
        output: 'Trams and pastries.',
      }),
      generation('p-2', 4, {
        input: [parent, task, delegate, { role: 'tool', tool_call_id: 'call_r', content: 'Trams and pastries.' }],
        output: 'Day 1: Alfama by tram. Day 2: Belém for pastéis.',
      }),
    ]);
    expect(turns(conversation)).toEqual([
      ['SYSTEM', 'You are a planner. Delegate research.', 'p-1'],
      ['USER', 'Plan a weekend in Lisbon.', 'p-1'],
      ['ASSISTANT', null, 'p-1'],
      ['SYSTEM', 'You are a researcher.', 'r-1'],
      ['USER', 'Research: Lisbon', 'r-1'],
      ['ASSISTANT', 'Lisbon: trams, Alfama, pastéis.', 'r-1'],
      ['USER', 'Summarize in one line.', 'r-2'],
      ['ASSISTANT', 'Trams and pastries.', 'r-2'],
      ['TOOL', 'Trams and pastries.', 'p-2'],
      ['ASSISTANT', 'Day 1: Alfama by tram. Day 2: Belém for pastéis.', 'p-2'],
    ]);
  });

  it('does not repeat a system prompt a fresh history shares with an earlier one', () => {
    const system = { role: 'system', content: 'You are a support agent.' };
    const conversation = conversationOf([
      generation('g-1', 1, { input: [system, user('Reset my password.')], output: 'Done: check your email.' }),
      generation('g-2', 2, { input: [system, user('Summarize the ticket.')], output: 'Password reset.' }),
    ]);
    expect(turns(conversation)).toEqual([
      ['SYSTEM', 'You are a support agent.', 'g-1'],
      ['USER', 'Reset my password.', 'g-1'],
      ['ASSISTANT', 'Done: check your email.', 'g-1'],
      ['USER', 'Summarize the ticket.', 'g-2'],
      ['ASSISTANT', 'Password reset.', 'g-2'],
    ]);
  });

  it('adds nothing for a generation recorded twice', () => {
    const span = generation('g-1', 1, { input: [user('Hi')], output: 'Hello!' });
    expect(turns(conversationOf([span, { ...span, id: 'g-2' }]))).toEqual([
      ['USER', 'Hi', 'g-1'],
      ['ASSISTANT', 'Hello!', 'g-1'],
    ]);
  });
});

describe('conversationOf: retention', () => {
  it('returns no messages when any contributing generation was not retained', () => {
    const spans = openAiLoop.map((span) => (span.id === 'gen-2' ? { ...span, input: null, output: null, retained: false } : span));
    const conversation = conversationOf(spans);
    expect(conversation.retained).toBe(false);
    expect(conversation.messages).toEqual([]);
    expect(conversation.reason).toContain('gen-2');
    expect(conversation.reason).toContain("project's retention rule");
  });

  it('ignores erased spans that do not contribute: tool spans, and generations after the limit', () => {
    const spans = openAiLoop.map((span) => (span.id === 'gen-3' || span.type === 'TOOL' ? { ...span, retained: false } : span));
    expect(conversationOf(spans, 'gen-2')).toMatchObject({ retained: true, reason: null });
    expect(conversationOf(spans, 'gen-2').messages).toHaveLength(6);
  });
});

describe('conversationOf: up to a span', () => {
  it('includes the generation named', () => {
    expect(turns(conversationOf(openAiLoop, 'gen-2')).map(([, , spanId]) => spanId)).toEqual(['gen-1', 'gen-1', 'gen-1', 'gen-2', 'gen-2', 'gen-2']);
  });

  it('takes the generations that started before any other span', () => {
    expect(conversationOf(openAiLoop, 'tool-rome').messages.map((m) => m.spanId)).toEqual(['gen-1', 'gen-1', 'gen-1']);
  });

  it('orders spans that started together by id', () => {
    const spans = [generation('b', 1, { input: 'first' }), generation('c', 1, { input: 'second' }), toolSpan('bb', 1)];
    expect(conversationOf(spans, 'bb').messages.map((m) => m.content)).toEqual(['first']);
    expect(conversationOf(spans).messages.map((m) => m.content)).toEqual(['first', 'second']);
  });

  it('says why there is nothing: no generation, or a span not in the trace', () => {
    expect(conversationOf(openAiLoop, 'nope')).toEqual({ retained: true, messages: [], reason: 'Span nope is not in this trace.' });
    const none = conversationOf([toolSpan('tool', 1)]);
    expect(none.retained).toBe(true);
    expect(none.messages).toEqual([]);
    expect(none.reason).toMatch(/no generation spans/);
    expect(conversationOf(openAiLoop, 'gen-1').messages).toHaveLength(3);
  });
});

describe('conversationOf: parameters from attributes', () => {
  it('reads OpenInference invocation parameters, tool schemas and model name', () => {
    const [message] = conversationOf([
      generation('g', 1, {
        // OpenInference records the request as JSON text.
        input: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }] }),
        meta: {
          'llm.model_name': 'gpt-4o-mini',
          'llm.invocation_parameters': '{"temperature":0.7,"max_tokens":256,"stop":["\\n\\n"]}',
          'llm.tools.1.tool.json_schema': '{"type":"function","function":{"name":"b"}}',
          'llm.tools.0.tool.json_schema': '{"type":"function","function":{"name":"a"}}',
        },
      }),
    ]).messages;
    expect(message).toMatchObject({ role: 'USER', content: 'Hi', model: 'gpt-4o-mini' });
    expect(message!.parameters).toEqual({
      temperature: 0.7,
      maxTokens: 256,
      topP: null,
      tools: [
        { type: 'function', function: { name: 'a' } },
        { type: 'function', function: { name: 'b' } },
      ],
      extra: { stop: ['\n\n'] },
    });
  });

  it('reads plain keys, lets the body win over attributes, and is null when nothing is found', () => {
    const [plain] = conversationOf([generation('g', 1, { input: 'Hi', meta: { temperature: 1, maxTokens: 50, topP: 0.5 } })]).messages;
    expect(plain!.parameters).toEqual({ temperature: 1, maxTokens: 50, topP: 0.5, tools: null, extra: {} });
    const [mixed] = conversationOf([
      generation('g', 1, {
        input: { model: 'm', messages: [{ role: 'user', content: 'Hi' }], temperature: 0 },
        meta: { 'gen_ai.request.temperature': 0.9, 'gen_ai.request.top_p': 0.8 },
      }),
    ]).messages;
    expect(mixed!.parameters).toEqual({ temperature: 0, maxTokens: null, topP: 0.8, tools: null, extra: {} });
    const [bare] = conversationOf([generation('g', 1, { input: 'Hi', meta: { user: 'u_1' } })]).messages;
    expect(bare!.parameters).toBeNull();
    expect(bare!.model).toBeNull();
  });
});

describe('conversationOf: plain and unknown shapes', () => {
  it('reads plain text and {prompt} / {text} objects', () => {
    const conversation = conversationOf([
      generation('g-1', 1, { input: 'Translate "chat" to English.', output: { text: 'Cat.' } }),
      generation('g-2', 2, { input: { prompt: 'Translate "chien".', model: 'gpt-3.5-turbo-instruct', max_tokens: 5 }, output: { choices: [{ text: 'Dog.' }] } }),
    ]);
    expect(turns(conversation)).toEqual([
      ['USER', 'Translate "chat" to English.', 'g-1'],
      ['ASSISTANT', 'Cat.', 'g-1'],
      ['USER', 'Translate "chien".', 'g-2'],
      ['ASSISTANT', 'Dog.', 'g-2'],
    ]);
    expect(conversation.messages[2]!.parameters).toMatchObject({ maxTokens: 5 });
  });

  it('keeps an unrecognized shape as an other part, and tells two of them apart', () => {
    const first = { question: 'What is the refund policy?', customer: 'c_1' };
    const answer = { answer: '30 days.', sources: ['policy.md'] };
    const conversation = conversationOf([
      generation('g-1', 1, { input: first, output: answer }),
      generation('g-2', 2, { input: { question: 'And for sale items?', customer: 'c_1' }, output: { answer: '14 days.', sources: [] } }),
    ]);
    expect(conversation.messages).toHaveLength(4);
    expect(conversation.messages[0]).toMatchObject({ role: 'USER', content: null, parts: [{ type: 'other', value: first }] });
    expect(conversation.messages[1]).toMatchObject({ role: 'ASSISTANT', content: null, parts: [{ type: 'other', value: answer }] });
    expect(conversation.messages.map((m) => m.spanId)).toEqual(['g-1', 'g-1', 'g-2', 'g-2']);
  });

  it('keeps unknown content blocks as other parts inside a recognized message', () => {
    const [message] = conversationOf([
      generation('g', 1, { input: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'UklG', format: 'wav' } }, { type: 'text', text: 'Transcribe.' }] }] }),
    ]).messages;
    expect(message!.parts).toEqual([
      { type: 'other', value: { type: 'input_audio', input_audio: { data: 'UklG', format: 'wav' } } },
      { type: 'text', text: 'Transcribe.' },
    ]);
    expect(message!.content).toBe('Transcribe.');
  });
});

describe('headlineOf: the line a list of traces shows', () => {
  const system = 'You are Acme Cloud support. '.repeat(20);
  it("is a chat input's last user message, however long the system prompt before it", () => {
    const input = [
      { role: 'system', content: system },
      { role: 'user', content: 'first question' },
      { role: 'assistant', content: 'an answer' },
      { role: 'user', content: [{ type: 'text', text: 'Can I get a refund on my annual plan?' }] },
    ];
    expect(headlineOf(input, 'input')).toBe('Can I get a refund on my annual plan?');
    expect(headlineOf({ model: 'gpt-4o', messages: input }, 'input')).toBe('Can I get a refund on my annual plan?');
    expect(headlineOf(JSON.stringify(input), 'input')).toBe('Can I get a refund on my annual plan?');
  });
  it("is a chat output's last assistant message, from a message, a choice or a list", () => {
    expect(headlineOf({ choices: [{ message: { role: 'assistant', content: 'Yes, pro rata.' } }] }, 'output')).toBe('Yes, pro rata.');
    expect(headlineOf([{ role: 'assistant', content: 'one' }, { role: 'assistant', content: 'two' }], 'output')).toBe('two');
    expect(headlineOf({ role: 'assistant', content: [{ type: 'text', text: 'done' }] }, 'output')).toBe('done');
  });
  it('is null for plain text and for values that are not a chat, which show as they are', () => {
    expect(headlineOf('just a question', 'input')).toBeNull();
    expect(headlineOf({ ticket: 4471, priority: 'high' }, 'input')).toBeNull();
    expect(headlineOf(42, 'output')).toBeNull();
    expect(headlineOf(null, 'input')).toBeNull();
    expect(headlineOf([{ role: 'system', content: system }], 'input')).toBeNull();
  });
});
