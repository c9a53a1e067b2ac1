/**
 * Workload 7, the web UI in a real browser (Debian's Chromium through playwright-core): what a person
 * waits for, each beside a floor measured in the same run, in the same browser, the same way.
 *
 * 1. Time to the first explorer row at `/` on the explorer's traces (100,000; quick: 3,000).
 * 2. Time to render a 5,000-span trace at `/traces/:id` (its rows and the header's span count shown),
 *    and how many span rows the page keeps in the DOM (windowing).
 * 3. Write-to-screen latency of a live span: a trace open at `/traces/:id`, `createSpan` over HTTP,
 *    until the span's row is in the page.
 * 4. A large running trace (100,000 spans; quick: 20,000) against a 1,000-span one, both at
 *    `/traces/:id` (the large-trace view): time to the first span row on screen, with the
 *    server's snapshot of the trace kept (a page opened again) and right after a write to the trace
 *    (a new snapshot worked out from the last one); and 5., with Follow on (the default while a trace
 *    runs), a span written under the root until its row is on screen (inside the tree's scrolling
 *    box, not merely in the document). Here the baseline is the small trace, in the same run, the
 *    same browser, measured the same way, and the 1-second bounds are rows of their own.
 *
 * The floor is a minimal `node:http` server in this process (no framework, no GraphQL, no ORM): one
 * static HTML page per view whose inline script fetches JSON read with raw SQL through the same
 * driver (better-sqlite3 / pg) from Spantree's own tables, and draws rows with plain DOM (the tree:
 * only its visible window); for 3, a raw `ws` server broadcasting the span right after a raw SQL
 * insert to a page that prepends a row on message.
 *
 * Times are taken in the page, so the browser-to-Node round trips of polling are not counted: 1 and 2
 * from navigation start (`performance.now()`, whose origin is the start of the `page.goto`) to the
 * MutationObserver callback that first sees the condition met; 3 from just before the write
 * (`performance.timeOrigin + performance.now()` in Node) to the callback that sees the row (the same
 * expression in the page, the same machine clock; checked once per page). BENCHMARKS.md ("Web UI in
 * a browser") describes the method.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../scripts/chromium.js';
import { WebSocketServer } from 'ws';
import type { BenchDatabase } from '../databases.js';
import { chatInput, chatOutput, TraceSpans } from '../data.js';
import { numbered, openRaw, type RawDatabase } from '../floor.js';
import { percentile } from '../measure.js';
import { CREATE_SPAN, CREATE_SPANS } from '../operations.js';
import { record } from '../report.js';
import type { Sizes } from '../sizes.js';
import { KEY, withSpantree, type Spantree } from '../spantree.js';
import { rootSpan } from './explorer.js';

/** The explorer's page size (src/web/components/Explorer.tsx); the floor lists as many. */
const PAGE = 50;
const TREE_TRACE = 'browser-tree';
/** The large running trace and the small one it is compared with (4 and 5). */
const BIG_TRACE = 'browser-big';
const SMALL_TRACE = 'browser-small';
/** Spans per createSpans call (the server's MAX_BATCH_SPANS, 1,000 by default). */
const BATCH = 1000;
const LIVE_TRACE = 'browser-live';
const FLOOR_LIVE_TRACE = 'browser-live-floor';
const DAY = 86_400_000;
/** Both sides' pages are this size (test/helpers/browser.ts' openPage). */
const VIEWPORT = { width: 1400, height: 900 };
/** The longest one page load or one live row may take before the run stops: a broken side, not a slow one. */
const WAIT_MS = 60_000;

/** Stable hooks of the UI (src/web/components): explorer rows, span rows, the header's span count. */
const SELECTORS = { traceRow: '[data-trace-id]', spanRow: '[data-span-id]', spanCount: '[data-testid="span-count"]' };

