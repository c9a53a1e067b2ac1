/**
 * The span detail pane and the quick actions in a real browser against a real server: chat and raw
 * JSON, instructions and every message part as the server decodes them (Span.messages: OpenTelemetry
 * GenAI parts, tool results, reasoning, images), copy span, thumbs feedback (and its refusal for a
 * read-only key), the conversation view, "retained: no", a judge's results, a 5,000-span trace
 * drawn a window at a time, and a stale trace that changes.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { usePages, useBrowser } from '../helpers/browser.js';
import { at, CREATE_SPANS, uid } from '../helpers/operations.js';
import { otelTracer, recordAgentRun } from '../helpers/otlp.js';
import { eventually } from '../helpers/wait.js';
import { originOf, useTestServer } from '../helpers/server.js';

// A run turns stale after 3 s without a change (the last test); every other trace here has ended.
const server = useTestServer({ STALE_AFTER_MS: '3000' });
const browser = useBrowser();
const WAIT = { timeout: 30_000 };

const open = usePages(browser, () => originOf(server().url));

const QUESTION = 'Which plan includes SSO?';
const ANSWER = 'SSO is part of the Business plan and above.';

async function writeAgentTrace() {
  const traceId = uid('detail');
  await server().gql(CREATE_SPANS, {
    input: [
      { id: `${traceId}-root`, traceId, name: 'support-agent', type: 'AGENT', startTime: at(0), endTime: at(3000), meta: { userId: 'u-42' } },
      {
        id: `${traceId}-gen`, traceId, parentId: `${traceId}-root`, name: 'answer', model: 'gpt-4o', startTime: at(100), endTime: at(2100),
        inputTokens: 300, outputTokens: 40, cost: 0.0042, score: 0.8, tags: ['final'], instructions: 'Answer from the docs.',
        input: [
          { role: 'system', content: 'Answer from the docs.' },
          { role: 'user', content: [{ type: 'text', text: QUESTION }] },
        ],
        output: [{ role: 'assistant', content: ANSWER }],
        meta: { temperature: 0.1 },
      },
      { id: `${traceId}-tool`, traceId, parentId: `${traceId}-root`, name: 'lookup', type: 'TOOL', startTime: at(2200), endTime: at(2900), error: 'HTTP 503', input: { q: 'sso' } },
    ],
  });
  await server().gql(`mutation ($id: ID!) { createSpanEvent(spanId: $id, input: { kind: GUARDRAIL, source: "pii-check", data: { passed: true } }) { id } }`, { id: `${traceId}-gen` });
  await server().gql(`mutation ($id: ID!) { addSpanMetric(spanId: $id, input: { dimension: "relevance", value: 0.93 }) { id } }`, { id: `${traceId}-gen` });
  return traceId;
}

const detail = (page: Page) => page.getByTestId('span-detail');

describe('the span detail', () => {
  it('shows ids, breadcrumb, numbers, events and metrics, and content as chat with a {} toggle to raw JSON', async () => {
    const traceId = await writeAgentTrace();
    const { page, outside, errors } = await open(`/traces/${traceId}/spans/${traceId}-gen`);
    await detail(page).getByTestId('span-name').getByText('answer').waitFor(WAIT);
    const text = await detail(page).innerText();
    for (const expected of [`${traceId}-gen`, `${traceId}-root`, 'support-agent', '+100 ms', '2.00 s', 'gpt-4o', '340', '$0.0042', '0.8', 'final', 'Answer from the docs.', 'GUARDRAIL', 'pii-check', 'relevance', '0.93']) {
      expect(text.toLowerCase(), expected).toContain(expected.toLowerCase());
    }
    // The breadcrumb leads to the ancestor.
    expect(await detail(page).getByRole('navigation', { name: 'Ancestors' }).getByRole('link', { name: 'support-agent' }).count()).toBe(1);

    // Input as chat bubbles (content parts read as text).
    const input = page.getByTestId('span-input');
    await input.locator('.bubble[data-role="user"]').getByText(QUESTION).waitFor(WAIT);
    expect(await input.locator('.bubble[data-role="system"]').innerText()).toContain('Answer from the docs.');
    await page.getByTestId('span-output').locator('.bubble[data-role="assistant"]').getByText(ANSWER).waitFor(WAIT);
    // {} shows the raw JSON, and back.
    await input.getByRole('button', { name: '{}' }).click();
    const raw = await page.getByTestId('span-input-raw').innerText();
    expect(JSON.parse(raw)).toEqual([
      { role: 'system', content: 'Answer from the docs.' },
      { role: 'user', content: [{ type: 'text', text: QUESTION }] },
    ]);
    expect(await input.locator('.bubble').count()).toBe(0);
    await input.getByRole('button', { name: '{}' }).click();
    await input.locator('.bubble').first().waitFor(WAIT);

    // A failed span shows its error.
    await page.locator(`[data-span-id="${traceId}-tool"]`).click();
    await page.getByTestId('span-error').getByText('HTTP 503').waitFor(WAIT);
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('draws OpenTelemetry instructions and a TOOL message as the conversation does, raw JSON only behind {}', async () => {
    const { tracer, flush, shutdown } = otelTracer(server(), 'json');
    const run = await recordAgentRun(tracer, flush, uid('otel-session'));
    await shutdown();
    const { page, outside, errors } = await open(`/traces/${run.traceId}/spans/${run.chat2}`);
    const instructions = page.getByTestId('span-instructions');
    await instructions.locator('.bubble[data-role="system"]').getByText('You are a weather bot.').waitFor(WAIT);
    // The parts as a person reads them: no JSON of them, no part type names.
    expect(await instructions.innerText()).not.toContain('"type"');
    const input = page.getByTestId('span-input');
    await input.locator('.bubble[data-role="tool"]').waitFor(WAIT);
    expect(await input.locator('.bubble').evaluateAll((bubbles) => bubbles.map((bubble) => bubble.getAttribute('data-role')))).toEqual(['user', 'assistant', 'tool']);
    const tool = await input.locator('.bubble[data-role="tool"]').innerText();
    expect(tool).toContain('18°C, sunny');
    expect(tool).toContain('call_1');
    expect(tool).not.toContain('tool_call_response');
    const call = await input.locator('.bubble[data-role="assistant"] [data-part="tool_call"]').innerText();
    expect(call).toContain('get_weather');
    expect(call).toContain('{"city":"Paris"}');
    expect(await input.innerText()).not.toMatch(/"parts"|"role"/);
    await page.getByTestId('span-output').locator('.bubble[data-role="assistant"]').getByText('It is 18°C and sunny in Paris.').waitFor(WAIT);

    // {} shows what was stored, as stored.
    await instructions.getByRole('button', { name: '{}' }).click();
    expect(JSON.parse(await page.getByTestId('span-instructions-raw').innerText())).toEqual([{ type: 'text', content: 'You are a weather bot.' }]);
    await input.getByRole('button', { name: '{}' }).click();
    expect(await page.getByTestId('span-input-raw').innerText()).toContain('tool_call_response');
    expect(await input.locator('.bubble').count()).toBe(0);

    // The conversation view tells the same TOOL turn the same way.
    await page.goto(`${originOf(server().url)}/traces/${run.traceId}/conversation`);
    const turn = page.getByTestId('conversation').locator('.bubble[data-role="tool"]');
    await turn.waitFor(WAIT);
    expect(await turn.innerText()).toContain('18°C, sunny');
    expect(await turn.innerText()).not.toContain('tool_call_response');
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('draws every part type: reasoning, an inline image, an image at a URL (linked, never fetched), unrecognized parts as JSON', async () => {
    const traceId = uid('parts');
    const pixel = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';
    const elsewhere = 'https://images.example/cat.png';
    await server().gql(CREATE_SPANS, {
      input: [
        {
          id: `${traceId}-gen`, traceId, name: 'look', model: 'claude-sonnet-4-5', startTime: at(0), endTime: at(900),
          input: {
            model: 'claude-sonnet-4-5',
            system: 'Describe images.',
            messages: [
              {
                role: 'user',
                content: [
                  { type: 'text', text: 'What are these?' },
                  { type: 'image', source: { type: 'base64', media_type: 'image/png', data: pixel } },
                  { type: 'image', source: { type: 'url', url: elsewhere } },
                  { type: 'hologram', beam: 'blue' },
                ],
              },
            ],
          },
          output: { role: 'assistant', content: [{ type: 'thinking', thinking: 'One pixel, one cat.', signature: 'sig' }, { type: 'text', text: 'A pixel and a cat.' }] },
        },
      ],
    });
    const { page, outside, errors } = await open(`/traces/${traceId}/spans/${traceId}-gen`);
    const input = page.getByTestId('span-input');
    await input.locator('.bubble[data-role="user"]').getByText('What are these?').waitFor(WAIT);
    expect(await input.locator('.bubble[data-role="system"]').innerText()).toContain('Describe images.');
    const inline = input.locator('img[data-part="image"]');
    await expect.poll(() => inline.evaluate((image: HTMLImageElement) => image.complete && image.naturalWidth)).toBe(1);
    expect(await input.locator(`a[href="${elsewhere}"]`).count()).toBe(1);
    expect(JSON.parse(await input.locator('[data-part="other"]').innerText())).toEqual({ type: 'hologram', beam: 'blue' });
    const output = page.getByTestId('span-output');
    expect(await output.locator('[data-part="reasoning"]').innerText()).toContain('One pixel, one cat.');
    expect(await output.locator('.bubble[data-role="assistant"]').innerText()).toContain('A pixel and a cat.');

    // What the page drew is the server's decoding (Span.messages), not its own.
    const { span } = await server().gql(`query ($id: ID!) { span(id: $id) { messages { instructions { role } input { role parts } output { role parts } } } }`, { id: `${traceId}-gen` });
    expect(span.messages.instructions).toBeNull();
    expect(span.messages.input.map((message: { role: string }) => message.role)).toEqual(['SYSTEM', 'USER']);
    expect(span.messages.output[0].parts[0]).toEqual({ type: 'reasoning', text: 'One pixel, one cat.', signature: 'sig' });
    // The image at another host was linked, never loaded.
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('shows text and other values as they are, not as chat', async () => {
    const traceId = uid('plain');
    await server().gql(CREATE_SPANS, {
      input: [{ id: `${traceId}-tool`, traceId, name: 'lookup', type: 'TOOL', startTime: at(0), endTime: at(10), input: { q: 'sso', role: 'admin' }, output: 'Plain text answer', instructions: 'Be brief.' }],
    });
    const { page, outside } = await open(`/traces/${traceId}/spans/${traceId}-tool`);
    await page.getByTestId('span-input-raw').waitFor(WAIT);
    expect(JSON.parse(await page.getByTestId('span-input-raw').innerText())).toEqual({ q: 'sso', role: 'admin' });
    expect(await page.getByTestId('span-input').getByRole('button', { name: '{}' }).count()).toBe(0);
    expect(await page.getByTestId('span-output-raw').innerText()).toBe('Plain text answer');
    // Plain-text instructions: one system bubble, and no {} that would show the same words again.
    const instructions = page.getByTestId('span-instructions');
    expect(await instructions.locator('.bubble[data-role="system"]').innerText()).toContain('Be brief.');
    expect(await instructions.getByRole('button', { name: '{}' }).count()).toBe(0);
    expect(outside).toEqual([]);
  });

  it('copy span puts the span JSON on the clipboard', async () => {
    const traceId = await writeAgentTrace();
    const { page, outside } = await open(`/traces/${traceId}/spans/${traceId}-gen`, { permissions: ['clipboard-read', 'clipboard-write'] });
    await page.getByTestId('copy-span').click();
    await page.getByTestId('action-notice').getByText('copied').waitFor(WAIT);
    const copied = JSON.parse(await page.evaluate(() => navigator.clipboard.readText()));
    const { span } = await server().gql(`query ($id: ID!) { span(id: $id) { json } }`, { id: `${traceId}-gen` });
    expect(copied).toEqual(span.json);
    expect(copied.id).toBe(`${traceId}-gen`);
    expect(copied.output).toEqual([{ role: 'assistant', content: ANSWER }]);
    expect(outside).toEqual([]);
  });

  it('thumbs up and down record FEEDBACK events the API returns; a read-only key is refused plainly', async () => {
    const traceId = await writeAgentTrace();
    const { page, outside } = await open(`/traces/${traceId}/spans/${traceId}-gen`);
    await page.getByTestId('thumbs-up').click();
    await page.getByTestId('action-notice').getByText('thumbs up recorded').waitFor(WAIT);
    await page.getByTestId('thumbs-down').click();
    await page.getByTestId('action-notice').getByText('thumbs down recorded').waitFor(WAIT);
    const feedback = async () =>
      (await server().gql(`query ($id: ID!) { span(id: $id) { events(kind: [FEEDBACK]) { kind source data } } }`, { id: `${traceId}-gen` })).span.events as { data: { thumbs: string } }[];
    await eventually(async () => (await feedback()).length === 2, 'two feedback events');
    expect((await feedback()).map((event) => event.data.thumbs)).toEqual(['UP', 'DOWN']);
    // The detail shows them among the events.
    await page.getByTestId('span-events').locator('.kind-feedback').nth(1).waitFor(WAIT);

    const { createApiKey } = await server().gql(`mutation { createApiKey(input: { name: "reader", scopes: [READ] }) { key } }`);
    const reader = await open(`/traces/${traceId}/spans/${traceId}-gen`, { key: createApiKey.key });
    await reader.page.getByTestId('thumbs-up').click();
    const refused = reader.page.getByTestId('action-notice');
    await refused.getByText('Feedback was refused').waitFor(WAIT);
    expect(await refused.innerText()).toMatch(/INGEST|scope|not allowed|permission/i);
    expect((await feedback()).length).toBe(2);
    expect(outside).toEqual([]);
    expect(reader.outside).toEqual([]);
  });

  it('the conversation view shows the turns in order', async () => {
    const traceId = await writeAgentTrace();
    const { page, outside } = await open(`/traces/${traceId}/spans/${traceId}-gen`);
    await detail(page).getByRole('link', { name: 'Conversation' }).click();
    await page.waitForURL(`**/traces/${traceId}/conversation`, WAIT);
    const turns = page.getByTestId('conversation').locator('.bubble');
    await turns.nth(2).waitFor(WAIT);
    expect(await turns.evaluateAll((bubbles) => bubbles.map((bubble) => bubble.getAttribute('data-role')))).toEqual(['system', 'user', 'assistant']);
    expect(await turns.nth(1).innerText()).toContain(QUESTION);
    expect(await turns.nth(2).innerText()).toContain(ANSWER);
    expect(outside).toEqual([]);
  });

  it('says "retained: no" plainly when content was not kept', async () => {
    const traceId = uid('meta-only');
    await server().gql(`mutation { setRetentionRule(input: { mode: METADATA_ONLY }) { mode } }`);
    try {
      await server().gql(CREATE_SPANS, { input: [{ id: `${traceId}-root`, traceId, name: 'secret', startTime: at(0), endTime: at(10), input: { ssn: '000' }, output: 'hidden' }] });
    } finally {
      await server().gql(`mutation { setRetentionRule(input: { mode: FULL }) { mode } }`);
    }
    const { page, outside } = await open(`/traces/${traceId}/spans/${traceId}-root`);
    await page.getByTestId('retained-no').getByText('retained: no').waitFor(WAIT);
    expect(await page.getByTestId('span-input').innerText()).toContain('retained: no');
    expect(await detail(page).innerText()).not.toContain('000');
    expect(outside).toEqual([]);
  });
});

describe("a judge's results", () => {
  it('shows the observations as text and the scorer context one row per criterion, with {} to the JSON as stored', async () => {
    const traceId = uid('judged');
    const scorerContext = {
      accuracy: { score: 0.5, reason: 'quotes a price the docs do not give' },
      tone: { score: 1, reason: 'polite and brief' },
      verdict: 'pass',
    };
    await server().gql(CREATE_SPANS, {
      input: [
        {
          id: `${traceId}-gen`, traceId, name: 'judged-answer', model: 'gpt-4o', startTime: at(0), endTime: at(800), output: ANSWER,
          observations: 'Right plan, but the price is made up.', scorerContext,
        },
        { id: `${traceId}-other`, traceId, parentId: `${traceId}-gen`, name: 'rubric', startTime: at(10), endTime: at(20), scorerContext: { rubric: ['clear', 'sourced'] } },
        { id: `${traceId}-plain`, traceId, parentId: `${traceId}-gen`, name: 'unjudged', model: 'gpt-4o', startTime: at(30), endTime: at(40) },
      ],
    });
    const { page, outside, errors } = await open(`/traces/${traceId}/spans/${traceId}-gen`);
    const judge = page.getByTestId('span-judge');
    await judge.getByTestId('judge-observations').getByText('Right plan, but the price is made up.').waitFor(WAIT);
    const rows = judge.getByTestId('judge-criteria').locator('tr');
    expect(await rows.evaluateAll((all) => all.map((row) => row.getAttribute('data-criterion')))).toEqual(['accuracy', 'tone', 'verdict']);
    const accuracy = await judge.locator('tr[data-criterion="accuracy"]').innerText();
    expect(accuracy).toContain('0.5');
    expect(accuracy).toContain('quotes a price the docs do not give');
    expect(accuracy).not.toContain('{');
    expect(await judge.locator('tr[data-criterion="verdict"]').innerText()).toContain('pass');
    // Beside the events, after the content.
    const order = await detail(page).locator('section.content-block').evaluateAll((sections) => sections.map((section) => section.getAttribute('data-testid')));
    expect(order.indexOf('span-judge')).toBe(order.indexOf('span-events') - 1);
    // {} shows what was stored, as stored, and back.
    await judge.getByRole('button', { name: '{}' }).click();
    expect(JSON.parse(await judge.getByTestId('judge-scorer-context-raw').innerText())).toEqual(scorerContext);
    expect(await judge.getByTestId('judge-criteria').count()).toBe(0);
    await judge.getByRole('button', { name: '{}' }).click();
    await judge.getByTestId('judge-criteria').waitFor(WAIT);

    // A scorer context that is not an object of criteria is shown as JSON.
    await page.locator(`[data-span-id="${traceId}-other"]`).click();
    await page.getByTestId('span-name').getByText('rubric').waitFor(WAIT);
    expect(JSON.parse(await page.getByTestId('judge-scorer-context-raw').innerText())).toEqual({ rubric: ['clear', 'sourced'] });
    expect(await page.getByTestId('judge-observations').count()).toBe(0);
    // A generation no judge looked at has no Judge section.
    await page.locator(`[data-span-id="${traceId}-plain"]`).click();
    await page.getByTestId('span-name').getByText('unjudged').waitFor(WAIT);
    expect(await page.getByTestId('span-judge').count()).toBe(0);
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('says "retained: no" on a generation whose project keeps metadata only', async () => {
    const traceId = uid('judged-meta');
    await server().gql(`mutation { setRetentionRule(input: { mode: METADATA_ONLY }) { mode } }`);
    try {
      await server().gql(CREATE_SPANS, {
        input: [{ id: `${traceId}-gen`, traceId, name: 'judged-secretly', model: 'gpt-4o', startTime: at(0), endTime: at(10), observations: 'secret finding', scorerContext: { accuracy: { score: 0 } } }],
      });
    } finally {
      await server().gql(`mutation { setRetentionRule(input: { mode: FULL }) { mode } }`);
    }
    const { page, outside } = await open(`/traces/${traceId}/spans/${traceId}-gen`);
    await page.getByTestId('span-judge').getByText('retained: no').waitFor(WAIT);
    expect(await page.getByTestId('span-judge').getByRole('link').getAttribute('href')).toBe('/?retention');
    expect(await detail(page).innerText()).not.toContain('secret finding');
    expect(outside).toEqual([]);
  });
});

describe('a 5,000-span trace', () => {
  it('renders only a window of rows, and scrolling brings later spans in', async () => {
    const traceId = uid('big');
    const spans: Record<string, unknown>[] = [{ id: `${traceId}-root`, traceId, name: 'big-root', type: 'AGENT', startTime: at(0), endTime: at(60_000) }];
    for (let step = 0; step < 50; step++) {
      spans.push({ id: `${traceId}-s${step}`, traceId, parentId: `${traceId}-root`, name: `step-${step}`, startTime: at(step * 1000 + 1), endTime: at(step * 1000 + 900) });
      for (let call = 0; call < 99 && spans.length < 5000; call++) {
        spans.push({ id: `${traceId}-s${step}-c${call}`, traceId, parentId: `${traceId}-s${step}`, name: `call-${step}-${call}`, type: 'TOOL', startTime: at(step * 1000 + 2 + call * 8), endTime: at(step * 1000 + 9 + call * 8) });
      }
    }
    expect(spans.length).toBe(5000);
    for (let index = 0; index < spans.length; index += 1000) await server().gql(`mutation ($input: [CreateSpanInput!]!) { createSpans(input: $input) { id } }`, { input: spans.slice(index, index + 1000) });

    const { page, outside, errors } = await open(`/traces/${traceId}`);
    await page.getByTestId('span-count').getByText('5,000').waitFor({ timeout: 60_000 });
    await page.locator(`[data-span-id="${traceId}-root"]`).waitFor(WAIT);
    const rows = page.locator('.span-space .span-row');
    expect(await rows.count()).toBeGreaterThan(5);
    expect(await rows.count()).toBeLessThan(200);
    // The tree's last row: the last call of the last step.
    const last = spans[spans.length - 1]!.id as string;
    expect(await page.locator(`[data-span-id="${last}"]`).count()).toBe(0);

    await page.locator('.span-scroll').evaluate((element) => (element.scrollTop = element.scrollHeight));
    await page.locator(`[data-span-id="${last}"]`).waitFor(WAIT);
    expect(await rows.count()).toBeLessThan(200);
    expect(await page.locator(`[data-span-id="${traceId}-root"]`).count()).toBe(0);

    // Collapsing a step hides its 99 calls from the tree.
    await page.locator('.span-scroll').evaluate((element) => (element.scrollTop = 0));
    await page.locator(`[data-span-id="${traceId}-s0"] .toggle`).click();
    await page.locator(`[data-span-id="${traceId}-s1"]`).waitFor(WAIT);
    expect(await page.locator(`[data-span-id="${traceId}-s0-c0"]`).count()).toBe(0);
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  }, 120_000);
});

describe('a trace shown as stale', () => {
  it('is shown running again once a change arrives, without reading the tree again', async () => {
    const traceId = uid('stale');
    await server().gql(CREATE_SPANS, { input: [{ id: `${traceId}-root`, traceId, name: 'stuck-run', startTime: new Date().toISOString() }] });
    await eventually(
      async () => (await server().gql(`query { trace(id: "${traceId}") { stale } }`)).trace?.stale === true,
      'the trace to turn stale',
      30_000,
    );
    const treeReads: string[] = [];
    const { page, outside, errors } = await open(`/traces/${traceId}`, {
      init: async (page) =>
        page.on('request', (request) => {
          if (request.postData()?.includes('query TraceTree(')) treeReads.push(request.url());
        }),
    });
    await page.getByTestId('trace-status').getByText('stale').waitFor(WAIT);

    await server().gql(CREATE_SPANS, { input: [{ id: `${traceId}-step`, traceId, parentId: `${traceId}-root`, name: 'step', startTime: new Date().toISOString() }] });
    await page.locator(`[data-span-id="${traceId}-step"]`).waitFor(WAIT);
    await page.getByTestId('trace-status').getByText('running').waitFor(WAIT);
    expect(treeReads).toHaveLength(1);
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });
});
