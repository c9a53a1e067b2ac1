/**
 * A large running trace in the browser (5,000 spans: a root, 50 steps of 99 calls each): the trace
 * page reads the rows it draws first, the header from the trace's rollups and the rest as the user
 * scrolls (never the whole trace in one answer), lets far pages go, folds a step whose calls it never
 * read, and follows spans written live: each comes on screen while Follow is on; a scroll by the user
 * turns Follow off and the counter counts what arrives below; Follow brings the newest on screen.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { usePages, useBrowser } from '../helpers/browser.js';
import { at, CREATE_SPAN, CREATE_SPANS, uid } from '../helpers/operations.js';
import { originOf, useTestServer } from '../helpers/server.js';

const server = useTestServer();
const browser = useBrowser();
const WAIT = { timeout: 30_000 };
const ROW_HEIGHT = 30;
const open = usePages(browser, () => originOf(server().url));

const STEPS = 50;
const CALLS = 99;
const traceId = uid('large');
const id = (name: string) => `${traceId}-${name}`;
/** Depth-first positions: the root, then each step followed by its calls. */
const stepPosition = (step: number) => 1 + step * (CALLS + 1);
/** The last step has one call less: 5,000 spans in all. */
const callsOf = (step: number) => (step === STEPS - 1 ? CALLS - 1 : CALLS);
const lastCall = id(`s${STEPS - 1}-c${CALLS - 2}`);

beforeAll(async () => {
  // Running: the root has not ended.
  const spans: Record<string, unknown>[] = [{ id: id('root'), traceId, name: 'large-root', type: 'AGENT', startTime: at(0) }];
  for (let step = 0; step < STEPS; step++) {
    spans.push({ id: id(`s${step}`), traceId, parentId: id('root'), name: `step-${step}`, startTime: at(step * 1000 + 1), endTime: at(step * 1000 + 900) });
    for (let call = 0; call < callsOf(step); call++) {
      spans.push({ id: id(`s${step}-c${call}`), traceId, parentId: id(`s${step}`), name: `call-${step}-${call}`, type: 'TOOL', startTime: at(step * 1000 + 2 + call * 8), endTime: at(step * 1000 + 9 + call * 8) });
    }
  }
  expect(spans.length).toBe(5000);
  // MAX_BATCH_SPANS is 1,000 by default.
  for (let index = 0; index < spans.length; index += 1000) await server().gql(CREATE_SPANS, { input: spans.slice(index, index + 1000) });
}, 120_000);

/** What the page asked the server over HTTP, and how many span rows it received. */
function watchGraphql(page: Page) {
  const seen = { bodies: [] as string[], pageSkips: [] as number[], spansReceived: 0 };
  page.on('request', (request) => {
    const body = request.postData();
    if (!request.url().endsWith('/graphql') || !body) return;
    seen.bodies.push(body);
    const { query, variables } = JSON.parse(body) as { query: string; variables?: { skip?: number } };
    if (query.includes('query TraceTreePage(')) seen.pageSkips.push(variables?.skip ?? -1);
  });
  page.on('response', async (response) => {
    if (!response.url().endsWith('/graphql') || !response.request().postData()?.includes('spanConnection')) return;
    const body = (await response.json().catch(() => undefined)) as { data?: { trace?: { spanConnection?: { edges: unknown[] } } } } | undefined;
    seen.spansReceived += body?.data?.trace?.spanConnection?.edges.length ?? 0;
  });
  return seen;
}

/** Whether the span's row is inside the scrolling area's visible box. */
function onScreen(page: Page, spanId: string): Promise<boolean> {
  return page.evaluate((wanted) => {
    const row = document.querySelector(`[data-span-id="${CSS.escape(wanted)}"]`);
    const scroller = document.querySelector('.span-scroll');
    if (!row || !scroller) return false;
    const inner = row.getBoundingClientRect();
    const outer = scroller.getBoundingClientRect();
    return inner.top >= outer.top - 1 && inner.bottom <= outer.bottom + 1;
  }, spanId);
}

