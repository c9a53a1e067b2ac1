/**
 * The trace explorer and the live span tree in a real browser against a real server: listing,
 * searching, filtering and paging; a trace written while the page is open appears and its tree grows
 * live, and a span deleted meanwhile leaves it with its subtree; rows that change while the page
 * reads them end up in their latest state, and the count
 * moves only for new matches; deep links, and URLs it cannot read; the API key (the login link,
 * which leaves the address bar at once and is kept, a wrong key refused plainly, a key that cannot read refused at the form, a failed check
 * offered again); a narrow window; and an empty project, which says how to send a first span (and
 * the curl line it shows, run as shown, writes one).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { usePages, useBrowser } from '../helpers/browser.js';
import { at, CREATE_SPAN, CREATE_SPANS, uid, UPDATE_SPAN } from '../helpers/operations.js';
import { untilListenersSettle } from '../helpers/established.js';
import { bearer, originOf, TEST_API_KEY, useTestServer } from '../helpers/server.js';

const server = useTestServer();
const browser = useBrowser();
/** The pub/sub followers of the server with no page open (its caches'). */
let idleFollowers = 0;
beforeAll(() => {
  idleFollowers = server().services.pubsub.followerCount;
});
const WAIT = { timeout: 30_000 };

const openPath = usePages(browser, () => originOf(server().url));
const open = (path: string, init?: (page: Page) => Promise<unknown>) => openPath(path, { init });

const row = (page: Page, traceId: string) => page.locator(`[data-trace-id="${traceId}"]`);
/** The trace ids the explorer lists, in order. */
const listed = (page: Page) => page.locator('[data-trace-id]').evaluateAll((rows) => rows.map((element) => element.getAttribute('data-trace-id')));

