/**
 * `npm run screenshots`: the README's pictures of the web UI, taken from a real server. Starts
 * Spantree on a temporary SQLite file, writes a realistic agent run (and a few other traces, one
 * still running) through the GraphQL API as any client would, opens each view in Chromium and saves
 * docs/screenshots/{explorer,trace,span,conversation,playground,playground-compare}.png. The
 * playground runs on the tests' fake OpenAI-compatible provider on loopback (no network, no key
 * worth anything). Needs the UI built (`npm run build:web`) and Chromium (SPANTREE_TEST_CHROMIUM,
 * else /usr/bin/chromium).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from './chromium.js';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';
import { packageRoot } from '../src/package-root.js';
import { startFakeOpenAI } from '../test/helpers/fake-providers.js';

const KEY = 'st_screenshots_key_0123456789abcdef';
const OUT = join(packageRoot(), 'docs', 'screenshots');

const dir = mkdtempSync(join(tmpdir(), 'spantree-screenshots-'));
const server = await startServer(
  loadConfig({
    DATABASE_URL: `file:${join(dir, 'spantree.db')}`,
    PORT: '0',
    HOST: '127.0.0.1',
    SPANTREE_INIT_API_KEY: KEY,
    SPANTREE_ADMIN_KEY_FILE: join(dir, 'key'),
    SPANTREE_SECRET_KEY_FILE: join(dir, 'secret-key'),
    RATE_LIMIT_PER_SECOND: '0',
    // The playground's provider is the fake one on loopback.
    PLAYGROUND_ALLOW_PRIVATE_NETWORKS: 'true',
  }),
);
const provider = await startFakeOpenAI({ models: ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1'], tokenDelayMs: 0 });
const origin = server.url.replace(/\/graphql$/, '');

async function gql<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

const CREATE_SPANS = `mutation ($input: [CreateSpanInput!]!) { createSpans(input: $input) { id } }`;
const EVENT = `mutation ($spanId: ID!, $input: CreateEventInput!) { createSpanEvent(spanId: $spanId, input: $input) { id } }`;

try {
  await gql(`mutation { setRetentionRule(input: { mode: FULL }) { mode } }`);
  const base = Date.now() - 4 * 60_000;
  const t = (ms: number) => new Date(base + ms).toISOString();
  const traceId = 'tr-support-7f3a';
  const question = 'Can I get a refund on my annual plan if I cancel after 3 months? I was charged $480 on March 2.';
  const system = 'You are Acme Cloud support. Answer from the help center; cite the policy. Never promise refunds the policy does not allow.';
  const answer =
    'Yes. Annual plans cancelled within 6 months get a prorated refund: for 3 of 12 months used, that is $360 of your $480, back on your card within 5–10 business days (Refund policy §2.1). Shall I start the cancellation?';
  const planOutput = { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'search_docs', arguments: '{"query":"annual plan refund policy"}' } }] };
  const docs = [
    { id: 'help/refunds#annual', score: 0.91, text: 'Annual plans cancelled within 6 months are refunded pro rata…' },
    { id: 'help/billing#cycles', score: 0.74, text: 'Billing cycles start on the day of purchase…' },
  ];
  await gql(CREATE_SPANS, {
    input: [
      {
        id: 'sp-agent', traceId, name: 'support-agent', type: 'AGENT', startTime: t(0), endTime: t(9240), sessionId: 'chat-4412', tags: ['support', 'prod'],
        input: [{ role: 'system', content: system }, { role: 'user', content: question }], output: { role: 'assistant', content: answer },
        meta: { userId: 'u-8812', plan: 'annual', channel: 'web-chat', release: '2026.11.3' },
      },
      {
        id: 'sp-plan', traceId, parentId: 'sp-agent', name: 'plan', type: 'GENERATION', model: 'gpt-4o', startTime: t(120), endTime: t(1480), inputTokens: 612, outputTokens: 48,
        instructions: system, input: [{ role: 'system', content: system }, { role: 'user', content: question }], output: planOutput, meta: { temperature: 0.2 },
      },
      { id: 'sp-search', traceId, parentId: 'sp-agent', name: 'search_docs', type: 'RETRIEVAL', startTime: t(1520), endTime: t(2110), input: { query: 'annual plan refund policy', k: 5 }, output: docs },
      { id: 'sp-embed', traceId, parentId: 'sp-search', name: 'embed query', type: 'EMBEDDING', model: 'text-embedding-3-small', startTime: t(1530), endTime: t(1690), inputTokens: 7 },
      { id: 'sp-web', traceId, parentId: 'sp-agent', name: 'web_search', type: 'TOOL', startTime: t(2200), endTime: t(3870), input: { q: 'acme cloud refund annual plan prorated' }, output: { results: 8 } },
      { id: 'sp-fetch1', traceId, parentId: 'sp-agent', name: 'web_fetch', type: 'TOOL', startTime: t(3900), endTime: t(5150), input: { url: 'https://help.acme.example/refunds' }, error: 'HTTP 503 from help.acme.example (upstream timeout)' },
      { id: 'sp-fetch2', traceId, parentId: 'sp-agent', name: 'web_fetch', type: 'TOOL', startTime: t(5200), endTime: t(6020), input: { url: 'https://help.acme.example/refunds' }, output: { status: 200, bytes: 18422 } },
      {
        id: 'sp-answer', traceId, parentId: 'sp-agent', name: 'compose_answer', type: 'GENERATION', model: 'gpt-4o', startTime: t(6100), endTime: t(8890), inputTokens: 2210, outputTokens: 164,
        instructions: system,
        input: [
          { role: 'system', content: system },
          { role: 'user', content: question },
          planOutput,
          { role: 'tool', tool_call_id: 'call_1', content: JSON.stringify(docs) },
        ],
        output: [{ role: 'assistant', content: answer }],
        score: 0.92, tags: ['final'],
      },
      { id: 'sp-guard', traceId, parentId: 'sp-answer', name: 'refund-promise guardrail', type: 'FUNCTION', startTime: t(8700), endTime: t(8860), output: { passed: true } },
    ],
  });
  await gql(EVENT, { spanId: 'sp-plan', input: { kind: 'ROUTE', source: 'router', data: { chose: 'gpt-4o', over: 'gpt-4o-mini', reason: 'billing intent' } } });
  await gql(EVENT, { spanId: 'sp-answer', input: { kind: 'GUARDRAIL', source: 'no-unbacked-refunds', data: { passed: true } } });
  await gql(EVENT, { spanId: 'sp-answer', input: { kind: 'OBSERVE', source: 'judge:helpfulness', data: { score: 0.92, comment: 'Cites the policy and computes the amount.' } } });
  await gql(EVENT, { spanId: 'sp-answer', input: { kind: 'COMPLY', source: 'retention', data: { mode: 'FULL' } } });
  await gql(`mutation { submitFeedback(spanId: "sp-answer", input: { thumbs: UP, comment: "solved it" }) { id } }`);
  await gql(`mutation { addSpanMetric(spanId: "sp-answer", input: { dimension: "relevance", value: 0.92, comment: "judge" }) { id } }`);
  await gql(`mutation { addSpanMetric(spanId: "sp-answer", input: { dimension: "latency_budget_ms", value: 3000 }) { id } }`);

  // Neighbours in the explorer: older finished runs, a failed one, and one running now.
  const others: { name: string; ago: number; ms: number; error?: string; model: string; tokens: number; user: string; reply: string }[] = [
    { name: 'summarize-ticket', ago: 9 * 60_000, ms: 2140, model: 'gpt-4o-mini', tokens: 1830, user: 'Summarize ticket #4471 for the on-call engineer', reply: 'Customer reports 502s on the EU gateway since 09:10 UTC…' },
    { name: 'support-agent', ago: 14 * 60_000, ms: 12800, error: 'tool web_fetch: HTTP 404', model: 'gpt-4o', tokens: 5120, user: 'Where do I download my invoices?', reply: '' },
    { name: 'classify-intent', ago: 22 * 60_000, ms: 410, model: 'claude-haiku-4-5', tokens: 240, user: 'my card got charged twice??', reply: 'billing.duplicate_charge' },
    { name: 'rag-answer', ago: 31 * 60_000, ms: 3650, model: 'gpt-4o', tokens: 2890, user: 'How do I rotate an API key without downtime?', reply: 'Create the new key first, deploy it, then revoke the old one…' },
  ];
  for (const [index, run] of others.entries()) {
    const start = Date.now() - run.ago;
    const at = (ms: number) => new Date(start + ms).toISOString();
    const id = `tr-${index}-${run.name}`;
    await gql(CREATE_SPANS, {
      input: [
        { id: `${id}-root`, traceId: id, name: run.name, type: 'AGENT', startTime: at(0), endTime: at(run.ms), input: [{ role: 'user', content: run.user }], output: run.reply ? { role: 'assistant', content: run.reply } : null, tags: ['prod'] },
        { id: `${id}-llm`, traceId: id, parentId: `${id}-root`, name: 'llm', type: 'GENERATION', model: run.model, startTime: at(50), endTime: at(run.ms - 60), inputTokens: Math.round(run.tokens * 0.85), outputTokens: Math.round(run.tokens * 0.15) },
        ...(run.error ? [{ id: `${id}-tool`, traceId: id, parentId: `${id}-root`, name: 'web_fetch', type: 'TOOL', startTime: at(run.ms - 900), endTime: at(run.ms - 100), error: run.error }] : []),
      ],
    });
  }
  const liveStart = Date.now() - 7_000;
  const live = (ms: number) => new Date(liveStart + ms).toISOString();
  await gql(CREATE_SPANS, {
    input: [
      { id: 'live-root', traceId: 'tr-live-research', name: 'research-agent', type: 'AGENT', startTime: live(0), input: [{ role: 'user', content: 'Compare EU data residency options across our three cloud vendors' }] },
      { id: 'live-llm', traceId: 'tr-live-research', parentId: 'live-root', name: 'plan', type: 'GENERATION', model: 'gpt-4o', startTime: live(100), endTime: live(1900), inputTokens: 420, outputTokens: 96 },
      { id: 'live-tool', traceId: 'tr-live-research', parentId: 'live-root', name: 'web_search', type: 'TOOL', startTime: live(2000) },
    ],
  });

  mkdirSync(OUT, { recursive: true });
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ viewport: { width: 1440, height: 860 }, deviceScaleFactor: 1, colorScheme: 'light' });
    const page = await context.newPage();
    const shoot = async (path: string, ready: string, name: string) => {
      await page.setViewportSize({ width: 1440, height: name === 'span' ? 1180 : 860 });
      await page.goto(origin + path);
      await page.locator(ready).first().waitFor({ timeout: 30_000 });
      await page.waitForLoadState('networkidle').catch(() => {});
      await page.screenshot({ path: join(OUT, `${name}.png`) });
      console.log(`docs/screenshots/${name}.png`);
    };
    await shoot('/', `[data-trace-id="${traceId}"]`, 'explorer');
    await shoot(`/traces/${traceId}`, '[data-span-id="sp-guard"]', 'trace');
    await shoot(`/traces/${traceId}/spans/sp-answer`, '[data-testid="span-input"] .bubble', 'span');
    await shoot(`/traces/${traceId}/conversation`, '[data-testid="conversation"] .bubble', 'conversation');

    // The playground, opened on the final answer: "Run from here" on the tool's result, then two variants.
    await gql(`mutation ($input: CreateModelProviderInput!) { createModelProvider(input: $input) { id } }`, {
      input: { name: 'OpenAI', kind: 'OPENAI_COMPATIBLE', baseUrl: provider.baseUrl, apiKey: 'sk-screenshots-placeholder', models: ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1'] },
    });
    await page.setViewportSize({ width: 1440, height: 1000 });
    await page.goto(`${origin}/traces/${traceId}/spans/sp-answer/playground`);
    const messages = page.getByTestId('message');
    await messages.nth(3).waitFor({ timeout: 30_000 });
    await page.getByTestId('variant-settings').waitFor({ timeout: 30_000 });
    await page.getByRole('combobox', { name: 'Model', exact: true }).selectOption('gpt-4o');
    provider.reply({
      text: 'Yes. Annual plans cancelled within 6 months are refunded pro rata: you used 3 of 12 months, so $360 of the $480 goes back to your card within 5–10 business days (Refund policy §2.1). Shall I start the cancellation for you?',
      usage: { inputTokens: 2210, outputTokens: 61 },
    });
    await messages.nth(3).hover();
    await messages.nth(3).getByRole('button', { name: /Run from here/ }).click();
    const done = (variant: string) => page.locator(`[data-testid="run-column"][data-variant="${variant}"][data-status="done"]`).waitFor({ timeout: 30_000 });
    await done('A');
    await page.getByTestId('history-run').first().waitFor({ timeout: 30_000 });
    const answersInView = () => page.evaluate(() => document.querySelector('.run-columns')?.scrollIntoView({ block: 'end' }));
    await answersInView();
    await messages.nth(3).hover();
    await page.screenshot({ path: join(OUT, 'playground.png') });
    console.log('docs/screenshots/playground.png');

    // The recorded answer goes: both variants answer the tool's result instead.
    await messages.nth(4).hover();
    await page.getByRole('button', { name: 'Delete message 5' }).click();
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.getByRole('combobox', { name: 'Model (variant B)' }).selectOption('gpt-4o-mini');
    await page.getByLabel('Temperature').fill('0.7');
    provider
      .reply({
        text: 'Yes: cancelled within 6 months, an annual plan is refunded for the months left. 9 of 12 months of $480 is $360, back on your card in 5–10 business days (Refund policy §2.1). Want me to cancel it now?',
        usage: { inputTokens: 2210, outputTokens: 52 },
      })
      .reply({
        text: 'Good news: you can get $360 back. Annual plans cancelled in the first 6 months are refunded for the unused months (9 of 12). It reaches your card in 5–10 business days. Should I go ahead and cancel?',
        usage: { inputTokens: 2210, outputTokens: 49 },
      });
    await page.getByRole('button', { name: '▶ Run all' }).click();
    await done('A');
    await done('B');
    await page.mouse.move(700, 10);
    await answersInView();
    await page.screenshot({ path: join(OUT, 'playground-compare.png') });
    console.log('docs/screenshots/playground-compare.png');
  } finally {
    await browser.close();
  }
} finally {
  await server.stop();
  await provider.stop();
  rmSync(dir, { recursive: true, force: true });
}
