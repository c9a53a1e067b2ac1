/**
 * The playground end to end: a real server, real HTTP and WebSocket clients, and model providers of
 * our own on loopback (OpenAI-compatible and Anthropic wire formats) that record exactly what reaches
 * them. Each run must reach the provider as given, stream back, and be recorded as a PLAYGROUND trace.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type SubscriptionClient } from './helpers/clients.js';
import { startFakeAnthropic, startFakeOpenAI, DEFAULT_REPLY_TEXT, type FakeProvider } from './helpers/fake-providers.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const PROVIDER_KEY = 'sk-test-PLAYGROUND-secret-0123456789';
const ANTHROPIC_KEY = 'sk-ant-test-secret-9876543210';

const RUN_FIELDS = `id traceId providerId model label inputTokens outputTokens cost costSource latencyMs timeToFirstTokenMs error sourceTraceId sourceSpanId
  output { role content toolCalls { id name arguments } }
  messages { role content toolCallId toolCalls { id name arguments } }
  parameters { temperature maxTokens topP tools extra }`;
const RUN = `mutation Run($input: PlaygroundRunInput!) { runPlayground(input: $input) { ${RUN_FIELDS} } }`;
const CREATE_PROVIDER = `mutation Create($input: CreateModelProviderInput!) { createModelProvider(input: $input) { id name kind baseUrl models configuredModels hasApiKey headerNames } }`;

let server: TestServer;
let openai: FakeProvider;
let anthropic: FakeProvider;
let openaiId: string;
let anthropicId: string;
let sourceTraceId: string;

beforeAll(async () => {
  [server, openai, anthropic] = await Promise.all([
    startTestServer({ PLAYGROUND_ALLOW_PRIVATE_NETWORKS: 'true', PLAYGROUND_MAX_TOKENS: '2048' }),
    startFakeOpenAI({ models: ['gpt-4o-mini', 'gpt-4o'] }),
    startFakeAnthropic({ models: ['claude-sonnet-4-5'] }),
  ]);
  const created = await server.gql(CREATE_PROVIDER, {
    input: { name: 'Local OpenAI', kind: 'OPENAI_COMPATIBLE', baseUrl: openai.baseUrl, apiKey: PROVIDER_KEY, headers: { 'X-Team': 'evals-team-header' } },
  });
  openaiId = created.createModelProvider.id;
  const claude = await server.gql(CREATE_PROVIDER, {
    input: { name: 'Local Anthropic', kind: 'ANTHROPIC', baseUrl: anthropic.baseUrl, apiKey: ANTHROPIC_KEY, models: ['claude-sonnet-4-5'] },
  });
  anthropicId = claude.createModelProvider.id;
  const source = await server.gql(`mutation { createSpan(input: { name: "chat", type: GENERATION, model: "gpt-4o", endTime: "2030-01-01T00:00:00Z",
    input: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }], output: { role: "assistant", content: "Hello!" } }) { traceId } }`);
  sourceTraceId = source.createSpan.traceId;
}, 120_000);

afterAll(async () => {
  await Promise.all([server?.stop(), openai?.stop(), anthropic?.stop()]);
});

describe('model providers', () => {
  it('lists a provider without its secrets, with the models it has: configured, else asked of the provider', async () => {
    const { modelProviders } = await server.gql(`{ modelProviders { id name kind baseUrl models configuredModels hasApiKey headerNames } }`);
    const local = modelProviders.find((provider: any) => provider.id === openaiId);
    expect(local).toMatchObject({ kind: 'OPENAI_COMPATIBLE', hasApiKey: true, headerNames: ['X-Team'], configuredModels: [], models: ['gpt-4o', 'gpt-4o-mini'] });
    expect(modelProviders.find((provider: any) => provider.id === anthropicId).models).toEqual(['claude-sonnet-4-5']);
    expect(JSON.stringify(modelProviders)).not.toContain(PROVIDER_KEY);
    expect(JSON.stringify(modelProviders)).not.toContain('evals-team-header');
  });
});

describe('runPlayground (OpenAI-compatible)', () => {
  it('sends exactly the messages, model, parameters, tools and key it was given, and records the run as a PLAYGROUND trace', async () => {
    const before = openai.modelCalls().length;
    const tools = [{ type: 'function', function: { name: 'lookup', description: 'Look a word up', parameters: { type: 'object', properties: { word: { type: 'string' } } } } }];
    const { runPlayground: run } = await server.gql(RUN, {
      input: {
        providerId: openaiId,
        model: 'gpt-4o-mini',
        messages: [
          { role: 'SYSTEM', content: 'Be brief.' },
          { role: 'USER', content: 'Hi there' },
        ],
        parameters: { temperature: 0.3, maxTokens: 100, topP: 0.9, stop: ['END'], extra: { seed: 7 } },
        tools,
        sourceTraceId,
        label: 'variant A',
      },
    });
    const sent = openai.modelCalls().slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.path).toBe('/v1/chat/completions');
    expect(sent[0]!.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    expect(sent[0]!.headers['x-team']).toBe('evals-team-header');
    const { stream, stream_options, ...body } = sent[0]!.body;
    expect(stream).toBe(true);
    expect(stream_options).toEqual({ include_usage: true });
    expect(body).toEqual({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi there' },
      ],
      temperature: 0.3,
      max_tokens: 100,
      top_p: 0.9,
      stop: ['END'],
      seed: 7,
      tools,
    });
    expect(run).toMatchObject({ model: 'gpt-4o-mini', label: 'variant A', providerId: openaiId, error: null, sourceTraceId, costSource: 'COMPUTED' });
    expect(run.output).toMatchObject({ role: 'ASSISTANT', content: DEFAULT_REPLY_TEXT });
    expect(run.inputTokens).toBe(12);
    expect(run.outputTokens).toBeGreaterThan(0);
    expect(run.cost).toBeGreaterThan(0);
    expect(run.latencyMs).toBeGreaterThanOrEqual(run.timeToFirstTokenMs);
    expect(run.messages.map((message: any) => [message.role, message.content])).toEqual([
      ['SYSTEM', 'Be brief.'],
      ['USER', 'Hi there'],
    ]);
    expect(run.parameters).toMatchObject({ temperature: 0.3, maxTokens: 100, topP: 0.9, tools });

    // The run's trace: origin PLAYGROUND, linked to its source, out of the explorer unless asked for.
    const { trace } = await server.gql(`query($id: ID!) { trace(id: $id) { origin sourceTraceId spanCount rootSpan { type model output } } }`, { id: run.traceId });
    expect(trace).toMatchObject({ origin: 'PLAYGROUND', sourceTraceId, spanCount: 1, rootSpan: { type: 'GENERATION', model: 'gpt-4o-mini' } });
    const listed = await server.gql(`{ app: traces(first: 100) { edges { node { id origin } } } runs: traces(first: 100, filter: { origin: [PLAYGROUND] }) { edges { node { id } } } }`);
    expect(listed.app.edges.map((edge: any) => edge.node.id)).not.toContain(run.traceId);
    expect(listed.app.edges.every((edge: any) => edge.node.origin === 'APP')).toBe(true);
    expect(listed.runs.edges.map((edge: any) => edge.node.id)).toContain(run.traceId);

    // The history of the source trace lists it, newest first, and reopens its messages and settings.
    const { playgroundRuns } = await server.gql(`query($source: ID) { playgroundRuns(sourceTraceId: $source, first: 10) { edges { node { ${RUN_FIELDS} } } } }`, {
      source: sourceTraceId,
    });
    const found = playgroundRuns.edges.find((edge: any) => edge.node.id === run.id).node;
    expect(found).toMatchObject({ label: 'variant A', model: 'gpt-4o-mini', messages: run.messages, parameters: run.parameters, output: run.output });
  });

  it('brings back tool calls, and sends tool results back as given', async () => {
    openai.reply({ toolCalls: [{ id: 'call_1', name: 'lookup', arguments: { word: 'span' } }] });
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { word: { type: 'string' } } } } }];
    const { runPlayground: first } = await server.gql(RUN, {
      input: { providerId: openaiId, model: 'gpt-4o', messages: [{ role: 'USER', content: 'What is a span?' }], tools },
    });
    expect(first.output.toolCalls).toEqual([{ id: 'call_1', name: 'lookup', arguments: { word: 'span' } }]);
    const before = openai.modelCalls().length;
    await server.gql(RUN, {
      input: {
        providerId: openaiId,
        model: 'gpt-4o',
        tools,
        messages: [
          { role: 'USER', content: 'What is a span?' },
          { role: 'ASSISTANT', content: null, toolCalls: [{ id: 'call_1', name: 'lookup', arguments: { word: 'span' } }] },
          { role: 'TOOL', toolCallId: 'call_1', content: 'A unit of work.' },
        ],
      },
    });
    expect(openai.modelCalls()[before]!.body.messages).toEqual([
      { role: 'user', content: 'What is a span?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"word":"span"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'A unit of work.' },
    ]);
  });

  it.each([401, 429, 500])('a provider %i is PROVIDER_ERROR with its status and message, recorded as a failed run, never echoing the key', async (status) => {
    openai.fail(status, `Incorrect API key provided: ${PROVIDER_KEY} (sk-te****6789)`);
    const response = await server.request(RUN, { input: { providerId: openaiId, model: 'gpt-4o', messages: [{ role: 'USER', content: 'Hi' }] } });
    const [error] = response.errors!;
    expect(error!.extensions).toMatchObject({ code: 'PROVIDER_ERROR', status });
    expect(error!.message).toContain(`${status}`);
    expect(error!.message).toContain('Incorrect API key provided');
    expect(JSON.stringify(response)).not.toContain(PROVIDER_KEY);
    expect(JSON.stringify(response)).not.toContain('6789');
    const { trace } = await server.gql(`query($id: ID!) { trace(id: $id) { origin status rootSpan { error } } }`, { id: error!.extensions!.traceId });
    expect(trace.origin).toBe('PLAYGROUND');
    expect(trace.status).toBe('ERROR');
    expect(trace.rootSpan.error).toContain(`${status}`);
    expect(trace.rootSpan.error).not.toContain(PROVIDER_KEY);
  });
});

describe('playgroundRequest ("View code")', () => {
  it.each(['openai', 'anthropic'] as const)('is exactly what a run then sends (%s), without the key', async (which) => {
    const [provider, providerId] = which === 'openai' ? [openai, openaiId] : [anthropic, anthropicId];
    const input = {
      providerId,
      model: which === 'openai' ? 'gpt-4o' : 'claude-sonnet-4-5',
      messages: [
        { role: 'SYSTEM', content: 'Be brief.' },
        { role: 'USER', content: 'Hi' },
      ],
      parameters: { temperature: 0.1, topP: 0.5, extra: { seed: 3 } },
    };
    const { playgroundRequest } = await server.gql(`query($input: PlaygroundRunInput!) { playgroundRequest(input: $input) { url body keyHeader headerNames } }`, { input });
    const before = provider.modelCalls().length;
    await server.gql(RUN, { input });
    const sent = provider.modelCalls()[before]!;
    expect(playgroundRequest.body).toEqual(sent.body);
    expect(new URL(playgroundRequest.url).pathname).toBe(sent.path);
    expect(playgroundRequest.keyHeader).toBe(which === 'openai' ? 'authorization' : 'x-api-key');
    expect(playgroundRequest.headerNames).toEqual(which === 'openai' ? ['X-Team'] : []);
    expect(JSON.stringify(playgroundRequest)).not.toContain(which === 'openai' ? PROVIDER_KEY : ANTHROPIC_KEY);
  });
});

describe('playgroundRun subscription', () => {
  let client: SubscriptionClient;
  beforeAll(() => {
    client = connect('ws', server.url);
  });
  afterAll(() => client.dispose());

  const SUBSCRIBE = `subscription Run($input: PlaygroundRunInput!) { playgroundRun(input: $input) { delta run { id traceId output { content } outputTokens error } } }`;

  it.each(['ws', 'sse'] as const)('streams the text as it arrives, then the finished run, then ends (%s)', async (transport) => {
    openai.reply({ tokens: ['Once ', 'upon ', 'a ', 'time.'], tokenDelayMs: 20 });
    const over = transport === 'ws' ? client : connect('sse', server.url);
    const subscription = over.subscribe(SUBSCRIBE, { input: { providerId: openaiId, model: 'gpt-4o', messages: [{ role: 'USER', content: 'A story' }] } });
    expect(await subscription.ended).toBeUndefined();
    const events = subscription.results.map((result) => result.data.playgroundRun);
    const deltas = events.filter((event) => event.delta !== null);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((event) => event.delta).join('')).toBe('Once upon a time.');
    const last = events.at(-1);
    expect(last.delta).toBeNull();
    expect(last.run).toMatchObject({ output: { content: 'Once upon a time.' }, outputTokens: 4, error: null });
    if (over !== client) await over.dispose();
  });

  it('a provider error ends the subscription with PROVIDER_ERROR, its status and the run\'s trace', async () => {
    openai.fail(503, 'Upstream overloaded');
    const subscription = client.subscribe(SUBSCRIBE, { input: { providerId: openaiId, model: 'gpt-4o', messages: [{ role: 'USER', content: 'Hi' }] } });
    await subscription.ended;
    const [result] = subscription.results;
    expect(result.errors[0].extensions).toMatchObject({ code: 'PROVIDER_ERROR', status: 503 });
    expect(result.errors[0].message).toContain('Upstream overloaded');
    const { trace } = await server.gql(`query($id: ID!) { trace(id: $id) { origin status } }`, { id: result.errors[0].extensions.traceId });
    expect(trace).toEqual({ origin: 'PLAYGROUND', status: 'ERROR' });
  });

  it('aborts the provider request at once when the subscriber leaves, and records the stopped run', async () => {
    openai.hang({ afterTokens: 1 });
    const subscription = client.subscribe(SUBSCRIBE, { input: { providerId: openaiId, model: 'gpt-4o', label: 'to stop', messages: [{ role: 'USER', content: 'Go on forever' }] } });
    await subscription.waitFor(1);
    await subscription.stop();
    const aborted = await openai.waitForAbortedRequest(20_000);
    expect(aborted.body.messages).toEqual([{ role: 'user', content: 'Go on forever' }]);
    // The run is recorded with what arrived, and why it stopped.
    let stopped: any;
    for (let attempt = 0; attempt < 200 && !stopped; attempt++) {
      const { playgroundRuns } = await server.gql(`{ playgroundRuns(first: 20) { edges { node { label error output { content } } } } }`);
      stopped = playgroundRuns.edges.map((edge: any) => edge.node).find((node: any) => node.label === 'to stop');
      if (!stopped) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(stopped.error).toMatch(/stopped/);
  });
});

describe('runPlayground (Anthropic)', () => {
  it('speaks the Messages API: instructions apart, the key in x-api-key, tool definitions converted, and streams back', async () => {
    const before = anthropic.modelCalls().length;
    const { runPlayground: run } = await server.gql(RUN, {
      input: {
        providerId: anthropicId,
        model: 'claude-sonnet-4-5',
        messages: [
          { role: 'SYSTEM', content: 'Be brief.' },
          { role: 'USER', content: 'Hi' },
        ],
        parameters: { temperature: 0.5, stop: ['END'] },
        tools: [{ type: 'function', function: { name: 'lookup', description: 'Look up', parameters: { type: 'object', properties: {} } } }],
      },
    });
    const [sent] = anthropic.modelCalls().slice(before);
    expect(sent!.path).toBe('/v1/messages');
    expect(sent!.headers['x-api-key']).toBe(ANTHROPIC_KEY);
    expect(sent!.headers.authorization).toBeUndefined();
    const { stream, ...body } = sent!.body;
    expect(stream).toBe(true);
    expect(body).toEqual({
      model: 'claude-sonnet-4-5',
      system: 'Be brief.',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 2048,
      temperature: 0.5,
      stop_sequences: ['END'],
      tools: [{ name: 'lookup', description: 'Look up', input_schema: { type: 'object', properties: {} } }],
    });
    expect(run.output.content).toBe(DEFAULT_REPLY_TEXT);
    expect(run.inputTokens).toBe(12);
    expect(run.error).toBeNull();
  });

  it('a provider error is PROVIDER_ERROR with its status', async () => {
    anthropic.fail(529, 'Overloaded');
    const response = await server.request(RUN, { input: { providerId: anthropicId, model: 'claude-sonnet-4-5', messages: [{ role: 'USER', content: 'Hi' }] } });
    expect(response.errors![0]!.extensions).toMatchObject({ code: 'PROVIDER_ERROR', status: 529 });
    expect(response.errors![0]!.message).toContain('Overloaded');
  });
});