describe('the trace explorer', () => {
  it('lists traces newest first with composition, cost, tokens and previews; searches, filters and pages', async () => {
    const tag = uid('exp');
    const ids = { alpha: uid('alpha'), beta: uid('beta'), gamma: uid('gamma') };
    const write = (name: keyof typeof ids, start: number, extra: Record<string, unknown>, child: Record<string, unknown> = {}) =>
      server().gql(CREATE_SPANS, {
        input: [
          { id: `${ids[name]}-root`, traceId: ids[name], name: `${name}-${tag}`, startTime: at(start), endTime: at(start + 900), tags: [tag], ...extra },
          { id: `${ids[name]}-llm`, traceId: ids[name], parentId: `${ids[name]}-root`, name: 'llm', startTime: at(start + 10), endTime: at(start + 500), ...child },
        ],
      });
    await write(
      'alpha',
      0,
      { input: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'What is the capital of France?' }], output: { role: 'assistant', content: 'Paris.' } },
      { model: 'gpt-4o-mini', inputTokens: 100, outputTokens: 20, cost: 0.25 },
    );
    await write('beta', 1000, { input: 'plain text input' }, { type: 'TOOL', error: 'tool failed: timeout', cost: 0.5 });
    await write('gamma', 2000, { tags: [tag, 'vip'], sessionId: `session-${tag}` }, { model: 'claude-sonnet-4-5', inputTokens: 1000, outputTokens: 234, cost: 2 });

    const { page, outside, errors } = await open(`/?q=${tag}`);
    await row(page, ids.alpha).waitFor(WAIT);
    const order = await listed(page);
    expect(order).toEqual([ids.gamma, ids.beta, ids.alpha]);
    const alpha = await row(page, ids.alpha).innerText();
    expect(alpha).toContain(`alpha-${tag}`);
    expect(alpha).toContain('2 steps · 1 llm · 1 function');
    expect(alpha).toContain('What is the capital of France?'); // the last user message, not raw JSON
    expect(alpha).not.toContain('"role"');
    expect(alpha).toContain('Paris.');
    expect(alpha).toContain('$0.25');
    expect(alpha).toContain('120');
    expect(alpha).toContain('900 ms');
    expect(await row(page, ids.beta).getAttribute('data-status')).toBe('ERROR');
    expect(await row(page, ids.beta).innerText()).toContain('1 failed');
    expect(await page.getByTestId('trace-count').innerText()).toBe('3 traces');

    // Search by name, typed.
    await page.getByLabel('Search by name').fill(`beta-${tag}`);
    await row(page, ids.alpha).waitFor({ state: 'detached', ...WAIT });
    await row(page, ids.beta).waitFor(WAIT);
    expect(await page.locator('[data-trace-id]').count()).toBe(1);
    expect(new URL(page.url()).searchParams.get('q')).toBe(`beta-${tag}`);

    // Status, then cost, model, tags and session: each narrows the list to what it should.
    await page.getByLabel('Search by name').fill(tag);
    await row(page, ids.alpha).waitFor(WAIT);
    await page.getByLabel('Status').selectOption('ERROR');
    await row(page, ids.alpha).waitFor({ state: 'detached', ...WAIT });
    expect(await listed(page)).toEqual([ids.beta]);
    await page.getByLabel('Status').selectOption('');
    await row(page, ids.alpha).waitFor(WAIT);
    await page.getByLabel('Minimum cost (USD)').fill('1');
    await row(page, ids.alpha).waitFor({ state: 'detached', ...WAIT });
    expect(await listed(page)).toEqual([ids.gamma]);
    await page.getByLabel('Minimum cost (USD)').fill('');
    await page.getByLabel('Maximum duration (seconds)').fill('0.5');
    await row(page, ids.alpha).waitFor({ state: 'detached', ...WAIT });
    await page.getByText('No traces match').waitFor(WAIT);
    await page.getByLabel('Maximum duration (seconds)').fill('');
    await row(page, ids.gamma).waitFor(WAIT);
    await page.getByLabel('Model').fill('gpt-4o-mini');
    await row(page, ids.gamma).waitFor({ state: 'detached', ...WAIT });
    expect(await listed(page)).toEqual([ids.alpha]);
    await page.getByLabel('Model').fill('');
    await row(page, ids.gamma).waitFor(WAIT);
    await page.getByLabel('Tags').fill('vip');
    await row(page, ids.alpha).waitFor({ state: 'detached', ...WAIT });
    await row(page, ids.gamma).waitFor(WAIT);
    await page.getByLabel('Tags').fill('');
    await row(page, ids.beta).waitFor(WAIT);
    await page.getByLabel('Session').fill(`session-${tag}`);
    await row(page, ids.beta).waitFor({ state: 'detached', ...WAIT });
    await row(page, ids.gamma).waitFor(WAIT);
    await page.getByLabel('Session').fill('');
    await row(page, ids.beta).waitFor(WAIT);
    // A time range that ends before these traces started.
    await page.getByLabel('Time range').selectOption('custom');
    await page.getByLabel('To').fill('2026-11-24T08:00');
    await row(page, ids.gamma).waitFor({ state: 'detached', ...WAIT });
    await page.getByLabel('Time range').selectOption('');
    await row(page, ids.gamma).waitFor(WAIT);

    // Paging: 55 matching traces come as 50, then the rest.
    const many = uid('page');
    await server().gql(CREATE_SPANS, {
      input: Array.from({ length: 55 }, (_, index) => ({ id: `${many}-${index}`, traceId: `${many}-t${index}`, name: `${many}-run`, startTime: at(10_000 + index), endTime: at(10_100 + index) })),
    });
    await page.getByLabel('Search by name').fill(many);
    await page.locator(`[data-trace-id="${many}-t54"]`).waitFor(WAIT);
    await page.getByTestId('trace-count').getByText('55 traces').waitFor(WAIT);
    expect(await page.locator('[data-trace-id]').count()).toBe(50);
    await page.getByRole('button', { name: /Load 50 more/ }).click();
    await page.locator(`[data-trace-id="${many}-t0"]`).waitFor(WAIT);
    expect(await page.locator('[data-trace-id]').count()).toBe(55);

    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('shows a trace written while the page is open, running, and its tree grows live as spans arrive and end', async () => {
    const traceId = uid('live');
    const { page, outside, errors } = await open('/');
    await page.getByTestId('trace-count').getByText(/traces?$/).waitFor(WAIT);
    // The list has been read; the subscription starts in its own time. Probe traces written from now
    // on can only reach the page live: once one shows, the page is listening.
    for (let attempt = 0; ; attempt++) {
      const probe = uid('probe');
      await server().gql(CREATE_SPAN, { input: { traceId: probe, name: 'probe', startTime: new Date().toISOString(), endTime: new Date().toISOString() } });
      const shown = await row(page, probe)
        .waitFor({ timeout: 2_000 })
        .then(() => true)
        .catch(() => false);
      if (shown) break;
      if (attempt > 15) throw new Error('the explorer never showed a trace written after it opened');
    }

    const now = Date.now();
    const iso = (ms: number) => new Date(now + ms).toISOString();
    await server().gql(CREATE_SPAN, { input: { id: `${traceId}-root`, traceId, name: `live-run-${traceId}`, type: 'AGENT', startTime: iso(0) } });
    await row(page, traceId).waitFor(WAIT);
    expect(await row(page, traceId).getAttribute('data-status')).toBe('RUNNING');
    await row(page, traceId).locator('.dot-running').waitFor(WAIT);
    await row(page, traceId).locator('.elapsed').waitFor(WAIT);

    // Into the trace: one span so far, running.
    await row(page, traceId).click();
    await page.waitForURL(`**/traces/${traceId}`, WAIT);
    await page.locator(`[data-span-id="${traceId}-root"]`).waitFor(WAIT);
    expect(await page.getByTestId('trace-status').innerText()).toBe('running');

    // Spans written now appear in the tree, nested, without a reload.
    await server().gql(CREATE_SPAN, { input: { id: `${traceId}-llm`, traceId, parentId: `${traceId}-root`, name: 'plan', model: 'gpt-4o', startTime: iso(100) } });
    const llm = page.locator(`[data-span-id="${traceId}-llm"]`);
    await llm.waitFor(WAIT);
    expect(await llm.getAttribute('aria-level')).toBe('2');
    expect(await llm.getAttribute('class')).toContain('running');
    await server().gql(CREATE_SPAN, { input: { id: `${traceId}-tool`, traceId, parentId: `${traceId}-llm`, name: 'web_search', type: 'TOOL', startTime: iso(200) } });
    await page.locator(`[data-span-id="${traceId}-tool"][aria-level="3"]`).waitFor(WAIT);
    await page.getByTestId('span-count').getByText('3').waitFor(WAIT);

    // Ending spans fills their bars in: no longer running, with a duration.
    await server().gql(UPDATE_SPAN, { id: `${traceId}-tool`, input: { endTime: iso(700), error: 'rate limited' } });
    await page.locator(`[data-span-id="${traceId}-tool"].failed:not(.running)`).waitFor(WAIT);
    expect(await page.locator(`[data-span-id="${traceId}-tool"] .duration`).innerText()).toBe('500 ms');
    await server().gql(UPDATE_SPAN, { id: `${traceId}-llm`, input: { endTime: iso(900), inputTokens: 50, outputTokens: 10 } });
    await server().gql(UPDATE_SPAN, { id: `${traceId}-root`, input: { endTime: iso(1000) } });
    await page.locator(`[data-span-id="${traceId}-root"]:not(.running)`).waitFor(WAIT);
    await page.getByTestId('trace-status').getByText('error').waitFor(WAIT);
    expect(await page.getByTestId('trace-sums').innerText()).toContain('1.00 s');

    // Back in the explorer, the row has caught up.
    await page.goBack();
    await row(page, traceId).and(page.locator('[data-status="ERROR"]')).waitFor(WAIT);

    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('a trace opened before its first span is written waits for it, then draws it live', async () => {
    const traceId = uid('early');
    const { page, outside } = await open(`/traces/${traceId}`);
    await page.getByTestId('waiting').waitFor(WAIT);
    await server().gql(CREATE_SPAN, { input: { id: `${traceId}-root`, traceId, name: 'early-bird', startTime: new Date().toISOString() } });
    await page.locator(`[data-span-id="${traceId}-root"]`).waitFor(WAIT);
    await page.getByTestId('trace-name').getByText('early-bird').waitFor(WAIT);
    await page.getByTestId('waiting').waitFor({ state: 'detached', ...WAIT });
    expect(outside).toEqual([]);
  });

  it('a span deleted while its trace is open leaves the tree with its subtree, and the header and the detail count it no more', async () => {
    const traceId = uid('del');
    const id = (name: string) => `${traceId}-${name}`;
    await server().gql(CREATE_SPANS, {
      input: [
        { id: id('root'), traceId, name: 'agent', type: 'AGENT', startTime: at(0), endTime: at(1000) },
        { id: id('plan'), traceId, parentId: id('root'), name: 'plan', type: 'FUNCTION', startTime: at(100), endTime: at(600) },
        { id: id('call'), traceId, parentId: id('plan'), name: 'llm', type: 'GENERATION', model: 'gpt-4o', startTime: at(200), endTime: at(500), error: 'rate limited' },
        { id: id('answer'), traceId, parentId: id('root'), name: 'answer', type: 'TOOL', startTime: at(700), endTime: at(900) },
      ],
    });
    // The root's detail beside the tree: what is below it is counted from the server.
    const { page, outside, errors } = await open(`/traces/${traceId}/spans/${id('root')}`);
    const spanRow = (name: string) => page.locator(`[data-span-id="${id(name)}"]`);
    await spanRow('call').waitFor(WAIT);
    await page.getByTestId('span-count').getByText('4').waitFor(WAIT);
    expect(await page.getByTestId('trace-status').innerText()).toBe('error');
    const detail = page.getByTestId('span-detail');
    await detail.getByText(/^3 spans/).waitFor(WAIT);

    const { deleteSpan } = await server().gql(`mutation ($id: ID!) { deleteSpan(id: $id) }`, { id: id('plan') });
    expect(deleteSpan).toBe(true);
    // The span and the one under it go, live; the sibling stays.
    await spanRow('plan').waitFor({ state: 'detached', ...WAIT });
    await spanRow('call').waitFor({ state: 'detached', ...WAIT });
    expect(await spanRow('answer').count()).toBe(1);
    expect(await spanRow('root').count()).toBe(1);
    // The header sums what is left: two spans, and no failed one (the failed call was under the span).
    await page.getByTestId('span-count').getByText('2').waitFor(WAIT);
    await page.getByTestId('trace-status').getByText('ok').waitFor(WAIT);
    // The root's detail reads its counts again.
    await detail.getByText(/^1 span /).waitFor(WAIT);
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('deep links open the right view, and survive a reload', async () => {
    const traceId = uid('deep');
    await server().gql(CREATE_SPANS, {
      input: [
        { id: `${traceId}-root`, traceId, name: 'deep-root', startTime: at(0), endTime: at(1000) },
        {
          id: `${traceId}-gen`, traceId, parentId: `${traceId}-root`, name: 'deep-generation', model: 'gpt-4o', startTime: at(10), endTime: at(900),
          input: [{ role: 'user', content: 'Hello there' }], output: [{ role: 'assistant', content: 'General Kenobi' }],
        },
      ],
    });
    const { page, outside } = await open(`/traces/${traceId}/spans/${traceId}-gen`);
    await page.getByTestId('span-name').getByText('deep-generation').waitFor(WAIT);
    expect(await page.locator(`[data-span-id="${traceId}-gen"]`).getAttribute('aria-selected')).toBe('true');
    await page.reload();
    await page.getByTestId('span-name').getByText('deep-generation').waitFor(WAIT);

    // Clicking another row changes the URL; back returns to the first.
    await page.locator(`[data-span-id="${traceId}-root"]`).click();
    await page.waitForURL(`**/traces/${traceId}/spans/${traceId}-root`, WAIT);
    await page.getByTestId('span-name').getByText('deep-root').waitFor(WAIT);
    await page.goBack();
    await page.getByTestId('span-name').getByText('deep-generation').waitFor(WAIT);

    await page.goto(`${originOf(server().url)}/traces/${traceId}/conversation`);
    await page.getByTestId('conversation').getByText('General Kenobi').waitFor(WAIT);
    await page.goto(`${originOf(server().url)}/traces/${traceId}`);
    await page.getByTestId('trace-name').getByText('deep-root').waitFor(WAIT);
    expect(await page.getByTestId('span-detail').count()).toBe(0);
    expect(outside).toEqual([]);
  });
});

describe('the explorer keeps up with traces that change while it reads', () => {
  it('a running trace that ends while the first page is on its way stops running, even under a RUNNING filter', async () => {
    const tag = uid('ends');
    const traceId = uid('ending');
    await server().gql(CREATE_SPAN, { input: { id: `${traceId}-root`, traceId, name: `ending-${tag}`, startTime: at(0) } });
    // The first page is read (RUNNING) and held back until the trace has ended: the page learns of the
    // end only live or by reading the row again, never from that page.
    let read!: () => void;
    const wasRead = new Promise<void>((resolve) => (read = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const { page, outside, errors } = await open(`/?q=${tag}&status=RUNNING`, (page) =>
      page.route('**/graphql', async (route) => {
        if (!route.request().postData()?.includes('query Explorer(')) return route.fallback();
        const response = await route.fetch();
        read();
        await released;
        await route.fulfill({ response });
      }),
    );
    await wasRead;
    await server().gql(UPDATE_SPAN, { id: `${traceId}-root`, input: { endTime: at(500) } });
    release();
    await row(page, traceId).waitFor(WAIT);
    await row(page, traceId).and(page.locator('[data-status="OK"]')).waitFor(WAIT);
    expect(await row(page, traceId).locator('.elapsed').count()).toBe(0);
    expect(await row(page, traceId).innerText()).toContain('500 ms');
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('counts a new matching trace once, and not a live change to an old trace past the loaded rows', async () => {
    const tag = uid('count');
    const oldest = `${tag}-t0`;
    // 51 matches: the oldest (still running) is past the first page of 50.
    await server().gql(CREATE_SPANS, {
      input: Array.from({ length: 51 }, (_, index) => ({
        id: `${tag}-s${index}`,
        traceId: `${tag}-t${index}`,
        name: `${tag}-run`,
        startTime: at(index * 10),
        ...(index === 0 ? {} : { endTime: at(index * 10 + 5) }),
      })),
    });
    const { page, outside, errors } = await open(`/?q=${tag}`);
    await page.getByTestId('trace-count').getByText('51 traces').waitFor(WAIT);
    expect(await row(page, oldest).count()).toBe(0);

    // Once a probe written now shows, the page is listening.
    let expected = 51;
    for (let attempt = 0; ; attempt++) {
      const probe = `${tag}-probe${attempt}`;
      await server().gql(CREATE_SPAN, { input: { traceId: probe, name: `${tag}-probe`, startTime: at(100_000 + attempt), endTime: at(100_001 + attempt) } });
      expected++;
      const shown = await row(page, probe)
        .waitFor({ timeout: 2_000 })
        .then(() => true)
        .catch(() => false);
      if (shown) break;
      if (attempt > 15) throw new Error('the explorer never showed a trace written after it opened');
    }
    await page.getByTestId('trace-count').getByText(`${expected} traces`).waitFor(WAIT);

    // The old trace ends (a live change for a trace already counted), then a new one starts: changes
    // come in order, so once the new one shows the old one's change has been handled too.
    await server().gql(UPDATE_SPAN, { id: `${tag}-s0`, input: { endTime: at(5) } });
    const marker = `${tag}-marker`;
    await server().gql(CREATE_SPAN, { input: { traceId: marker, name: `${tag}-marker`, startTime: at(200_000) } });
    await row(page, marker).waitFor(WAIT);
    expect(await page.getByTestId('trace-count').innerText()).toBe(`${expected + 1} traces`);
    expect(await row(page, oldest).count()).toBe(0);
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });
});

describe('URLs the page cannot read', () => {
  it('a malformed trace path shows "no page", and an unreadable date in the filters is ignored', async () => {
    const broken = await open('/traces/%E0%A4%A');
    await broken.page.getByText('There is no page at').waitFor(WAIT);
    expect(broken.errors).toEqual([]);

    const tag = uid('baddate');
    await server().gql(CREATE_SPAN, { input: { traceId: tag, name: `baddate-${tag}`, startTime: at(0), endTime: at(10) } });
    const { page, outside, errors } = await open(`/?since=custom&from=abc&to=also-not-a-date&q=${tag}`);
    await row(page, tag).waitFor(WAIT);
    expect(await page.getByTestId('trace-count').innerText()).toBe('1 trace');
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });
});

describe('the API key', () => {
  it('the login link signs the page in: its key leaves the address bar at once, is sent in no URL or Referer, and a reload stays signed in', async () => {
    const sent: string[] = [];
    const { page, outside } = await openPath('/?q=nothing-like-this', {
      init: async (page) => page.on('request', (request) => sent.push(request.url(), request.headers().referer ?? '')),
    });
    await page.getByTestId('project').getByText('default', { exact: true }).waitFor(WAIT);
    expect(await page.locator('input[type="password"]').count()).toBe(0);
    // The address keeps the path and the query, not the key; the browser keeps the key.
    expect(page.url()).toBe(`${originOf(server().url)}/?q=nothing-like-this`);
    expect(await page.evaluate(() => localStorage.getItem('spantree.apiKey'))).toBe(TEST_API_KEY);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.filter((url) => url.includes(TEST_API_KEY) || url.includes('#key'))).toEqual([]);

    await page.reload();
    await page.getByTestId('project').getByText('default', { exact: true }).waitFor(WAIT);
    expect(await page.locator('input[type="password"]').count()).toBe(0);
    expect(page.url()).not.toContain('key');
    expect(outside).toEqual([]);
  });

  it('without a key (no link, nothing kept) the page asks for one, and the page it was served has none', async () => {
    const { page, outside } = await openPath('/', { signedOut: true });
    await page.getByLabel('API key').waitFor(WAIT);
    expect(await page.getByTestId('project').count()).toBe(0);
    expect(await page.content()).not.toContain(TEST_API_KEY);
    expect(await page.getByText('login link').count()).toBe(1);
    expect(outside).toEqual([]);
  });

  it('a key check that fails for another reason (a 500, a dropped connection) keeps the key and offers to try again', async () => {
    let failures = 0;
    const { page, outside } = await open('/', (page) =>
      page.route('**/graphql', (route) => {
        if (!route.request().postData()?.includes('query Viewer')) return route.fallback();
        failures++;
        if (failures === 1) return route.fulfill({ status: 500, contentType: 'text/plain', body: 'Internal Server Error' });
        if (failures === 2) return route.abort('connectionreset');
        return route.fallback();
      }),
    );
    const failed = page.getByTestId('key-check-failed');
    await failed.waitFor(WAIT);
    expect(await failed.innerText()).toContain('500');
    expect(await page.getByTestId('key-refused').count()).toBe(0);
    expect(await page.locator('input[type="password"]').count()).toBe(0);

    await page.getByRole('button', { name: 'Try again' }).click();
    await failed.getByText('could not be reached').waitFor(WAIT);
    expect(await page.locator('input[type="password"]').count()).toBe(0);

    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByTestId('project').getByText('default', { exact: true }).waitFor(WAIT);
    expect(failures).toBe(3);
    expect(outside).toEqual([]);
  });

  it('a wrong key is refused plainly, and another can be entered', async () => {
    const { page, outside } = await openPath('/', { key: 'st_not_a_real_key_0000000000000000' });
    const refused = page.getByTestId('key-refused');
    await refused.waitFor(WAIT);
    expect(await refused.innerText()).toContain('This key was not accepted');
    // The server's reason is a sentence of its own before the request that follows it.
    expect(await refused.innerText()).toMatch(/\w[.!?] Enter another key\.$/);
    expect(await page.getByTestId('project').count()).toBe(0);

    // A typed key is taken and kept.
    await page.getByLabel('API key').fill('st_test_suite_key_0123456789abcdef');
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await page.getByTestId('project').getByText('default', { exact: true }).waitFor(WAIT);
    expect(await page.evaluate(() => localStorage.getItem('spantree.apiKey'))).toBe('st_test_suite_key_0123456789abcdef');

    // "change key" asks again.
    await page.getByRole('button', { name: 'change key' }).click();
    await page.getByLabel('API key').waitFor(WAIT);
    expect(await page.evaluate(() => localStorage.getItem('spantree.apiKey'))).toBeNull();
    expect(outside).toEqual([]);
  });
});

describe('a key that cannot read', () => {
  it('an INGEST-only key is refused at the form, saying the page needs READ, and nothing is left loading', async () => {
    const { createApiKey } = await server().gql(`mutation { createApiKey(input: { name: "sdk", scopes: [INGEST] }) { key } }`);
    const { page, outside, errors } = await openPath('/', { key: createApiKey.key });
    const refused = page.getByTestId('key-refused');
    await refused.waitFor(WAIT);
    const text = await refused.innerText();
    expect(text).toContain('INGEST scope only');
    expect(text).toContain('needs a key with READ');
    expect(text).toMatch(/Enter another key\.$/);
    expect(await page.getByText('Loading…').count()).toBe(0);
    expect(await page.getByTestId('project').count()).toBe(0);
    // A key that reads is taken.
    await page.getByLabel('API key').fill('st_test_suite_key_0123456789abcdef');
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await page.getByTestId('project').getByText('default', { exact: true }).waitFor(WAIT);
    await page.getByTestId('trace-count').getByText(/traces?$/).waitFor(WAIT);
    expect(outside).toEqual([]);
    // The refused key's live connection is closed while it opens, which Chromium reports; nothing else.
    expect(errors.filter((error) => !error.includes('WebSocket is already in CLOSING or CLOSED state'))).toEqual([]);
  });

  it('a list the server refuses says why, and not "Loading…"', async () => {
    const { page, outside } = await open('/', (page) =>
      page.route('**/graphql', (route) => {
        if (!route.request().postData()?.includes('query Explorer(')) return route.fallback();
        return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ errors: [{ message: 'This query is too expensive', extensions: { code: 'QUERY_LIMIT_EXCEEDED' } }] }) });
      }),
    );
    await page.getByRole('alert').getByText('This query is too expensive').waitFor(WAIT);
    expect(await page.getByTestId('trace-count').innerText()).not.toContain('Loading');
    expect(outside).toEqual([]);
  });
});

describe('a narrow window', () => {
  /** Where the cost column's header and `traceId`'s cost cell end, against the table's visible box. */
  async function costColumn(page: Page, traceId: string) {
    return page.evaluate((id) => {
      const table = document.querySelector('.trace-table')!;
      const box = table.getBoundingClientRect();
      const visibleRight = box.left + table.clientLeft + table.clientWidth;
      const cells = [document.querySelector('.trace-row-head .cost')!, document.querySelector(`[data-trace-id="${id}"] .cost`)!];
      return {
        clippedBy: cells.map((cell) => Math.max(0, cell.getBoundingClientRect().right - visibleRight)),
        cutInside: cells.map((cell) => cell.scrollWidth > cell.clientWidth),
        texts: cells.map((cell) => (cell as HTMLElement).innerText),
        sideways: table.scrollWidth > table.clientWidth,
        page: document.documentElement.scrollWidth > window.innerWidth,
      };
    }, traceId);
  }

  it('at 820 px every column fits, cost included; narrower still, time and tokens give way before cost', async () => {
    const traceId = uid('narrow');
    await server().gql(CREATE_SPANS, {
      input: [{ id: `${traceId}-root`, traceId, name: `a-long-agent-run-name-${traceId}-that-goes-on`, startTime: at(0), endTime: at(3_723_000), cost: 1234.5, inputTokens: 1_234_567, outputTokens: 2, input: 'a question long enough to be cut short in a narrow column' }],
    });
    const { page, outside } = await open(`/?q=${traceId}`, (page) => page.setViewportSize({ width: 820, height: 700 }));
    await row(page, traceId).waitFor(WAIT);
    const at820 = await costColumn(page, traceId);
    expect(at820).toEqual({ clippedBy: [0, 0], cutInside: [false, false], texts: ['COST', '$1,235'], sideways: false, page: false });
    expect(await row(page, traceId).locator('.col-tokens').isVisible()).toBe(true);

    await page.setViewportSize({ width: 560, height: 700 });
    await row(page, traceId).locator('.col-tokens').waitFor({ state: 'hidden', ...WAIT });
    expect(await costColumn(page, traceId)).toEqual({ clippedBy: [0, 0], cutInside: [false, false], texts: ['COST', '$1,235'], sideways: false, page: false });
    expect(await row(page, traceId).locator('.col-time').isVisible()).toBe(false);
    expect(outside).toEqual([]);
  });
});

describe('an empty project', () => {
  it('shows the OTLP endpoint, the header and a curl line with the page\'s own key; the curl line, run as shown, writes a first span that appears', async () => {
    const { createProject } = await server().gql(`mutation ($name: String!) { createProject(input: { name: $name }) { id } }`, { name: uid('empty') });
    const { createApiKey } = await server().gql(`mutation ($id: ID!) { createApiKey(input: { name: "first", projectId: $id, scopes: [READ, INGEST] }) { key } }`, { id: createProject.id });
    const key = createApiKey.key as string;
    const origin = originOf(server().url);

    // A filter that matches nothing is not an empty project.
    const filtered = await openPath('/?q=nothing-here', { key });
    await filtered.page.getByText('No traces match').waitFor(WAIT);
    expect(await filtered.page.getByTestId('first-span').count()).toBe(0);
    await filtered.context.close();

    // Only the page below follows this project's changes from here on: once the server counts one
    // follower more than it has idle, the page is listening, and a span written then shows live.
    await untilListenersSettle(server(), idleFollowers);
    const { page, outside, errors } = await openPath('/', { key });
    const help = page.getByTestId('first-span');
    await help.waitFor(WAIT);
    expect(await help.getByTestId('otlp-endpoint').innerText()).toBe(`${origin}/v1/traces`);
    expect(await help.getByTestId('otlp-header').innerText()).toBe(`Authorization: Bearer ${key}`);
    // The endpoint and header, as shown, are what the OTLP route takes.
    const [name, value] = (await help.getByTestId('otlp-header').innerText()).split(': ');
    const otlp = await fetch(await help.getByTestId('otlp-endpoint').innerText(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', [name!]: value! },
      body: JSON.stringify({ resourceSpans: [] }),
    });
    expect(otlp.status).toBe(200);

    await page.getByTestId('trace-count').getByText('0 traces').waitFor(WAIT);
    await untilListenersSettle(server(), idleFollowers + 1);
    const curl = await help.getByTestId('first-span-curl').innerText();
    expect(curl.split('\n')).toHaveLength(1);
    expect(curl).toMatch(/^curl /);
    const { stdout } = await promisify(execFile)('bash', ['-c', curl], { timeout: 30_000 });
    const written = JSON.parse(stdout);
    expect(written.errors).toBeUndefined();
    const traceId = written.data.createSpan.traceId as string;
    // The span is in the page's own project, ended.
    const { trace } = (await server().request(`query ($id: ID!) { trace(id: $id) { name status } }`, { id: traceId }, bearer(key))).data;
    expect(trace).toEqual({ name: 'hello-spantree', status: 'OK' });
    await row(page, traceId).waitFor(WAIT);
    await help.waitFor({ state: 'detached', ...WAIT });
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });
});
