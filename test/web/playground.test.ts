/**
 * The playground in a real browser against a real server and a fake OpenAI-compatible provider on
 * loopback (test/helpers/fake-providers.ts): opened from a trace and from a span, a message edited
 * and "Run from here" (exactly the messages up to it reach the provider), messages reordered,
 * deleted and given a tool call and its answer, the model switched, tools checked before a run, two
 * variants compared, a streaming run stopped (the provider sees its client leave), a provider's
 * error and a key without the PLAYGROUND scope, the history reopening a run, View code without the
 * key (the server's request, read when the dialog opens: its curl body byte for byte what the OpenAI
 * and Anthropic providers received, Anthropic's with the server's own max_tokens, and the server's
 * refusal of an input it would not run), and a new project adding its first provider from the page.
 * Nothing the page loads comes from outside the server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { usePages, useBrowser, type OpenPage } from '../helpers/browser.js';
import { DEFAULT_INPUT_TOKENS, DEFAULT_REPLY_TEXT, startFakeAnthropic, startFakeOpenAI, type FakeProvider, type RecordedRequest } from '../helpers/fake-providers.js';
import { at, CREATE_SPANS, uid } from '../helpers/operations.js';
import { eventually } from '../helpers/wait.js';
import { bearer, originOf, useTestServer } from '../helpers/server.js';

/** Not the default (4,096): what Anthropic is sent when a run names no max_tokens, shown by View code. */
const MAX_TOKENS = 1500;
const server = useTestServer({ PLAYGROUND_ALLOW_PRIVATE_NETWORKS: 'true', PLAYGROUND_MAX_TOKENS: String(MAX_TOKENS) });
const browser = useBrowser();
const WAIT = { timeout: 30_000 };
const open = usePages(browser, () => originOf(server().url));

/** The provider's key: it must never reach the page. */
const PROVIDER_KEY = 'sk-fake-provider-secret-7d41c2e9b0a8';
const MODELS = ['fake-small', 'fake-large'];

const SYSTEM = 'You are a support agent. Answer from the docs.';
const QUESTION = 'Which plan includes SSO?';
const ANSWER = 'SSO is part of the Business plan and above.';

let fake: FakeProvider;
let providerId: string;

beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKey: PROVIDER_KEY, models: MODELS });
  const { createModelProvider } = await server().gql(
    `mutation ($input: CreateModelProviderInput!) { createModelProvider(input: $input) { id hasApiKey } }`,
    { input: { name: 'Fake OpenAI', kind: 'OPENAI_COMPATIBLE', baseUrl: fake.baseUrl, apiKey: PROVIDER_KEY, models: MODELS } },
  );
  expect(createModelProvider.hasApiKey).toBe(true);
  providerId = createModelProvider.id;
});

afterAll(async () => {
  await fake?.stop();
});

/** A trace with one generation whose input is an OpenAI messages list, recorded with its parameters. */
async function writeTrace(): Promise<{ traceId: string; generationId: string }> {
  const traceId = uid('pg');
  const generationId = `${traceId}-gen`;
  await server().gql(CREATE_SPANS, {
    input: [
      { id: `${traceId}-root`, traceId, name: 'support-agent', type: 'AGENT', startTime: at(0), endTime: at(3000) },
      {
        id: generationId, traceId, parentId: `${traceId}-root`, name: 'answer', type: 'GENERATION', model: 'gpt-4o-mini',
        startTime: at(100), endTime: at(2100), inputTokens: 30, outputTokens: 12,
        input: [
          { role: 'system', content: SYSTEM },
          { role: 'user', content: QUESTION },
        ],
        output: { role: 'assistant', content: ANSWER },
        meta: { temperature: 0.3, max_tokens: 200 },
      },
    ],
  });
  return { traceId, generationId };
}

/** The next model call the fake provider receives (model lists are skipped). */
async function nextModelCall(): Promise<RecordedRequest> {
  for (;;) {
    const request = await fake.waitForRequest(30_000);
    if (request.method === 'POST' && request.path.startsWith('/v1/chat/completions')) return request;
  }
}

const messageCards = (page: Page) => page.getByTestId('message');
const message = (page: Page, index: number) => messageCards(page).nth(index);
const column = (page: Page, variant = 'A') => page.locator(`[data-testid="run-column"][data-variant="${variant}"]`);
const side = (page: Page) => page.getByRole('complementary', { name: 'Model and parameters' });