export async function browser(databases: BenchDatabase, sizes: Sizes['browser']) {
  const db = await databases.fresh('browser');
  try {
    await withSpantree(db, async (spantree) => {
      await seed(spantree, sizes);
      const raw = openRaw(spantree.databaseUrl);
      const floor = await startBrowserFloor(raw, spantree.projectId);
      const chromium = await launchChromium();
      try {
        const spantreeOrigin = new URL(spantree.url).origin;
        const label = `${sizes.traces.toLocaleString('en-US')} traces`;
        const expectedCount = sizes.treeSpans.toLocaleString('en');
        const sides = {
          spantree: await watchedContext(chromium, expectedCount),
          floor: await watchedContext(chromium, expectedCount),
        };

        // 1. The explorer's first row.
        const explorer = await alternateLoads(sizes.loads, [
          () => load(sides.spantree, `${spantreeOrigin}/`, 'firstRow'),
          () => load(sides.floor, `${floor.origin}/`, 'firstRow'),
        ]);
        if (explorer[0]!.firstIds[0] !== explorer[1]!.firstIds[0]) {
          throw new Error(`browser (explorer): Spantree's first row ${explorer[0]!.firstIds[0]} and the floor's ${explorer[1]!.firstIds[0]} differ`);
        }
        recordLoads(databases.provider, `browser: explorer at /, ${label}, goto to first row visible, p50`, explorer, 'static page, raw SQL JSON (node:http)', sizes.loads);

        // 2. The 5,000-span trace.
        const tree = await alternateLoads(sizes.loads, [
          () => load(sides.spantree, `${spantreeOrigin}/traces/${TREE_TRACE}`, 'tree'),
          () => load(sides.floor, `${floor.origin}/traces/${TREE_TRACE}`, 'tree'),
        ]);
        recordLoads(
          databases.provider,
          `browser: ${expectedCount}-span trace at /traces/:id, goto to rows and span count shown, p50`,
          tree,
          'static page, raw SQL JSON, plain DOM window (node:http)',
          sizes.loads,
        );
        const domRows = Math.max(...tree[0]!.domRows);
        record({
          database: databases.provider,
          workload: `browser: ${expectedCount}-span trace, span rows in the DOM (windowing)`,
          value: domRows,
          unit: 'rows',
          baseline: 'spans in the trace',
          baselineValue: sizes.treeSpans,
          // A window of a screen or two: 100 rows is three screens of 30-pixel rows.
          target: { op: '<=', ratio: 100 / sizes.treeSpans },
          details: { floorDomRows: Math.max(...tree[1]!.domRows), viewport: `${VIEWPORT.width}x${VIEWPORT.height}` },
        });

        // 3. A live span, write to screen.
        await liveLatency(databases.provider, sizes.liveWrites, spantree, spantreeOrigin, floor, sides);

        // 4 and 5. The large running trace against the small one.
        await largeTraceView(databases.provider, sizes, spantree, spantreeOrigin, chromium);
      } finally {
        await chromium.close();
        await floor.stop();
        await raw.close();
      }
    });
  } finally {
    await db.drop();
  }
}

// ---------------------------------------------------------------------------------------------
// Data

/** Root of the live trace: running, an hour old, so the trace view shows it live. */
const liveStart = () => Date.now() - 3_600_000;

/**
 * The explorer workload's traces (one span each, 30 days of them), the 5,000-span trace (older than
 * all of them, so the explorer's first page is the same on both sides), and the live trace's root.
 */
async function seed(spantree: Spantree, sizes: Sizes['browser']) {
  for (let i = 0; i < sizes.traces; i += 1000) {
    await spantree.gql(CREATE_SPANS, { input: Array.from({ length: Math.min(1000, sizes.traces - i) }, (_, j) => rootSpan(i + j)) });
  }
  const tree = new TraceSpans(TREE_TRACE, 4, Date.parse('2026-11-24T09:00:00.000Z') - 40 * DAY);
  for (let i = 0; i < sizes.treeSpans; i += 1000) await spantree.gql(CREATE_SPANS, { input: tree.take(Math.min(1000, sizes.treeSpans - i)) });
  await spantree.gql(CREATE_SPAN, {
    input: { id: `${LIVE_TRACE}.root`, traceId: LIVE_TRACE, name: 'live-agent', type: 'AGENT', startTime: new Date(liveStart()).toISOString() },
  });
  for (const [traceId, count] of [
    [BIG_TRACE, sizes.largeTraceSpans],
    [SMALL_TRACE, sizes.smallTraceSpans],
  ] as const) {
    const spans = runningTrace(traceId, count);
    for (let i = 0; i < spans.length; i += 4 * BATCH) {
      await Promise.all([0, 1, 2, 3].map((j) => spans.slice(i + j * BATCH, i + (j + 1) * BATCH)).filter((batch) => batch.length).map((batch) => spantree.gql(CREATE_SPANS, { input: batch })));
    }
  }
}

/**
 * A running agent trace of `count` spans, as SDKs write one: its root still open, then steps of ten
 * spans (the step, generations, tools and what a tool retrieved), ended, each with a 500-byte input
 * and output, 10 ms apart from an hour ago (so live spans written now start after all of them).
 */