function untilOnScreen(page: Page, spanId: string) {
  return page.waitForFunction(
    (wanted) => {
      const row = document.querySelector(`[data-span-id="${CSS.escape(wanted)}"]`);
      const scroller = document.querySelector('.span-scroll');
      if (!row || !scroller) return false;
      const inner = row.getBoundingClientRect();
      const outer = scroller.getBoundingClientRect();
      return inner.top >= outer.top - 1 && inner.bottom <= outer.bottom + 1;
    },
    spanId,
    WAIT,
  );
}

const scrollTo = (page: Page, top: number) => page.locator('.span-scroll').evaluate((element, value) => (element.scrollTop = value), top);

describe('a 5,000-span running trace', () => {
  it('shows its first rows and header without reading the whole trace; reads pages as it scrolls, to the last span, and lets far pages go', async () => {
    let seen!: ReturnType<typeof watchGraphql>;
    const { page, outside, errors } = await open(`/traces/${traceId}`, { init: async (page) => (seen = watchGraphql(page)) });
    await page.locator(`[data-span-id="${id('root')}"]`).waitFor(WAIT);
    await page.locator(`[data-span-id="${id('s0-c0')}"]`).waitFor(WAIT);
    // The header is the trace's rollups: all 5,000 spans counted, though few were read.
    await page.getByTestId('span-count').getByText('5,000').waitFor(WAIT);
    expect(await page.getByTestId('trace-status').innerText()).toBe('running');
    expect(seen.bodies.some((body) => /\bspans\s*[({]/.test(JSON.parse(body).query))).toBe(false);
    expect(seen.spansReceived).toBeGreaterThan(0);
    expect(seen.spansReceived).toBeLessThanOrEqual(1000);
    // The scrolling area is as tall as the whole tree.
    expect(await page.locator('.span-space').evaluate((element) => element.getBoundingClientRect().height)).toBe(5000 * ROW_HEIGHT);

    // A jump to the end (a dragged scrollbar) reads the pages there, not those between.
    await page.locator('.span-scroll').evaluate((element) => (element.scrollTop = element.scrollHeight));
    await page.locator(`[data-span-id="${lastCall}"]`).waitFor(WAIT);
    expect(await onScreen(page, lastCall)).toBe(true);
    expect(await page.locator(`[data-span-id="${id('root')}"]`).count()).toBe(0);
    expect(seen.spansReceived).toBeLessThan(2000);
    expect(await page.locator('.span-space .span-row').count()).toBeLessThan(200);

    // Down the whole trace, two steps (one page) at a time: each step's row comes.
    for (let step = 0; step < STEPS; step += 2) {
      await scrollTo(page, stepPosition(step) * ROW_HEIGHT);
      await page.locator(`[data-span-id="${id(`s${step}`)}"]`).waitFor(WAIT);
      expect(await page.locator('.span-space .span-row').count()).toBeLessThan(200);
    }
    // Back near the top: that page was let go meanwhile (memory stays bounded), so it is read again.
    const skip = 200 - 1;
    expect(seen.pageSkips.filter((value) => value === skip)).toHaveLength(1);
    await scrollTo(page, stepPosition(3) * ROW_HEIGHT);
    await page.locator(`[data-span-id="${id('s3-c5')}"]`).waitFor(WAIT);
    expect(seen.pageSkips.filter((value) => value === skip)).toHaveLength(2);
    // Never the whole trace, not even a second copy of it.
    expect(seen.bodies.some((body) => /\bspans\s*[({]/.test(JSON.parse(body).query))).toBe(false);
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  }, 120_000);

  it('folds a step, whose calls then take no rows, and the root, most of whose subtree was never read', async () => {
    const { page, outside, errors } = await open(`/traces/${traceId}`);
    await page.locator(`[data-span-id="${id('s0')}"]`).waitFor(WAIT);
    await page.locator(`[data-span-id="${id('s0')}"] .toggle`).click();
    const s1 = page.locator(`[data-span-id="${id('s1')}"]`);
    await s1.waitFor(WAIT);
    expect(await page.locator(`[data-span-id="${id('s0-c0')}"]`).count()).toBe(0);
    expect(await s1.evaluate((element) => (element as HTMLElement).style.top)).toBe(`${2 * ROW_HEIGHT}px`);
    expect(await page.locator(`[data-span-id="${id('s0')}"]`).getAttribute('aria-expanded')).toBe('false');
    expect(await page.locator('.span-space').evaluate((element) => element.getBoundingClientRect().height)).toBe((5000 - CALLS) * ROW_HEIGHT);

    // The root folded: one row. Unfolded, step 0 stays folded.
    await page.locator(`[data-span-id="${id('root')}"] .toggle`).click();
    await s1.waitFor({ state: 'detached', ...WAIT });
    expect(await page.locator('.span-space').evaluate((element) => element.getBoundingClientRect().height)).toBe(ROW_HEIGHT);
    await page.locator(`[data-span-id="${id('root')}"] .toggle`).click();
    await s1.waitFor(WAIT);
    expect(await page.locator(`[data-span-id="${id('s0-c0')}"]`).count()).toBe(0);
    await page.locator(`[data-span-id="${id('s0')}"] .toggle`).click();
    await page.locator(`[data-span-id="${id('s0-c0')}"]`).waitFor(WAIT);
    expect(await page.locator('.span-space').evaluate((element) => element.getBoundingClientRect().height)).toBe(5000 * ROW_HEIGHT);
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  }, 60_000);

  it('follows spans written live; a scroll by the user stops following and the counter counts what arrives below; Follow brings the newest on screen', async () => {
    const { page, outside, errors } = await open(`/traces/${traceId}`);
    await page.locator(`[data-span-id="${id('root')}"]`).waitFor(WAIT);
    const follow = page.getByTestId('follow');
    await page.locator('[data-testid="follow"][aria-pressed="true"]').waitFor(WAIT);

    // A new step, after all others: its row is the tree's last, 5,000 rows below the screen.
    const first = id('live-1');
    await server().gql(CREATE_SPAN, { input: { id: first, traceId, parentId: id('root'), name: 'live step 1', startTime: at(STEPS * 1000 + 10) } });
    await untilOnScreen(page, first);
    expect(await page.locator(`[data-span-id="${first}"]`).getAttribute('class')).toContain('running');
    expect(await page.locator(`[data-span-id="${first}"]`).getAttribute('aria-level')).toBe('2');
    // The rows above it are the last step's calls, read for it.
    await page.locator(`[data-span-id="${lastCall}"]`).waitFor(WAIT);
    await page.getByTestId('span-count').getByText('5,001').waitFor(WAIT);

    // A span under it, live too: on screen under its parent.
    const child = id('live-1-call');
    await server().gql(CREATE_SPAN, { input: { id: child, traceId, parentId: first, name: 'live call', type: 'TOOL', startTime: at(STEPS * 1000 + 20) } });
    await untilOnScreen(page, child);
    expect(await page.locator(`[data-span-id="${child}"]`).getAttribute('aria-level')).toBe('3');
    expect(await page.locator(`[data-span-id="${child}"]`).getAttribute('class')).toContain('arrived');

    // The user scrolls up, away: Follow turns off.
    await page.locator('.span-scroll').hover();
    await page.mouse.wheel(0, -3000);
    await page.locator('[data-testid="follow"][aria-pressed="false"]').waitFor(WAIT);
    expect(await page.getByTestId('arrived-below').count()).toBe(0);

    // A span written now lands below the screen: counted, not scrolled to.
    const second = id('live-2');
    await server().gql(CREATE_SPAN, { input: { id: second, traceId, parentId: id('root'), name: 'live step 2', startTime: at(STEPS * 1000 + 30) } });
    await page.getByTestId('arrived-below').getByText('1 new below').waitFor(WAIT);
    expect(await onScreen(page, second)).toBe(false);
    expect(await follow.getAttribute('aria-pressed')).toBe('false');

    // One click: following again, from the newest span.
    await follow.click();
    await untilOnScreen(page, second);
    expect(await follow.getAttribute('aria-pressed')).toBe('true');
    expect(await page.getByTestId('arrived-below').count()).toBe(0);

    // And the next one is followed again.
    const third = id('live-3');
    await server().gql(CREATE_SPAN, { input: { id: third, traceId, parentId: second, name: 'live call 3', startTime: at(STEPS * 1000 + 40) } });
    await untilOnScreen(page, third);
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  }, 60_000);

  // Last: it deletes a step.
  it('reads a new snapshot when its own cannot place a change (a deleted span, a new span under one never read), keeping the rows on screen in place', async () => {
    let seen!: ReturnType<typeof watchGraphql>;
    const { page, outside, errors } = await open(`/traces/${traceId}`, { init: async (page) => (seen = watchGraphql(page)) });
    const snapshots = () => seen.bodies.filter((body) => body.includes('query TraceTree(')).length;
    const height = () => page.locator('.span-space').evaluate((element) => Math.round(element.getBoundingClientRect().height / 30));
    // Read in one step, as the page is now: a row a render replaced meanwhile would measure as detached.
    // Null when the row is not drawn (a placeholder there: the screen blinked).
    const offset = (spanId: string) =>
      page.evaluate((wanted) => {
        const row = document.querySelector(`[data-span-id="${CSS.escape(wanted)}"]`);
        return row ? row.getBoundingClientRect().top - document.querySelector('.span-scroll')!.getBoundingClientRect().top : null;
      }, spanId);
    /** The change number of the snapshot drawn. */
    const asOf = async () => Number(await page.locator('.tree-pane').getAttribute('data-as-of'));
    /** Until a snapshot later than `than` is drawn (with the rows on screen kept in place, in the same render). */
    const untilSnapshotAfter = (than: number) =>
      page.waitForFunction((previous) => Number(document.querySelector('.tree-pane')!.getAttribute('data-as-of')) > previous, than, WAIT);
    await page.locator(`[data-span-id="${id('root')}"]`).waitFor(WAIT);
    await page.locator('[data-testid="follow"][aria-pressed="true"]').waitFor(WAIT);
    await page.getByTestId('follow').click();
    await page.locator('[data-testid="follow"][aria-pressed="false"]').waitFor(WAIT);
    const rows = await height();
    expect(snapshots()).toBe(1);

    // Step 5 on screen; step 0 and its calls, above it, deleted: their positions go, step 5 stays put.
    await scrollTo(page, stepPosition(5) * ROW_HEIGHT + 7);
    await page.locator(`[data-span-id="${id('s5')}"]`).waitFor(WAIT);
    const before = await offset(id('s5'));
    expect(before).toBe(-7);
    const first = await asOf();
    const { deleteSpan } = await server().gql(`mutation ($id: ID!) { deleteSpan(id: $id) }`, { id: id('s0') });
    expect(deleteSpan).toBe(true);
    await page.waitForFunction((expected) => Math.round(document.querySelector('.span-space')!.getBoundingClientRect().height / 30) === expected, rows - 100, WAIT);
    // The new snapshot drawn: step 5's row there, read before it replaced the old one, in the same place.
    await untilSnapshotAfter(first);
    expect(snapshots()).toBe(2);
    expect(await offset(id('s5'))).toBe(before);
    await page.getByTestId('span-count').getByText((rows - 100).toLocaleString('en')).waitFor(WAIT);

    // A span under a call this page never read: placed by the next snapshot, under its parent.
    const deep = id('live-deep');
    const second = await asOf();
    await server().gql(CREATE_SPAN, { input: { id: deep, traceId, parentId: id('s30-c5'), name: 'deep call', startTime: at(30 * 1000 + 2 + 5 * 8 + 1) } });
    await untilSnapshotAfter(second);
    await page.waitForFunction((expected) => Math.round(document.querySelector('.span-space')!.getBoundingClientRect().height / 30) === expected, rows - 99, WAIT);
    expect(snapshots()).toBe(3);
    expect(await offset(id('s5'))).toBe(before);
    await scrollTo(page, (stepPosition(30) - 100) * ROW_HEIGHT);
    await page.locator(`[data-span-id="${deep}"]`).waitFor(WAIT);
    expect(await page.locator(`[data-span-id="${deep}"]`).getAttribute('aria-level')).toBe('4');
    expect(await page.locator(`[data-span-id="${deep}"]`).evaluate((row) => (row as HTMLElement).style.top)).toBe(`${(stepPosition(30) - 100 + 7) * ROW_HEIGHT}px`);
    expect(await page.locator(`[data-span-id="${id('s0')}"]`).count()).toBe(0);
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  }, 60_000);
});