/** The playground of `traceId`, ready: its messages drawn and its first variant set up. */
async function openPlayground(path: string): Promise<OpenPage> {
  const opened = await open(path);
  await opened.page.getByTestId('message').first().waitFor(WAIT);
  await side(opened.page).getByTestId('variant-settings').waitFor(WAIT);
  return opened;
}

async function chooseModel(page: Page, model: string, variant?: string) {
  await side(page).getByRole('combobox', { name: variant ? `Model (variant ${variant})` : 'Model', exact: true }).selectOption(model);
}

async function messageTexts(page: Page): Promise<{ role: string; text: string }[]> {
  const cards = await messageCards(page).all();
  return Promise.all(
    cards.map(async (card) => ({ role: (await card.getAttribute('data-role'))!, text: await card.locator('textarea.message-text').inputValue() })),
  );
}

async function opacityOf(locator: Locator): Promise<string> {
  return locator.evaluate((element) => getComputedStyle(element).opacity);
}

/** Waits for a run's column to finish (done), failing with what it shows instead. */
async function finished(page: Page, variant = 'A') {
  await eventually(async () => (await column(page, variant).getAttribute('data-status')) === 'done', `variant ${variant} to finish`, 30_000).catch(async (error) => {
    throw new Error(`${String(error)}: ${await column(page, variant).innerText().catch(() => '(no column)')}`);
  });
}

/** The body of a curl command as View code writes it (`-d '…'`, single quotes escaped as '\''), as text. */
function bodyTextOfCurl(curl: string): string {
  return curl.slice(curl.indexOf("-d '") + 4, curl.lastIndexOf("'")).replaceAll(`'\\''`, "'");
}

function bodyOfCurl(curl: string): unknown {
  return JSON.parse(bodyTextOfCurl(curl));
}

/** Holds the page's `playgroundRequest` queries until the function returned is called. */
async function holdWireRequests(page: Page): Promise<() => void> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  await page.route('**/graphql', async (route) => {
    if (route.request().postData()?.includes('playgroundRequest')) await released;
    await route.fallback();
  });
  return release;
}

function expectClean({ outside, errors }: OpenPage) {
  expect(outside).toEqual([]);
  expect(errors).toEqual([]);
}