function runningTrace(traceId: string, count: number): Record<string, unknown>[] {
  const start = liveStart();
  const iso = (k: number, plus = 0) => new Date(start + k * 10 + plus).toISOString();
  const spans: Record<string, unknown>[] = [{ id: `${traceId}.root`, traceId, name: 'long-agent', type: 'AGENT', startTime: iso(0) }];
  const shape = ['GENERATION', 'TOOL', 'RETRIEVAL', 'GENERATION', 'TOOL', 'GENERATION', 'FUNCTION', 'TOOL', 'GENERATION'] as const;
  for (let step = 0; spans.length < count; step++) {
    const stepId = `${traceId}.s${step}`;
    const k = spans.length;
    spans.push({ id: stepId, traceId, parentId: `${traceId}.root`, name: `step-${step}`, type: 'AGENT', startTime: iso(k), endTime: iso(k + 9, 5) });
    for (const [j, type] of shape.entries()) {
      if (spans.length >= count) break;
      const n = spans.length;
      // What a tool retrieved sits under the tool.
      const parentId = type === 'RETRIEVAL' ? `${stepId}.${j - 1}` : stepId;
      const span: Record<string, unknown> = { id: `${stepId}.${j}`, traceId, parentId, name: `${type.toLowerCase()}-${j}`, type, startTime: iso(n), endTime: iso(n, 8), input: chatInput(n), output: chatOutput(n) };
      if (type === 'GENERATION') Object.assign(span, { model: 'gpt-5-mini', inputTokens: 812, outputTokens: 64, cost: 0.00093 });
      spans.push(span);
    }
  }
  return spans;
}

/**
 * Live span k, a child of the live root that starts before the ones written earlier: children are
 * drawn in start order, so each new row lands right under the root, on screen, on both sides.
 */
function liveSpan(traceId: string, start: number, k: number) {
  return { id: `${traceId}.s${k}`, traceId, parentId: `${traceId}.root`, name: `tool-call-${k}`, type: 'TOOL', startTime: new Date(start + (10_000 - k) * 10).toISOString() };
}

// ---------------------------------------------------------------------------------------------
// Page loads (1 and 2)

interface Side {
  context: BrowserContext;
}

/**
 * Spantree's pages find the benchmark's key in the browser's storage, as a returning user's do (no
 * page carries a key; a first visit would come through the login link). The floor's pages ignore it.
 */
async function signedIn(context: BrowserContext): Promise<void> {
  await context.addInitScript((key) => {
    try {
      localStorage.setItem('spantree.apiKey', key);
    } catch {
      // An opaque origin (about:blank) has no storage.
    }
  }, KEY);
}

/**
 * A browser context (its own cache: the first load of each side fills it, later ones are a returning
 * visitor's) whose pages note, from navigation start, when the first explorer row is visible and when
 * the tree shows a span row and the expected span count.
 */
async function watchedContext(chromiumBrowser: Browser, expectedCount: string): Promise<Side> {
  const context = await chromiumBrowser.newContext({ viewport: VIEWPORT });
  // tsx compiles with esbuild's keepNames: the functions below, sent to the page, call its __name.
  await context.addInitScript({ content: 'globalThis.__name = (target) => target;' });
  await signedIn(context);
  await context.addInitScript(
    ({ selectors, expectedCount }) => {
      const w = window as unknown as { __firstRowAt?: number; __treeAt?: number };
      const visible = (element: Element | null) => !!element && element.getBoundingClientRect().height > 0;
      const check = () => {
        const now = performance.now();
        if (w.__firstRowAt === undefined && visible(document.querySelector(selectors.traceRow))) w.__firstRowAt = now;
        if (w.__treeAt === undefined && document.querySelector(selectors.spanCount)?.textContent === expectedCount && visible(document.querySelector(selectors.spanRow))) w.__treeAt = now;
      };
      new MutationObserver(check).observe(document, { childList: true, subtree: true, characterData: true });
    },
    { selectors: SELECTORS, expectedCount },
  );
  return { context };
}

interface Loads {
  /** ms from navigation start to the condition, in the page. */
  inPage: number[];
  /** ms from just before page.goto to Node seeing the condition (adds polling and CDP round trips). */
  fromNode: number[];
  firstIds: (string | null)[];
  domRows: number[];
  /** ms of the page's longest fetch (its data request), from Resource Timing. */
  slowestFetch: number[];
}

async function load(side: Side, url: string, what: 'firstRow' | 'tree'): Promise<{ inPage: number; fromNode: number; firstId: string | null; domRows: number; slowestFetch: number }> {
  const page = await side.context.newPage();
  try {
    const began = performance.now();
    await page.goto(url, { waitUntil: 'commit', timeout: WAIT_MS });
    const mark = what === 'firstRow' ? '__firstRowAt' : '__treeAt';
    const handle = await page.waitForFunction((name) => (window as unknown as Record<string, number | undefined>)[name], mark, { timeout: WAIT_MS });
    const fromNode = performance.now() - began;
    const inPage = (await handle.jsonValue()) as number;
    const [firstId, domRows, slowestFetch] = await page.evaluate(
      (selectors) =>
        [
          document.querySelector(selectors.traceRow)?.getAttribute('data-trace-id') ?? null,
          document.querySelectorAll(selectors.spanRow).length,
          // The page's longest data request (GraphQL on one side, the JSON route on the other): how much of the wait is the server's.
          Math.max(0, ...performance.getEntriesByType('resource').flatMap((entry) => ((entry as PerformanceResourceTiming).initiatorType === 'fetch' ? [entry.duration] : []))),
        ] as const,
      SELECTORS,
    );
    return { inPage, fromNode, firstId, domRows, slowestFetch };
  } finally {
    await page.close();
  }
}

