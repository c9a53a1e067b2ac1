/**
 * The fake providers, checked against the official SDKs: if `openai` and `@anthropic-ai/sdk` read
 * their answers as the real providers' answers, the playground's tests against them mean something.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_INPUT_TOKENS,
  DEFAULT_REPLY_TEXT,
  startFakeAnthropic,
  startFakeOpenAI,
  wordTokens,
  type FakeProvider,
} from '../helpers/fake-providers.js';

const WEATHER_TOOL = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'The weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
};
const WEATHER_CALL = { id: 'call_weather_1', name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } };

/** The status of what `call` threw, requiring it to be the SDK's own APIError. */
async function apiErrorOf(call: Promise<unknown>, apiError: typeof OpenAI.APIError | typeof Anthropic.APIError) {
  const error = await call.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(apiError);
  return error as InstanceType<typeof apiError>;
}

describe('the fake OpenAI-compatible provider', () => {
  let provider: FakeProvider;
  let client: OpenAI;
  beforeAll(async () => {
    provider = await startFakeOpenAI({ models: ['gpt-fake-mini', 'gpt-fake'] });
    client = new OpenAI({ apiKey: 'sk-fake-key', baseURL: provider.baseUrl });
  });
  afterAll(() => provider.stop());

  it('streams the scripted text in several chunks, with usage last when asked for', async () => {
    const text = 'The sky over Paris is clear today.';
    provider.reply({ text });
    const stream = await client.chat.completions.create({
      model: 'gpt-fake-mini',
      messages: [{ role: 'user', content: 'Weather?' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const contents: string[] = [];
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      const content = chunk.choices[0]?.delta.content;
      if (content) contents.push(content);
    }
    expect(contents.join('')).toBe(text);
    expect(contents).toEqual(wordTokens(text));
    expect(contents.length).toBeGreaterThan(3);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toEqual({ prompt_tokens: DEFAULT_INPUT_TOKENS, completion_tokens: contents.length, total_tokens: DEFAULT_INPUT_TOKENS + contents.length });

    const request = provider.modelCalls().at(-1);
    expect(request).toMatchObject({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { authorization: 'Bearer sk-fake-key', 'content-type': 'application/json' },
      body: { model: 'gpt-fake-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Weather?' }] },
      outcome: 'completed',
    });
  });

  it('sends no usage chunk unless include_usage asks for it', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'Hi' }], stream: true });
    let text = '';
    for await (const chunk of stream) {
      expect(chunk.usage).toBeUndefined();
      expect(chunk.choices).toHaveLength(1);
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe(DEFAULT_REPLY_TEXT);
  });

  it('answers a whole chat.completion when not streaming: the default reply, with usage', async () => {
    const completion = await client.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'Hi' }] });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('gpt-fake');
    expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: DEFAULT_REPLY_TEXT });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    const outputTokens = wordTokens(DEFAULT_REPLY_TEXT).length;
    expect(completion.usage).toEqual({ prompt_tokens: 12, completion_tokens: outputTokens, total_tokens: 12 + outputTokens });
  });

  it('streams tool calls in pieces the SDK reassembles', async () => {
    const second = { id: 'call_time_2', name: 'get_time', arguments: { zone: 'Europe/Paris' } };
    provider.reply({ toolCalls: [WEATHER_CALL, second] });
    const stream = await client.chat.completions.create({
      model: 'gpt-fake',
      messages: [{ role: 'user', content: 'Weather and time in Paris?' }],
      tools: [WEATHER_TOOL, { type: 'function', function: { name: 'get_time', parameters: { type: 'object' } } }],
      stream: true,
    });
    const calls: { id?: string; name?: string; arguments: string; pieces: number }[] = [];
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
        const call = (calls[delta.index] ??= { arguments: '', pieces: 0 });
        call.id ??= delta.id;
        call.name ??= delta.function?.name;
        if (delta.function?.arguments) {
          call.arguments += delta.function.arguments;
          call.pieces++;
        }
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe('tool_calls');
    expect(calls.map(({ id, name, arguments: json }) => ({ id, name, arguments: JSON.parse(json) }))).toEqual([WEATHER_CALL, second]);
    expect(calls[0]?.pieces).toBeGreaterThan(1);

    // The SDK's own accumulator agrees.
    provider.reply({ toolCalls: [WEATHER_CALL] });
    const final = await client.chat.completions
      .stream({ model: 'gpt-fake', messages: [{ role: 'user', content: 'Weather?' }], tools: [WEATHER_TOOL] })
      .finalChatCompletion();
    expect(final.choices[0]?.message.tool_calls).toEqual([
      { id: WEATHER_CALL.id, type: 'function', function: { name: 'get_weather', arguments: JSON.stringify(WEATHER_CALL.arguments) } },
    ]);
  });

  it('answers tool calls whole when not streaming, and refuses them when the request declared no tools', async () => {
    provider.reply({ toolCalls: [WEATHER_CALL] });
    const completion = await client.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'Weather?' }], tools: [WEATHER_TOOL] });
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(completion.choices[0]?.message.content).toBeNull();
    expect(JSON.parse((completion.choices[0]?.message.tool_calls?.[0] as OpenAI.ChatCompletionMessageFunctionToolCall).function.arguments)).toEqual(WEATHER_CALL.arguments);

    provider.reply({ toolCalls: [WEATHER_CALL] });
    const error = await apiErrorOf(client.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'Weather?' }] }), OpenAI.APIError);
    expect(error.status).toBe(400);
  });

  it('fails with the status and OpenAI error shape scripted, once, without the SDK retrying', async () => {
    for (const [status, type, code] of [
      [401, 'invalid_request_error', 'invalid_api_key'],
      [429, 'requests', 'rate_limit_exceeded'],
      [500, 'server_error', null],
    ] as const) {
      const before = provider.modelCalls().length;
      provider.fail(status, `scripted ${status}`);
      const error = await apiErrorOf(client.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'Hi' }] }), OpenAI.APIError);
      expect(error.status).toBe(status);
      expect(error.message).toContain(`scripted ${status}`);
      expect(error.error).toEqual({ message: `scripted ${status}`, type, param: null, code });
      expect(provider.modelCalls().length).toBe(before + 1);
    }
    // The next call gets the default answer again.
    const completion = await client.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'Hi' }] });
    expect(completion.choices[0]?.message.content).toBe(DEFAULT_REPLY_TEXT);
  });

  it('lets the SDK retry a failure scripted as retryable', async () => {
    const before = provider.modelCalls().length;
    provider.fail(503, 'overloaded for a moment', { retryable: true });
    const retrying = new OpenAI({ apiKey: 'sk-fake-key', baseURL: provider.baseUrl, maxRetries: 1 });
    const completion = await retrying.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'Hi' }] });
    expect(completion.choices[0]?.message.content).toBe(DEFAULT_REPLY_TEXT);
    expect(provider.modelCalls().length).toBe(before + 2);
  });

  it('sees the client abort a hanging stream', async () => {
    provider.hang({ afterTokens: 2 });
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'gpt-fake', messages: [{ role: 'user', content: 'Hi' }], stream: true },
      { signal: controller.signal },
    );
    const received: string[] = [];
    const reading = (async () => {
      for await (const chunk of stream) {
        const content = chunk.choices[0]?.delta.content;
        if (content) received.push(content);
        if (received.length === 2) controller.abort();
      }
    })();
    // openai 6 ends an aborted stream's iteration quietly instead of throwing: a caller has to look
    // at its signal after the loop to tell an abort from a finished answer.
    await expect(reading).resolves.toBeUndefined();
    expect(controller.signal.aborted).toBe(true);
    expect(received).toEqual(wordTokens(DEFAULT_REPLY_TEXT).slice(0, 2));

    const aborted = await provider.waitForAbortedRequest(5_000);
    expect(aborted).toBe(provider.modelCalls().at(-1));
    expect(aborted.outcome).toBe('client-closed');
    await expect(aborted.closed).resolves.toBe('client-closed');
    expect(provider.abortedRequests).toContain(aborted);
  });

  it('sees the client give up while it waits for the first byte', async () => {
    const patient = provider.requests.length;
    provider.reply({ firstByteDelayMs: 60_000 });
    const call = client.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'Hi' }] }, { timeout: 200, maxRetries: 0 });
    await expect(call).rejects.toThrow(OpenAI.APIConnectionTimeoutError);
    const aborted = await provider.waitForAbortedRequest(5_000);
    expect(provider.requests.indexOf(aborted)).toBe(patient);
    expect(aborted.firstByteAt).toBeUndefined();
  });

  it('paces tokens when slowed', async () => {
    provider.reply({ tokens: ['a', 'b', 'c', 'd', 'e'], tokenDelayMs: 40 });
    const started = performance.now();
    const stream = await client.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'Hi' }], stream: true });
    const arrivals: number[] = [];
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) arrivals.push(performance.now() - started);
    expect(arrivals).toHaveLength(5);
    expect((arrivals[4] ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThanOrEqual(4 * 40 - 10);
  });

  it('streams N filler tokens back to back for the benchmark', async () => {
    provider.reply({ tokens: 5_000 });
    const stream = await client.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'Hi' }], stream: true, stream_options: { include_usage: true } });
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) chunks++;
      usage = chunk.usage ?? usage;
    }
    expect(chunks).toBe(5_000);
    expect(usage?.completion_tokens).toBe(5_000);
  });

  it('lists its models', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(['gpt-fake-mini', 'gpt-fake']);
    expect(provider.requests.at(-1)).toMatchObject({ method: 'GET', path: '/v1/models', headers: { authorization: 'Bearer sk-fake-key' } });
  });

  it('answers a scripted redirect with a 307 to the address given', async () => {
    provider.redirect('http://169.254.169.254/latest/meta-data');
    const response = await fetch(`${provider.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-fake', messages: [{ role: 'user', content: 'Hi' }] }),
      redirect: 'manual',
    });
    expect(response.status).toBe(307);
    expect(response.headers.get('location')).toBe('http://169.254.169.254/latest/meta-data');
  });
});

describe('the fake OpenAI-compatible provider, configured', () => {
  it('redirects every request with the redirect option', async () => {
    const provider = await startFakeOpenAI({ redirect: 'http://169.254.169.254/latest/meta-data' });
    try {
      for (const [method, path] of [['POST', '/v1/chat/completions'], ['GET', '/v1/models']] as const) {
        const response = await fetch(`${provider.url}${path}`, { method, body: method === 'POST' ? '{}' : undefined, redirect: 'manual' });
        expect(response.status).toBe(307);
        expect(response.headers.get('location')).toBe('http://169.254.169.254/latest/meta-data');
      }
    } finally {
      await provider.stop();
    }
  });

  it('requires its key when given one, and cuts hanging answers off when stopped', async () => {
    const provider = await startFakeOpenAI({ apiKey: 'sk-right' });
    const error = await apiErrorOf(
      new OpenAI({ apiKey: 'sk-wrong', baseURL: provider.baseUrl }).chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'Hi' }] }),
      OpenAI.APIError,
    );
    expect(error.status).toBe(401);

    provider.hang('before-headers');
    const call = new OpenAI({ apiKey: 'sk-right', baseURL: provider.baseUrl, maxRetries: 0 }).chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'Hi' }] });
    call.catch(() => {});
    const hanging = await provider.waitForRequest().then(() => provider.waitForRequest());
    await provider.stop();
    await expect(hanging.closed).resolves.toBe('server-stopped');
    await expect(call).rejects.toThrow(OpenAI.APIConnectionError);
    expect(provider.abortedRequests).toEqual([]);
  });
});

describe('the fake Anthropic provider', () => {
  let provider: FakeProvider;
  let client: Anthropic;
  beforeAll(async () => {
    provider = await startFakeAnthropic({ models: ['claude-fake-haiku', 'claude-fake-sonnet'] });
    client = new Anthropic({ apiKey: 'sk-ant-fake', baseURL: provider.baseUrl });
  });
  afterAll(() => provider.stop());

  it('streams the scripted text as Messages events, and finalMessage matches', async () => {
    const text = 'Clear skies over Paris, 18 degrees.';
    provider.reply({ text });
    const stream = client.messages.stream({
      model: 'claude-fake-haiku',
      max_tokens: 256,
      system: 'You are a weather bot.',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    const deltas: string[] = [];
    const events: string[] = [];
    stream.on('text', (delta) => deltas.push(delta));
    stream.on('streamEvent', (event) => events.push(event.type));
    const message = await stream.finalMessage();

    expect(deltas).toEqual(wordTokens(text));
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-fake-haiku',
      content: [{ type: 'text', text }],
      stop_reason: 'end_turn',
      usage: { input_tokens: DEFAULT_INPUT_TOKENS, output_tokens: deltas.length },
    });
    expect(events[0]).toBe('message_start');
    expect(events.slice(-2)).toEqual(['message_delta', 'message_stop']);
    expect(events.filter((type) => type === 'content_block_delta')).toHaveLength(deltas.length);

    expect(provider.modelCalls().at(-1)).toMatchObject({
      method: 'POST',
      path: '/v1/messages',
      // @anthropic-ai/sdk 1.x sends `apiKey` as a bearer token (the API takes `x-api-key` as well).
      headers: { authorization: 'Bearer sk-ant-fake', 'anthropic-version': expect.any(String) },
      body: { model: 'claude-fake-haiku', max_tokens: 256, stream: true, system: 'You are a weather bot.' },
      outcome: 'completed',
    });
  });

  it('takes the key as x-api-key, as the API documents it, and refuses a wrong one', async () => {
    const keyed = await startFakeAnthropic({ apiKey: 'sk-ant-right' });
    try {
      const viaHeader = new Anthropic({ apiKey: null, baseURL: keyed.baseUrl, defaultHeaders: { 'x-api-key': 'sk-ant-right' } });
      const message = await viaHeader.messages.create({ model: 'claude-fake-haiku', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] });
      expect(message.content).toEqual([{ type: 'text', text: DEFAULT_REPLY_TEXT }]);
      expect(keyed.requests.at(-1)?.headers['x-api-key']).toBe('sk-ant-right');

      const wrong = new Anthropic({ apiKey: 'sk-ant-wrong', baseURL: keyed.baseUrl });
      const error = await apiErrorOf(wrong.messages.create({ model: 'claude-fake-haiku', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] }), Anthropic.APIError);
      expect(error.status).toBe(401);
      expect(error.error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    } finally {
      await keyed.stop();
    }
  });

  it('answers a whole message when not streaming, tool calls included', async () => {
    const tools = [{ name: 'get_weather', description: 'The weather in a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } }];
    provider.reply({ text: 'Let me look.', toolCalls: [WEATHER_CALL] });
    const message = await client.messages.create({ model: 'claude-fake-sonnet', max_tokens: 256, tools, messages: [{ role: 'user', content: 'Weather?' }] });
    expect(message.content).toEqual([
      { type: 'text', text: 'Let me look.' },
      { type: 'tool_use', id: WEATHER_CALL.id, name: 'get_weather', input: WEATHER_CALL.arguments },
    ]);
    expect(message.stop_reason).toBe('tool_use');

    // Streamed, the input arrives as input_json_delta pieces the SDK puts back together.
    provider.reply({ toolCalls: [WEATHER_CALL] });
    const stream = client.messages.stream({ model: 'claude-fake-sonnet', max_tokens: 256, tools, messages: [{ role: 'user', content: 'Weather?' }] });
    const pieces: string[] = [];
    stream.on('inputJson', (partial) => pieces.push(partial));
    const streamed = await stream.finalMessage();
    expect(streamed.content).toEqual([{ type: 'tool_use', id: WEATHER_CALL.id, name: 'get_weather', input: WEATHER_CALL.arguments }]);
    expect(streamed.stop_reason).toBe('tool_use');
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe(JSON.stringify(WEATHER_CALL.arguments));
  });

  it('refuses what the real API refuses: a system message among messages, tool calls without tools', async () => {
    const system = await apiErrorOf(
      client.messages.create({ model: 'claude-fake-haiku', max_tokens: 10, messages: [{ role: 'system' as 'user', content: 'Be brief.' }] }),
      Anthropic.APIError,
    );
    expect(system.status).toBe(400);
    expect(system.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });

    provider.reply({ toolCalls: [WEATHER_CALL] });
    const noTools = await apiErrorOf(client.messages.create({ model: 'claude-fake-haiku', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] }), Anthropic.APIError);
    expect(noTools.status).toBe(400);
  });

  it('fails with the status and Anthropic error shape scripted', async () => {
    for (const [status, type] of [
      [401, 'authentication_error'],
      [429, 'rate_limit_error'],
      [500, 'api_error'],
    ] as const) {
      const before = provider.modelCalls().length;
      provider.fail(status, `scripted ${status}`);
      const error = await apiErrorOf(
        client.messages.stream({ model: 'claude-fake-haiku', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] }).finalMessage(),
        Anthropic.APIError,
      );
      expect(error.status).toBe(status);
      expect(error.error).toEqual({ type: 'error', error: { type, message: `scripted ${status}` } });
      expect(provider.modelCalls().length).toBe(before + 1);
    }
  });

  it('sees the client abort a hanging stream', async () => {
    provider.hang();
    const stream = client.messages.stream({ model: 'claude-fake-haiku', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] });
    const received: string[] = [];
    stream.on('text', (delta) => {
      received.push(delta);
      stream.abort();
    });
    await expect(stream.finalMessage()).rejects.toThrow(Anthropic.APIUserAbortError);
    expect(received).toEqual(wordTokens(DEFAULT_REPLY_TEXT).slice(0, 1));

    const aborted = await provider.waitForAbortedRequest(5_000);
    expect(aborted).toBe(provider.modelCalls().at(-1));
    await expect(aborted.closed).resolves.toBe('client-closed');
  });

  it('lists its models in Anthropic’s list format', async () => {
    const page = await client.models.list();
    expect(page.data.map((model) => model.id)).toEqual(['claude-fake-haiku', 'claude-fake-sonnet']);
    const response = await fetch(`${provider.url}/v1/models`);
    expect(await response.json()).toEqual({
      data: [
        { id: 'claude-fake-haiku', type: 'model', display_name: 'claude-fake-haiku', created_at: '2025-01-01T00:00:00Z' },
        { id: 'claude-fake-sonnet', type: 'model', display_name: 'claude-fake-sonnet', created_at: '2025-01-01T00:00:00Z' },
      ],
      has_more: false,
      first_id: 'claude-fake-haiku',
      last_id: 'claude-fake-sonnet',
    });
  });
});