describe('the playground', () => {
  it('opens from the trace view and from the span view, with the recorded conversation and parameters, and survives a reload', async () => {
    const { traceId, generationId } = await writeTrace();
    const opened = await open(`/traces/${traceId}`);
    const { page } = opened;
    await page.getByTestId('open-playground').click();
    await page.waitForURL(`**/traces/${traceId}/playground`, WAIT);
    await message(page, 2).waitFor(WAIT);
    expect(await messageTexts(page)).toEqual([
      { role: 'system', text: SYSTEM },
      { role: 'user', text: QUESTION },
      { role: 'assistant', text: ANSWER },
    ]);
    // Prefilled from the recorded generation: its model (not one the provider lists, so typed) and parameters.
    const settings = side(page);
    await settings.getByRole('textbox', { name: 'Model name' }).waitFor(WAIT);
    expect(await settings.getByRole('textbox', { name: 'Model name' }).inputValue()).toBe('gpt-4o-mini');
    expect(await settings.getByRole('combobox', { name: 'Provider' }).inputValue()).toBe(providerId);
    expect(await settings.getByLabel('Temperature').inputValue()).toBe('0.3');
    expect(await settings.getByLabel('Max tokens').inputValue()).toBe('200');

    // A reload lands on the playground again (the server answers the page for its path).
    await page.reload();
    await message(page, 2).waitFor(WAIT);
    expect((await messageTexts(page)).map((item) => item.role)).toEqual(['system', 'user', 'assistant']);

    // From the span view: the conversation up to that span.
    await page.goto(`${originOf(server().url)}/traces/${traceId}/spans/${generationId}`);
    await page.getByTestId('span-playground').click();
    await page.waitForURL(`**/traces/${traceId}/spans/${generationId}/playground`, WAIT);
    await message(page, 2).waitFor(WAIT);
    expect((await messageTexts(page)).map((item) => item.text)).toEqual([SYSTEM, QUESTION, ANSWER]);
    expect(await page.locator('.crumbs').innerText()).toContain('answer');
    expectClean(opened);
  });

  it('edits a message and runs from it: exactly the messages up to it reach the provider, with the key and the parameters', async () => {
    const { traceId, generationId } = await writeTrace();
    const opened = await openPlayground(`/traces/${traceId}/playground`);
    const { page } = opened;
    const edited = 'Which plans include SSO and SCIM?';
    await message(page, 1).getByRole('textbox', { name: 'Text of message 2' }).fill(edited);
    await chooseModel(page, 'fake-small');

    // "Run from here" is out of sight until the message is hovered or focused, and reachable by keyboard.
    const actions = message(page, 1).locator('.message-actions');
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.mouse.move(1, 1);
    await eventually(async () => (await opacityOf(actions)) === '0', 'the message actions to hide');
    await message(page, 1).hover();
    await eventually(async () => (await opacityOf(actions)) === '1', 'the message actions to show on hover');
    await page.mouse.move(1, 1);
    await message(page, 1).getByRole('combobox', { name: 'Role of message 2' }).focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toContain('Run from here');
    await eventually(async () => (await opacityOf(actions)) === '1', 'the message actions to show on focus');
    await page.keyboard.press('Enter');

    const request = await nextModelCall();
    expect(request.body.messages).toEqual([
      { role: 'system', content: SYSTEM },
      { role: 'user', content: edited },
    ]);
    expect(request.body.model).toBe('fake-small');
    expect(request.body.temperature).toBe(0.3);
    expect(request.body.max_tokens).toBe(200);
    expect(request.body.stream).toBe(true);
    expect(request.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);

    // The answer, with its tokens, cost and latency beside it.
    await finished(page);
    expect(await column(page).getByTestId('run-output').innerText()).toBe(DEFAULT_REPLY_TEXT);
    expect(await column(page).getByTestId('run-tokens').innerText()).toMatch(new RegExp(`^${DEFAULT_INPUT_TOKENS} in · \\d+ out$`));
    expect(await column(page).getByTestId('run-latency').innerText()).toMatch(/\d+(\.\d+)? (ms|s)$/);
    expect(await column(page).getByTestId('run-cost').innerText()).toMatch(/^(\$|—)/);
    expect(await column(page).innerText()).toContain('2 messages');

    // The run is recorded as a trace of its own, linked to the source.
    const { playgroundRuns } = await server().gql(`query ($id: ID) { playgroundRuns(sourceTraceId: $id) { edges { node { id model sourceTraceId sourceSpanId } } } }`, { id: traceId });
    expect(playgroundRuns.edges).toHaveLength(1);
    expect(playgroundRuns.edges[0].node).toMatchObject({ model: 'fake-small', sourceTraceId: traceId, sourceSpanId: generationId });
    expectClean(opened);
  });

  it('changes roles, reorders and deletes messages, attaches a tool call and answers it: the request follows', async () => {
    const { traceId } = await writeTrace();
    const opened = await openPlayground(`/traces/${traceId}/playground`);
    const { page } = opened;
    await chooseModel(page, 'fake-small');
    // The assistant's answer calls a tool instead, with no text.
    const assistant = message(page, 2);
    await assistant.getByRole('textbox', { name: 'Text of message 3' }).fill('');
    await assistant.getByRole('button', { name: '+ Attach a tool call' }).click();
    await assistant.getByRole('textbox', { name: 'Tool name of call 1 in message 3' }).fill('search_docs');
    await assistant.getByRole('textbox', { name: 'Id of call 1 in message 3' }).fill('call_sso');
    await assistant.getByRole('textbox', { name: 'Arguments of call 1 in message 3 (JSON)' }).fill('{"query": "sso plans"}');
    // Answer it: a tool message naming the call goes right after.
    await assistant.getByRole('button', { name: 'Answer' }).click();
    await message(page, 3).waitFor(WAIT);
    expect(await message(page, 3).getAttribute('data-role')).toBe('tool');
    expect(await message(page, 3).getByRole('combobox', { name: 'Call that message 4 answers' }).inputValue()).toBe('call_sso');
    await message(page, 3).getByRole('textbox', { name: 'Text of message 4' }).fill('Business: SSO. Enterprise: SSO and SCIM.');
    // A new message, made a user turn, moved up above the tool answer and deleted again; another moved as a system note.
    await page.getByRole('button', { name: '+ Add message' }).click();
    await message(page, 4).getByRole('textbox', { name: 'Text of message 5' }).fill('Thanks!');
    await message(page, 4).getByRole('combobox', { name: 'Role of message 5' }).selectOption('USER');
    await message(page, 4).getByRole('button', { name: 'Move message 5 up' }).click();
    expect((await messageTexts(page)).map((item) => item.text)[3]).toBe('Thanks!');
    await message(page, 3).getByRole('button', { name: 'Move message 4 down' }).click();
    expect((await messageTexts(page)).map((item) => item.text)[4]).toBe('Thanks!');
    await page.getByRole('button', { name: '+ Add message' }).click();
    await message(page, 5).getByRole('textbox', { name: 'Text of message 6' }).fill('to be deleted');
    await message(page, 5).getByRole('button', { name: 'Delete message 6' }).click();
    await eventually(async () => (await messageCards(page).count()) === 5, 'the deleted message to go');
    // The first message becomes a user turn and back to system: the role select is what is sent.
    await message(page, 0).getByRole('combobox', { name: 'Role of message 1' }).selectOption('USER');
    await message(page, 0).getByRole('combobox', { name: 'Role of message 1' }).selectOption('SYSTEM');

    await page.getByRole('button', { name: '▶ Run' }).click();
    const request = await nextModelCall();
    expect(request.body.messages).toEqual([
      { role: 'system', content: SYSTEM },
      { role: 'user', content: QUESTION },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_sso', type: 'function', function: { name: 'search_docs', arguments: '{"query":"sso plans"}' } }] },
      { role: 'tool', tool_call_id: 'call_sso', content: 'Business: SSO. Enterprise: SSO and SCIM.' },
      { role: 'user', content: 'Thanks!' },
    ]);
    await finished(page);
    expectClean(opened);
  });

  it('switches the model: from the provider list, and any name typed', async () => {
    const { traceId } = await writeTrace();
    const opened = await openPlayground(`/traces/${traceId}/playground`);
    const { page } = opened;
    await chooseModel(page, 'fake-large');
    await page.getByRole('button', { name: '▶ Run' }).click();
    const first = await nextModelCall();
    expect(first.body.model).toBe('fake-large');
    expect(first.body.messages).toHaveLength(3);
    await finished(page);
    expect(await column(page).locator('.run-model').innerText()).toBe('fake-large');

    await side(page).getByRole('combobox', { name: 'Model', exact: true }).selectOption({ label: 'Other model…' });
    await side(page).getByRole('textbox', { name: 'Model name' }).fill('fake-custom-7b');
    await page.keyboard.press('Control+Enter');
    const second = await nextModelCall();
    expect(second.body.model).toBe('fake-custom-7b');
    await finished(page);
    expect(await column(page).locator('.run-model').innerText()).toBe('fake-custom-7b');
    expectClean(opened);
  });

  it('checks the tools JSON before running, and sends the tools it holds', async () => {
    const { traceId } = await writeTrace();
    const opened = await openPlayground(`/traces/${traceId}/playground`);
    const { page } = opened;
    await chooseModel(page, 'fake-small');
    const tools = side(page).getByRole('textbox', { name: /^Tools/ });
    await tools.fill('[{"type": "function", "function": {"name": "search_docs"');
    await side(page).getByRole('alert').filter({ hasText: 'Tools: not JSON' }).waitFor(WAIT);
    const before = fake.modelCalls().length;
    await page.getByRole('button', { name: '▶ Run' }).click();
    await column(page).getByTestId('run-problems').filter({ hasText: 'Tools: not JSON' }).waitFor(WAIT);
    expect(fake.modelCalls().length).toBe(before);

    const definition = { type: 'function', function: { name: 'search_docs', description: 'Search the help center', parameters: { type: 'object', properties: { query: { type: 'string' } } } } };
    await tools.fill(JSON.stringify([definition], null, 2));
    await page.getByRole('button', { name: '▶ Run' }).click();
    const request = await nextModelCall();
    expect(request.body.tools).toEqual([definition]);
    await finished(page);
    expectClean(opened);
  });

  it('compares two variants side by side: "Run all" sends both, and each column shows its answer', async () => {
    const { traceId } = await writeTrace();
    const opened = await openPlayground(`/traces/${traceId}/playground`);
    const { page } = opened;
    await chooseModel(page, 'fake-small');
    await page.getByRole('button', { name: 'Compare' }).click();
    // Variant B is a copy of A, selected for editing: it gets the other model and a temperature of its own.
    await side(page).getByRole('tab', { name: 'B' }).waitFor(WAIT);
    expect(await side(page).getByRole('tab', { name: 'B' }).getAttribute('aria-selected')).toBe('true');
    await chooseModel(page, 'fake-large', 'B');
    await side(page).getByLabel('Temperature').fill('0.9');
    fake.reply({ text: 'First answer in.' }).reply({ text: 'Second answer in.' });
    await page.getByRole('button', { name: '▶ Run all' }).click();

    const requests = [await nextModelCall(), await nextModelCall()];
    expect(requests.map((request) => request.body.model).sort()).toEqual(['fake-large', 'fake-small']);
    const large = requests.find((request) => request.body.model === 'fake-large')!;
    const small = requests.find((request) => request.body.model === 'fake-small')!;
    expect(large.body.temperature).toBe(0.9);
    expect(small.body.temperature).toBe(0.3);
    // The fake answers in arrival order: the first request got the first text.
    const textOf = (request: RecordedRequest) => (request === requests[0] ? 'First answer in.' : 'Second answer in.');
    await finished(page, 'A');
    await finished(page, 'B');
    expect(await column(page, 'A').getByTestId('run-output').innerText()).toBe(textOf(small));
    expect(await column(page, 'B').getByTestId('run-output').innerText()).toBe(textOf(large));
    for (const variant of ['A', 'B']) {
      expect(await column(page, variant).getByTestId('run-tokens').innerText()).toMatch(/^\d+ in · \d+ out$/);
      expect(await column(page, variant).getByTestId('run-latency').innerText()).toMatch(/\d/);
    }
    // Side by side: the two columns share a row.
    const [a, b] = [await column(page, 'A').boundingBox(), await column(page, 'B').boundingBox()];
    expect(a!.y).toBe(b!.y);
    expect(b!.x).toBeGreaterThan(a!.x + a!.width - 1);
    // Each run is in the history with its variant's label.
    const history = page.getByTestId('history-run');
    await eventually(async () => (await history.count()) === 2, 'both runs in the history');
    expect((await page.getByTestId('history').innerText()).match(/variant [AB]/g)?.sort()).toEqual(['variant A', 'variant B']);
    expectClean(opened);
  });

  it('stops a streaming run: the answer so far stays, and the provider sees its client leave', async () => {
    const { traceId } = await writeTrace();
    const opened = await openPlayground(`/traces/${traceId}/playground`);
    const { page } = opened;
    await chooseModel(page, 'fake-small');
    fake.hang({ afterTokens: 2 }, { text: 'Streaming slowly until stopped' });
    await page.getByRole('button', { name: '▶ Run' }).click();
    await nextModelCall();
    // The first two tokens arrive; the provider then holds the stream open.
    await column(page).getByTestId('run-output').filter({ hasText: 'Streaming slowly' }).waitFor(WAIT);
    expect(await column(page).getAttribute('data-status')).toBe('running');
    await column(page).getByRole('button', { name: 'Stop' }).click();
    const aborted = await fake.waitForAbortedRequest(30_000);
    expect(aborted.outcome).toBe('client-closed');
    await eventually(async () => (await column(page).getAttribute('data-status')) === 'stopped', 'the column to say stopped');
    expect(await column(page).getByTestId('run-output').innerText()).toBe('Streaming slowly');
    // Stopped, the page can run again.
    await page.getByRole('button', { name: '▶ Run' }).click();
    await nextModelCall();
    await finished(page);
    expectClean(opened);
  });

  it("shows a provider's error in its column, with a link to the run's trace, and a key without PLAYGROUND is told it cannot run", async () => {
    const { traceId } = await writeTrace();
    const opened = await openPlayground(`/traces/${traceId}/playground`);
    const { page } = opened;
    await chooseModel(page, 'fake-small');
    fake.fail(429, 'Rate limit reached for fake-small.');
    await page.getByRole('button', { name: '▶ Run' }).click();
    await nextModelCall();
    await eventually(async () => (await column(page).getAttribute('data-status')) === 'failed', 'the run to fail');
    expect(await column(page).getByTestId('run-error').innerText()).toContain('Rate limit reached for fake-small.');
    const link = column(page).getByTestId('run-trace');
    expect(await link.getAttribute('href')).toMatch(/^\/traces\/.+/);
    expectClean(opened);

    const { createApiKey } = await server().gql(`mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }`, { input: { name: 'reader', scopes: ['READ'] } });
    const reader = await open(`/traces/${traceId}/playground`, { key: createApiKey.key });
    await reader.page.getByTestId('no-playground-scope').waitFor(WAIT);
    await side(reader.page).getByTestId('variant-settings').waitFor(WAIT);
    await chooseModel(reader.page, 'fake-small');
    const before = fake.modelCalls().length;
    await reader.page.getByRole('button', { name: '▶ Run' }).click();
    await eventually(async () => (await column(reader.page).getAttribute('data-status')) === 'failed', 'the run to be refused');
    expect(await column(reader.page).getByTestId('run-error').innerText()).toContain('PLAYGROUND or ADMIN scope');
    expect(fake.modelCalls().length).toBe(before);
  });

  it('lists the runs of the trace newest first; a run reopens its messages and settings, and links to its trace', async () => {
    const { traceId } = await writeTrace();
    const opened = await openPlayground(`/traces/${traceId}/playground`);
    const { page } = opened;
    const edited = 'Is SSO in the Team plan?';
    await message(page, 1).getByRole('textbox', { name: 'Text of message 2' }).fill(edited);
    await chooseModel(page, 'fake-small');
    await side(page).getByLabel('Temperature').fill('0.7');
    await message(page, 1).hover();
    await message(page, 1).getByRole('button', { name: /Run from here/ }).click();
    await nextModelCall();
    await finished(page);
    // The first run is in the history at once.
    await page.getByTestId('history-run').first().waitFor(WAIT);

    // A second run, another model, the whole conversation back as it was recorded.
    await message(page, 1).getByRole('textbox', { name: 'Text of message 2' }).fill(QUESTION);
    await chooseModel(page, 'fake-large');
    await side(page).getByLabel('Temperature').fill('0.1');
    await page.getByRole('button', { name: '▶ Run' }).click();
    await nextModelCall();
    await finished(page);

    // After a reload, the history comes from the server, newest first.
    await page.reload();
    const runs = page.getByTestId('history-run');
    await eventually(async () => (await runs.count()) === 2, 'two runs in the history');
    const { playgroundRuns } = await server().gql(`query ($id: ID) { playgroundRuns(sourceTraceId: $id) { edges { node { id traceId model } } } }`, { id: traceId });
    const ids = playgroundRuns.edges.map((edge: any) => edge.node.id);
    expect(await Promise.all((await runs.all()).map((run) => run.getAttribute('data-run-id')))).toEqual(ids);
    expect(playgroundRuns.edges.map((edge: any) => edge.node.model)).toEqual(['fake-large', 'fake-small']);
    expect(await runs.nth(0).innerText()).toContain('fake-large');
    expect(await runs.nth(1).innerText()).toContain(DEFAULT_REPLY_TEXT);

    // Reopening the older run brings back its two messages and its settings.
    await runs.nth(1).getByRole('button', { name: /^Reopen/ }).click();
    await eventually(async () => (await messageCards(page).count()) === 2, 'the run’s two messages');
    expect(await messageTexts(page)).toEqual([
      { role: 'system', text: SYSTEM },
      { role: 'user', text: edited },
    ]);
    expect(await side(page).getByRole('combobox', { name: 'Model', exact: true }).inputValue()).toBe('fake-small');
    expect(await side(page).getByLabel('Temperature').inputValue()).toBe('0.7');
    expect(await side(page).getByRole('combobox', { name: 'Provider' }).inputValue()).toBe(providerId);

    // The run's trace is a link to it.
    const older = playgroundRuns.edges[1].node;
    const link = runs.nth(1).getByRole('link', { name: /trace/ });
    expect(await link.getAttribute('href')).toBe(`/traces/${older.traceId}`);
    await link.click();
    await page.waitForURL(`**/traces/${older.traceId}`, WAIT);
    await page.locator('.span-row[data-span-id]').first().waitFor(WAIT);
    expectClean(opened);
  });

  it('shows the request as curl, TypeScript and Python with the key as an environment variable, never its value', async () => {
    const { traceId } = await writeTrace();
    const responses: string[] = [];
    const frames: string[] = [];
    const opened = await open(`/traces/${traceId}/playground`, {
      init: async (page) => {
        page.on('response', (response) => void response.text().then((text) => responses.push(text), () => {}));
        page.on('websocket', (socket) => socket.on('framereceived', (frame) => frames.push(String(frame.payload))));
      },
    });
    const { page } = opened;
    await message(page, 0).waitFor(WAIT);
    await side(page).getByTestId('variant-settings').waitFor(WAIT);
    await chooseModel(page, 'fake-small');
    // A run too, so the answers of a run are among what is checked.
    await page.getByRole('button', { name: '▶ Run' }).click();
    await nextModelCall();
    await finished(page);

    // The request comes from the server when the dialog opens: until it answers, the dialog says so.
    const release = await holdWireRequests(page);
    await page.getByRole('button', { name: /View code/ }).click();
    const dialog = page.getByTestId('code-dialog');
    await dialog.getByTestId('code-loading').waitFor(WAIT);
    release();
    const code = dialog.getByTestId('code');
    await code.waitFor(WAIT);
    await dialog.getByTestId('code-loading').waitFor({ state: 'detached', ...WAIT });
    await page.unroute('**/graphql');
    const curl = await code.innerText();
    expect(curl).toContain(`curl '${fake.baseUrl}/chat/completions'`);
    expect(curl).toContain('Authorization: Bearer $OPENAI_API_KEY');
    expect(curl).toContain('"model":"fake-small"');
    expect(curl).toContain(QUESTION);
    expect(curl).toContain('"temperature":0.3');
    // The body is exactly the one the provider received for this conversation, byte for byte.
    const received = fake.modelCalls().at(-1)!.body;
    expect(bodyOfCurl(curl)).toEqual(received);
    expect(bodyTextOfCurl(curl)).toBe(JSON.stringify(received));
    await dialog.getByRole('tab', { name: 'TypeScript' }).click();
    const typescript = await code.innerText();
    expect(typescript).toContain("import OpenAI from 'openai'");
    expect(typescript).toContain(`baseURL: "${fake.baseUrl}"`);
    expect(typescript).toContain('apiKey: process.env.OPENAI_API_KEY');
    expect(typescript).toContain('"stream": true');
    await dialog.getByRole('tab', { name: 'Python' }).click();
    const python = await code.innerText();
    expect(python).toContain('from openai import OpenAI');
    expect(python).toContain('api_key=os.environ["OPENAI_API_KEY"]');
    expect(python).toContain('stream=True');

    // The key is nowhere: not in the page's HTML, not in anything the server sent it.
    expect(await page.content()).not.toContain(PROVIDER_KEY);
    expect(responses.length).toBeGreaterThan(0);
    for (const text of [...responses, ...frames]) expect(text).not.toContain(PROVIDER_KEY);
    // Escape closes the dialog.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached', ...WAIT });

    // An input the server would refuse (more tokens than PLAYGROUND_MAX_TOKENS allows): its reason, and no code.
    await side(page).getByLabel('Max tokens').fill(String(MAX_TOKENS + 1));
    const before = fake.modelCalls().length;
    await page.getByRole('button', { name: /View code/ }).click();
    const refused = dialog.getByTestId('code-error');
    await refused.waitFor(WAIT);
    expect(await refused.innerText()).toContain(`must be at most ${MAX_TOKENS}`);
    expect(await dialog.getByTestId('code').count()).toBe(0);
    expect(fake.modelCalls().length).toBe(before);
    await dialog.getByRole('button', { name: 'Close the code' }).click();
    await dialog.waitFor({ state: 'detached', ...WAIT });
    expectClean(opened);
  });

  it('writes the Anthropic request as the provider receives it, with the key from ANTHROPIC_API_KEY', async () => {
    const anthropic = await startFakeAnthropic({ apiKey: PROVIDER_KEY, models: ['claude-fake'] });
    try {
      const { createModelProvider } = await server().gql(`mutation ($input: CreateModelProviderInput!) { createModelProvider(input: $input) { id } }`, {
        input: { name: 'Fake Anthropic', kind: 'ANTHROPIC', baseUrl: anthropic.baseUrl, apiKey: PROVIDER_KEY, models: ['claude-fake'] },
      });
      const { traceId } = await writeTrace();
      const opened = await openPlayground(`/traces/${traceId}/playground`);
      const { page } = opened;
      await side(page).getByRole('combobox', { name: 'Provider' }).selectOption(createModelProvider.id);
      await chooseModel(page, 'claude-fake');
      await side(page).getByRole('textbox', { name: /^Stop sequences/ }).fill('END\nSTOP');
      // No max tokens: Anthropic needs one, and the server sends its own limit.
      await side(page).getByLabel('Max tokens').fill('');
      await page.getByRole('button', { name: '▶ Run' }).click();
      const request = await anthropic.waitForRequest(30_000);
      expect(request.headers['x-api-key']).toBe(PROVIDER_KEY);
      expect(request.body.system).toBe(SYSTEM);
      expect(request.body.max_tokens).toBe(MAX_TOKENS);
      await finished(page);

      await page.getByRole('button', { name: /View code/ }).click();
      const dialog = page.getByTestId('code-dialog');
      await dialog.getByTestId('code').waitFor(WAIT);
      const curl = await dialog.getByTestId('code').innerText();
      expect(curl).toContain(`curl '${anthropic.baseUrl}/v1/messages'`);
      expect(curl).toContain('x-api-key: $ANTHROPIC_API_KEY');
      // The API version curl sends by hand is the one the server's SDK sent.
      expect(request.headers['anthropic-version']).toBeTruthy();
      expect(curl).toContain(`anthropic-version: ${request.headers['anthropic-version']}`);
      expect(curl).toContain(`"max_tokens":${MAX_TOKENS}`);
      expect(bodyOfCurl(curl)).toEqual(request.body);
      expect(bodyTextOfCurl(curl)).toBe(JSON.stringify(request.body));
      await dialog.getByRole('tab', { name: 'TypeScript' }).click();
      const typescript = await dialog.getByTestId('code').innerText();
      expect(typescript).toContain("import Anthropic from '@anthropic-ai/sdk'");
      expect(typescript).toContain('apiKey: process.env.ANTHROPIC_API_KEY');
      expect(typescript).toContain(`"max_tokens": ${MAX_TOKENS}`);
      expect(typescript).toContain('as Anthropic.MessageCreateParamsStreaming');
      await dialog.getByRole('tab', { name: 'Python' }).click();
      const python = await dialog.getByTestId('code').innerText();
      expect(python).toContain('api_key=os.environ["ANTHROPIC_API_KEY"]');
      expect(python).toContain(`max_tokens=${MAX_TOKENS},`);
      expect(python).toContain('stop_sequences=[');
      expect(await page.content()).not.toContain(PROVIDER_KEY);
      expectClean(opened);
      await server().gql(`mutation ($id: ID!) { deleteModelProvider(id: $id) }`, { id: createModelProvider.id });
    } finally {
      await anthropic.stop();
    }
  });

  it('tells a new project how to add a provider, adds one through the form (an ADMIN key), and runs on it; content not kept is said', async () => {
    const { createProject } = await server().gql(`mutation ($input: CreateProjectInput!) { createProject(input: $input) { id } }`, { input: { name: uid('fresh') } });
    const { createApiKey } = await server().gql(`mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }`, {
      input: { name: 'playground', scopes: ['READ', 'INGEST', 'ADMIN', 'PLAYGROUND'], projectId: createProject.id },
    });
    const key: string = createApiKey.key;
    await server().gql(`mutation ($id: ID!) { setRetentionRule(input: { projectId: $id, mode: METADATA_ONLY }) { mode } }`, { id: createProject.id });
    // A trace of the new project, whose rule keeps metadata only: no content to replay.
    const traceId = uid('fresh-trace');
    const written = await server().request(
      CREATE_SPANS,
      { input: [{ id: `${traceId}-gen`, traceId, name: 'answer', type: 'GENERATION', model: 'gpt-4o', startTime: at(0), endTime: at(500), input: [{ role: 'user', content: 'secret question' }] }] },
      bearer(key),
    );
    expect(written.errors).toBeUndefined();

    const opened = await open(`/traces/${traceId}/playground`, { key });
    const { page } = opened;
    await page.getByTestId('not-retained').waitFor(WAIT);
    // An empty conversation to start from.
    expect(await messageTexts(page)).toEqual([{ role: 'user', text: '' }]);
    const notice = page.getByTestId('no-provider');
    await notice.waitFor(WAIT);
    expect(await notice.innerText()).toContain('No model provider yet');

    const form = page.getByTestId('provider-form');
    await form.getByLabel('Name').fill('My fake OpenAI');
    await form.getByLabel('Kind').selectOption('OPENAI_COMPATIBLE');
    await form.getByLabel(/^Base URL/).fill(fake.baseUrl);
    const keyInput = form.getByLabel(/^API key/);
    expect(await keyInput.getAttribute('type')).toBe('password');
    await keyInput.fill(PROVIDER_KEY);
    await form.getByLabel(/^Models/).fill('fake-small, fake-large');
    await form.getByRole('button', { name: 'Add provider' }).click();
    // Afterwards: the provider is chosen, and only "key set" is shown.
    await page.getByTestId('no-provider').waitFor({ state: 'detached', ...WAIT });
    await side(page).locator('summary', { hasText: 'Providers' }).click();
    expect(await page.getByTestId('provider').innerText()).toContain('key set');
    expect(await page.content()).not.toContain(PROVIDER_KEY);
    await eventually(async () => (await side(page).getByRole('combobox', { name: 'Provider' }).inputValue()) !== '', 'the new provider to be chosen');

    await message(page, 0).getByRole('textbox', { name: 'Text of message 1' }).fill('Hello?');
    await chooseModel(page, 'fake-small');
    await page.getByRole('button', { name: '▶ Run' }).click();
    const request = await nextModelCall();
    expect(request.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    expect(request.body.messages).toEqual([{ role: 'user', content: 'Hello?' }]);
    await finished(page);
    expectClean(opened);
  });
});