/** One unmeasured load per side (cache, JIT, connections), then `loads` rounds alternating the sides. */
async function alternateLoads(loads: number, sides: (() => ReturnType<typeof load>)[]): Promise<Loads[]> {
  const results = sides.map((): Loads => ({ inPage: [], fromNode: [], firstIds: [], domRows: [], slowestFetch: [] }));
  for (const side of sides) await side();
  for (let round = 0; round < loads; round++) {
    for (const [i, side] of sides.entries()) {
      const one = await side();
      results[i]!.inPage.push(one.inPage);
      results[i]!.fromNode.push(one.fromNode);
      results[i]!.firstIds.push(one.firstId);
      results[i]!.domRows.push(one.domRows);
      results[i]!.slowestFetch.push(one.slowestFetch);
    }
  }
  return results;
}

function recordLoads(provider: string, workload: string, [mine, floors]: Loads[], baseline: string, loads: number) {
  record({
    database: provider,
    workload,
    value: percentile(mine!.inPage, 50),
    unit: 'ms',
    baseline,
    baselineValue: percentile(floors!.inPage, 50),
    target: { op: '<=', ratio: 2 },
    details: {
      p95: percentile(mine!.inPage, 95),
      floorP95: percentile(floors!.inPage, 95),
      gotoToSeenFromNodeP50: percentile(mine!.fromNode, 50),
      floorGotoToSeenFromNodeP50: percentile(floors!.fromNode, 50),
      slowestFetchP50: percentile(mine!.slowestFetch, 50),
      floorSlowestFetchP50: percentile(floors!.slowestFetch, 50),
      loads,
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Live span (3)

/** In the page: when each span row first entered the document, on the clock Node reads too. */
function installRowWatch(page: Page) {
  return page.evaluate((selector) => {
    const seen: Record<string, number> = {};
    (window as unknown as { __seen: typeof seen }).__seen = seen;
    const note = (element: Element, at: number) => {
      const id = element.getAttribute('data-span-id');
      if (id && !(id in seen)) seen[id] = at;
    };
    new MutationObserver((mutations) => {
      const at = performance.timeOrigin + performance.now();
      for (const mutation of mutations) {
        for (const node of mutation.addedNodes) {
          if (!(node instanceof Element)) continue;
          if (node.matches(selector)) note(node, at);
          for (const inner of node.querySelectorAll(selector)) note(inner, at);
        }
      }
    }).observe(document.body, { childList: true, subtree: true });
  }, SELECTORS.spanRow);
}

/** The page's clock against Node's: how far the page's reading falls outside Node's before/after (0: inside). */
async function clockSkew(page: Page): Promise<number> {
  const before = performance.timeOrigin + performance.now();
  const inPage = await page.evaluate(() => performance.timeOrigin + performance.now());
  const after = performance.timeOrigin + performance.now();
  return inPage < before ? before - inPage : inPage > after ? inPage - after : 0;
}

async function seenAt(page: Page, id: string): Promise<number> {
  const handle = await page.waitForFunction((spanId) => (window as unknown as { __seen: Record<string, number> }).__seen[spanId], id, { timeout: WAIT_MS });
  return (await handle.jsonValue()) as number;
}

async function liveLatency(provider: string, writes: number, spantree: Spantree, spantreeOrigin: string, floor: BrowserFloor, sides: { spantree: Side; floor: Side }) {
  const mine = await sides.spantree.context.newPage();
  const floors = await sides.floor.context.newPage();
  try {
    await mine.goto(`${spantreeOrigin}/traces/${LIVE_TRACE}`, { timeout: WAIT_MS });
    await mine.locator(`[data-span-id="${LIVE_TRACE}.root"]`).waitFor({ timeout: WAIT_MS });
    await floors.goto(`${floor.origin}/live/${FLOOR_LIVE_TRACE}`, { timeout: WAIT_MS });
    await floors.waitForFunction(() => (window as unknown as { __ready?: boolean }).__ready, undefined, { timeout: WAIT_MS });
    await installRowWatch(mine);
    await installRowWatch(floors);
    const skew = Math.max(await clockSkew(mine), await clockSkew(floors));
    if (skew > 5) throw new Error(`browser (live): the page's clock is ${skew.toFixed(1)} ms off Node's; write-to-screen times would be wrong`);

    const start = liveStart();
    const spantreeWrite = async (k: number) => {
      const span = liveSpan(LIVE_TRACE, start, k);
      const began = performance.timeOrigin + performance.now();
      const write = spantree.gql(CREATE_SPAN, { input: span });
      const at = await seenAt(mine, span.id);
      await write;
      return at - began;
    };
    const floorWrite = async (k: number) => {
      const span = liveSpan(FLOOR_LIVE_TRACE, start, k);
      const began = performance.timeOrigin + performance.now();
      await floor.insertAndBroadcast(span);
      return (await seenAt(floors, span.id)) - began;
    };
    // Span 0 on each side is the warm-up: the subscription is live once it has arrived.
    await spantreeWrite(0);
    await floorWrite(0);
    const latencies: number[][] = [[], []];
    for (let k = 1; k <= writes; k++) {
      latencies[0]!.push(await spantreeWrite(k));
      latencies[1]!.push(await floorWrite(k));
    }
    for (const p of [50, 95]) {
      record({
        database: provider,
        workload: `browser: live span at /traces/:id, createSpan to its row in the page, p${p}`,
        value: percentile(latencies[0]!, p),
        unit: 'ms',
        baseline: 'raw SQL insert + raw ws broadcast, row appended by a plain page',
        baselineValue: percentile(latencies[1]!, p),
        target: p === 50 ? { op: '<=', ratio: 2 } : null,
        details: { writes, max: Math.max(...latencies[0]!), floorMax: Math.max(...latencies[1]!), clockSkewMs: skew },
      });
    }
  } finally {
    await mine.close();
    await floors.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The large running trace (4 and 5)

/**
 * A browser context whose pages note, from navigation start, when a span row is first on screen
 * (`__firstSpanAt`), and, on the clock Node reads too, when each span row is first inside the tree's
 * scrolling box (`__onScreen`): checked on every change to the document and every scroll.
 */
async function onScreenContext(chromiumBrowser: Browser): Promise<BrowserContext> {
  const context = await chromiumBrowser.newContext({ viewport: VIEWPORT });
  await context.addInitScript({ content: 'globalThis.__name = (target) => target;' });
  await signedIn(context);
  await context.addInitScript((selector) => {
    const w = window as unknown as { __firstSpanAt?: number; __onScreen: Record<string, number> };
    w.__onScreen = {};
    const check = () => {
      const box = document.querySelector('.span-scroll')?.getBoundingClientRect();
      if (!box) return;
      const now = performance.now();
      for (const row of document.querySelectorAll(selector)) {
        const id = row.getAttribute('data-span-id')!;
        if (id in w.__onScreen) continue;
        const rect = row.getBoundingClientRect();
        if (rect.height > 0 && rect.top >= box.top - 1 && rect.bottom <= box.bottom + 1) {
          w.__onScreen[id] = performance.timeOrigin + now;
          w.__firstSpanAt ??= now;
        }
      }
    };
    new MutationObserver(check).observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['style'] });
    document.addEventListener('scroll', check, true);
  }, SELECTORS.spanRow);
  return context;
}

/** Loads `url` and returns ms from navigation start to the first span row on screen, in the page. */
async function firstRowsLoad(context: BrowserContext, url: string): Promise<number> {
  const page = await context.newPage();
  try {
    await page.goto(url, { waitUntil: 'commit', timeout: WAIT_MS });
    const handle = await page.waitForFunction(() => (window as unknown as { __firstSpanAt?: number }).__firstSpanAt, undefined, { timeout: WAIT_MS });
    return (await handle.jsonValue()) as number;
  } finally {
    await page.close();
  }
}

async function onScreenAt(page: Page, id: string): Promise<number> {
  const handle = await page.waitForFunction((spanId) => (window as unknown as { __onScreen: Record<string, number> }).__onScreen[spanId], id, { timeout: WAIT_MS });
  return (await handle.jsonValue()) as number;
}

let lateSpans = 0;
/** A span under the trace's root, starting now: after every other, so it is the tree's last row. */
function lateSpan(traceId: string) {
  const k = lateSpans++;
  return { id: `${traceId}.late${k}`, traceId, parentId: `${traceId}.root`, name: `late-tool-${k}`, type: 'TOOL', startTime: new Date().toISOString() };
}

async function largeTraceView(provider: string, sizes: Sizes['browser'], spantree: Spantree, origin: string, chromiumBrowser: Browser) {
  const context = await onScreenContext(chromiumBrowser);
  try {
    const big = `${sizes.largeTraceSpans.toLocaleString('en-US')}-span`;
    const small = `${sizes.smallTraceSpans.toLocaleString('en-US')}-span`;
    const url = (traceId: string) => `${origin}/traces/${traceId}`;
    // The first load of each: the server has no snapshot of the trace yet (informational).
    const firstEver = [await firstRowsLoad(context, url(BIG_TRACE)), await firstRowsLoad(context, url(SMALL_TRACE))];
    // The snapshot kept: a page opened again while the trace has not changed.
    const warm: number[][] = [[], []];
    // Right after a write to the trace: a new snapshot, worked out from the last one.
    const written: number[][] = [[], []];
    for (let round = 0; round < sizes.loads; round++) {
      for (const [side, traceId] of [BIG_TRACE, SMALL_TRACE].entries()) {
        warm[side]!.push(await firstRowsLoad(context, url(traceId)));
        await spantree.gql(CREATE_SPAN, { input: { ...lateSpan(traceId), endTime: new Date().toISOString() } });
        written[side]!.push(await firstRowsLoad(context, url(traceId)));
      }
    }
    const details = { loads: sizes.loads, firstEverBig: firstEver[0]!, firstEverSmall: firstEver[1]!, viewport: `${VIEWPORT.width}x${VIEWPORT.height}` };
    for (const [what, samples] of [
      ['snapshot kept', warm],
      ['right after a write', written],
    ] as const) {
      const value = percentile(samples[0]!, 50);
      record({
        database: provider,
        workload: `browser: ${big} running trace at /traces/:id (${what}), goto to first span row on screen, p50`,
        value,
        unit: 'ms',
        baseline: `the same for a ${small} running trace`,
        baselineValue: percentile(samples[1]!, 50),
        target: { op: '<=', ratio: 2 },
        details: { ...details, p95: percentile(samples[0]!, 95), smallP95: percentile(samples[1]!, 95) },
      });
      record({
        database: provider,
        workload: `browser: ${big} running trace at /traces/:id (${what}), goto to first span row on screen, p95`,
        value: percentile(samples[0]!, 95),
        unit: 'ms',
        baseline: "the issue's bound (idle machine)",
        baselineValue: 1000,
        target: { op: '<', ratio: 1 },
        details,
      });
    }

    // 5. Live spans with Follow on: each page open on its trace, following (the default while it runs).
    const pages = [await context.newPage(), await context.newPage()];
    try {
      for (const [side, traceId] of [BIG_TRACE, SMALL_TRACE].entries()) {
        const page = pages[side]!;
        await page.goto(url(traceId), { timeout: WAIT_MS });
        await page.locator(`[data-span-id="${traceId}.root"]`).waitFor({ timeout: WAIT_MS });
        await page.locator('[data-testid="follow"][aria-pressed="true"]').waitFor({ timeout: WAIT_MS });
      }
      const skew = Math.max(await clockSkew(pages[0]!), await clockSkew(pages[1]!));
      if (skew > 5) throw new Error(`browser (large trace): the page's clock is ${skew.toFixed(1)} ms off Node's; write-to-screen times would be wrong`);
      const write = async (side: number) => {
        const traceId = side === 0 ? BIG_TRACE : SMALL_TRACE;
        const span = lateSpan(traceId);
        const began = performance.timeOrigin + performance.now();
        const done = spantree.gql(CREATE_SPAN, { input: span });
        const at = await onScreenAt(pages[side]!, span.id);
        await done;
        return at - began;
      };
      // One unmeasured write each: the subscription is live once it has arrived.
      await write(0);
      await write(1);
      const latencies: number[][] = [[], []];
      for (let k = 0; k < sizes.liveWrites; k++) {
        latencies[0]!.push(await write(0));
        latencies[1]!.push(await write(1));
      }
      const followed = await pages[0]!.getByTestId('follow').getAttribute('aria-pressed');
      if (followed !== 'true') throw new Error('browser (large trace): Follow turned itself off');
      record({
        database: provider,
        workload: `browser: live span in a ${big} running trace, Follow on, createSpan to its row on screen, p50`,
        value: percentile(latencies[0]!, 50),
        unit: 'ms',
        baseline: `the same in a ${small} running trace`,
        baselineValue: percentile(latencies[1]!, 50),
        target: { op: '<=', ratio: 2 },
        details: { writes: sizes.liveWrites, p95: percentile(latencies[0]!, 95), smallP95: percentile(latencies[1]!, 95), clockSkewMs: skew },
      });
      record({
        database: provider,
        workload: `browser: live span in a ${big} running trace, Follow on, createSpan to its row on screen, max`,
        value: Math.max(...latencies[0]!),
        unit: 'ms',
        baseline: "the issue's bound",
        baselineValue: 1000,
        target: { op: '<', ratio: 1 },
        details: { writes: sizes.liveWrites, smallMax: Math.max(...latencies[1]!) },
      });
    } finally {
      for (const page of pages) await page.close();
    }
  } finally {
    await context.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The floor

interface BrowserFloor {
  /** http://127.0.0.1:port */
  origin: string;
  /** Inserts the span with raw SQL, then sends it to every open socket. */
  insertAndBroadcast(span: ReturnType<typeof liveSpan>): Promise<void>;
  stop(): Promise<void>;
}

/** The explorer row's columns, as Spantree's explorer query selects them (less `stale`, derived). */
const TRACE_COLUMNS = ['id', 'name', 'status', 'startTime', 'durationMs', 'spanCount', 'errorCount', 'composition', 'cost', 'totalTokens', 'inputPreview', 'outputPreview', 'tags', 'sessionId'];
/** The tree row's columns (src/web/components/spans.ts' SPAN_ROW_FIELDS, less startOffsetMs, derived in the page). */
const SPAN_COLUMNS = ['id', 'parentId', 'name', 'type', 'startTime', 'endTime', 'durationMs', 'error', 'model', 'totalTokens', 'cost'];
const columns = (names: string[]) => names.map((name) => `"${name}"`).join(', ');
const iso = (value: unknown) => (value === null || value === undefined ? null : new Date(value as string | Date).toISOString());
const parsed = (value: unknown) => (typeof value === 'string' ? JSON.parse(value) : value);

async function startBrowserFloor(raw: RawDatabase, projectId: string): Promise<BrowserFloor> {
  const sqlite = raw.provider === 'sqlite';
  const stored = (date: string) => (sqlite ? date.replace('Z', '+00:00') : date);
  const run = async (sql: string, params: unknown[]) => {
    if (raw.sqlite) raw.sqlite.prepare(sql).run(...params);
    else await raw.pool!.query(numbered(sql), params);
  };
  const json = (response: ServerResponse, body: unknown) => void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const html = (response: ServerResponse, body: string) => void response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);

  const routes: [RegExp, (match: RegExpExecArray, response: ServerResponse) => Promise<void> | void][] = [
    [/^\/$/, (_, response) => html(response, EXPLORER_PAGE)],
    [/^\/traces\/[^/]+$/, (_, response) => html(response, TREE_PAGE)],
    [/^\/live\/[^/]+$/, (_, response) => html(response, LIVE_PAGE)],
    [
      /^\/api\/traces$/,
      async (_, response) => {
        const rows = await raw.all(`SELECT ${columns(TRACE_COLUMNS)} FROM "Trace" WHERE "projectId" = ? ORDER BY "startTime" DESC, "id" DESC LIMIT ${PAGE}`, [projectId]);
        json(response, rows.map((row) => ({ ...row, startTime: iso(row.startTime), composition: parsed(row.composition), tags: parsed(row.tags) })));
      },
    ],
    [
      /^\/api\/traces\/([^/]+)\/spans$/,
      async (match, response) => {
        const rows = await raw.all(`SELECT ${columns(SPAN_COLUMNS)} FROM "Span" WHERE "projectId" = ? AND "traceId" = ? ORDER BY "startTime", "id"`, [projectId, decodeURIComponent(match[1]!)]);
        json(response, rows.map((row) => ({ ...row, startTime: iso(row.startTime), endTime: iso(row.endTime) })));
      },
    ],
  ];
  const server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    try {
      const path = (request.url ?? '/').split('?')[0]!;
      for (const [pattern, handle] of routes) {
        const match = pattern.exec(path);
        if (match) return await handle(match, response);
      }
      response.writeHead(404).end();
    } catch (error) {
      response.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
    }
  });
  const sockets = new WebSocketServer({ server, path: '/ws' });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  // The floor's live trace row, as the ingest floor writes one (bench/workloads/ingest.ts).
  const now = new Date().toISOString();
  await run(
    `INSERT INTO "Trace" ("projectId", "id", "name", "status", "startTime", "composition", "tags", "createdAt", "updatedAt") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [projectId, FLOOR_LIVE_TRACE, '', 'RUNNING', stored(new Date(liveStart()).toISOString()), '{}', '[]', stored(now), stored(now)],
  );
  const insertSpan = `INSERT INTO "Span" ("projectId", "id", "traceId", "parentId", "name", "type", "startTime", "tags", "seq", "ingestHash", "createdAt", "updatedAt") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

  return {
    origin: `http://127.0.0.1:${port}`,
    async insertAndBroadcast(span) {
      const at = new Date().toISOString();
      // No parent row in the floor's trace: the parent id is sent, not stored (no foreign key to satisfy).
      await run(insertSpan, [projectId, span.id, span.traceId, null, span.name, span.type, stored(span.startTime), '[]', 0, '', stored(at), stored(at)]);
      const message = JSON.stringify({ ...span, endTime: null, durationMs: null, error: null, model: null, totalTokens: null, cost: null });
      for (const socket of sockets.clients) socket.send(message);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets.clients) socket.terminate();
        sockets.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// The floor's pages: plain HTML, inline script, plain DOM. Each shows what the matching Spantree view
// shows of a row (no filters, no live updates on 1 and 2), with as little code as that takes.

const STYLE = `<style>
body { font: 13px system-ui, sans-serif; margin: 0; }
.row { display: grid; grid-template-columns: 16px 150px 1fr 2fr 80px 80px 80px; gap: 8px; padding: 6px 12px; border-bottom: 1px solid #ddd; color: inherit; text-decoration: none; }
.head { padding: 12px; border-bottom: 1px solid #ccc; }
#scroll { position: relative; overflow-y: auto; height: calc(100vh - 60px); }
.span { position: absolute; left: 0; right: 0; height: 30px; display: grid; grid-template-columns: 1fr 80px 40%; align-items: center; border-bottom: 1px solid #eee; }
.bar { position: relative; height: 10px; background: #9bd; }
</style>`;

const EXPLORER_PAGE = `<!doctype html><meta charset="utf-8"><title>floor: traces</title>${STYLE}
<div class="head">Traces</div><div id="rows"></div>
<script>
fetch('/api/traces').then((r) => r.json()).then((traces) => {
  const rows = document.getElementById('rows');
  for (const t of traces) {
    const row = document.createElement('a');
    row.className = 'row';
    row.href = '/traces/' + encodeURIComponent(t.id);
    row.dataset.traceId = t.id;
    const steps = Object.entries(t.composition || {}).map(([type, n]) => n + ' ' + type.toLowerCase()).join(' · ');
    for (const text of [t.status === 'ERROR' ? '●' : '○', new Date(t.startTime).toLocaleString(), t.name + ' · ' + t.spanCount + ' steps ' + steps,
        (t.inputPreview || '—') + ' → ' + (t.outputPreview || '—'), t.durationMs === null ? '…' : t.durationMs + ' ms', String(t.totalTokens), '$' + t.cost.toFixed(4)]) {
      const cell = document.createElement('span');
      cell.textContent = text;
      row.appendChild(cell);
    }
    rows.appendChild(row);
  }
});
</script>`;

const TREE_PAGE = `<!doctype html><meta charset="utf-8"><title>floor: trace</title>${STYLE}
<div class="head">spans <span data-testid="span-count"></span></div><div id="scroll"><div id="space"></div></div>
<script>
const id = decodeURIComponent(location.pathname.split('/')[2]);
fetch('/api/traces/' + encodeURIComponent(id) + '/spans').then((r) => r.json()).then((spans) => {
  // Depth-first, children in start order (the rows come sorted by start).
  const children = new Map();
  const known = new Set(spans.map((s) => s.id));
  for (const s of spans) {
    const parent = s.parentId && known.has(s.parentId) ? s.parentId : null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(s);
  }
  const rows = [];
  const stack = (children.get(null) || []).map((span) => ({ span, depth: 0 })).reverse();
  while (stack.length) {
    const { span, depth } = stack.pop();
    rows.push({ span, depth });
    const under = children.get(span.id) || [];
    for (let i = under.length - 1; i >= 0; i--) stack.push({ span: under[i], depth: depth + 1 });
  }
  const start = Math.min(...spans.map((s) => Date.parse(s.startTime)));
  const end = Math.max(...spans.map((s) => Date.parse(s.endTime || s.startTime)));
  const scroll = document.getElementById('scroll');
  const space = document.getElementById('space');
  space.style.height = rows.length * 30 + 'px';
  document.querySelector('[data-testid="span-count"]').textContent = spans.length.toLocaleString('en');
  const draw = () => {
    const first = Math.floor(scroll.scrollTop / 30);
    const last = Math.min(rows.length, Math.ceil((scroll.scrollTop + scroll.clientHeight) / 30));
    space.textContent = '';
    for (let i = first; i < last; i++) {
      const { span, depth } = rows[i];
      const row = document.createElement('div');
      row.className = 'span';
      row.dataset.spanId = span.id;
      row.style.top = i * 30 + 'px';
      const name = document.createElement('span');
      name.style.paddingLeft = depth * 16 + 'px';
      name.textContent = span.type + ' ' + span.name;
      const duration = document.createElement('span');
      duration.textContent = span.durationMs === null ? '…' : span.durationMs + ' ms';
      const timeline = document.createElement('span');
      const bar = document.createElement('span');
      bar.className = 'bar';
      bar.style.display = 'block';
      bar.style.marginLeft = ((Date.parse(span.startTime) - start) / (end - start || 1)) * 100 + '%';
      bar.style.width = Math.max(0.3, ((span.durationMs || 0) / (end - start || 1)) * 100) + '%';
      timeline.appendChild(bar);
      row.append(name, duration, timeline);
      space.appendChild(row);
    }
  };
  scroll.addEventListener('scroll', draw);
  draw();
});
</script>`;

const LIVE_PAGE = `<!doctype html><meta charset="utf-8"><title>floor: live</title>${STYLE}
<div class="head">live spans</div><div id="rows"></div>
<script>
const rows = document.getElementById('rows');
const socket = new WebSocket('ws://' + location.host + '/ws');
socket.onopen = () => { window.__ready = true; };
socket.onmessage = (event) => {
  const span = JSON.parse(event.data);
  const row = document.createElement('div');
  row.className = 'row';
  row.dataset.spanId = span.id;
  row.textContent = span.type + ' ' + span.name + ' (running)';
  // Newest first, as the span lands right under the root in Spantree's tree.
  rows.prepend(row);
};
</script>`;
