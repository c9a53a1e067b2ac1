/**
 * A real browser for the UI tests: Debian's Chromium (installed by .ci/run), driven by playwright-core,
 * headless, with every request that leaves the server under test refused, so a page that would need
 * the internet (a CDN, a font service) fails here as it would offline.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../scripts/chromium.js';
import { TEST_API_KEY } from './server.js';

export { launchChromium };

export interface OpenPage {
  page: Page;
  context: BrowserContext;
  /** Requests the page tried to send anywhere but `origin` (refused). */
  outside: string[];
  /** Errors the page threw or logged to its console. */
  errors: string[];
}

/**
 * A fresh browser context (its own storage) whose requests may reach `origin` only; the rest are
 * aborted and recorded, so a test can assert that the page asked for nothing outside the server.
 */
export async function openPage(browser: Browser, origin: string, options: { permissions?: string[] } = {}): Promise<OpenPage> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  if (options.permissions) await context.grantPermissions(options.permissions, { origin });
  const outside: string[] = [];
  const errors: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith(origin.replace(/^http/, 'ws')) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
    outside.push(url);
    return route.abort('internetdisconnected');
  });
  const page = await context.newPage();
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  return { page, context, outside, errors };
}

/** One browser for the whole file, closed afterwards. */
export function useBrowser(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (!browser) throw new Error('The browser has not started');
    return browser;
  };
}

export interface PageOptions {
  permissions?: string[];
  /**
   * An API key the page finds in its storage, as if the user had entered it before. Without one the
   * page is opened with the login link of the suite's key (`#key=`), as an operator opens the link
   * the server prints; with `signedOut`, with no key at all.
   */
  key?: string;
  signedOut?: boolean;
  /** Runs before the page loads (a request to hold back, a script to add). */
  init?: (page: Page) => Promise<unknown>;
}

/** `path` with the suite's key in its fragment, as the login link the server prints carries a key. */
export function loginPath(path: string, key = TEST_API_KEY): string {
  return `${path}#key=${encodeURIComponent(key)}`;
}

/**
 * Opens `path` of the server at `origin()` in a fresh context (see openPage), closed after the test
 * that opened it.
 */
export function usePages(browser: () => Browser, origin: () => string): (path: string, options?: PageOptions) => Promise<OpenPage> {
  let opened: OpenPage[] = [];
  afterEach(async () => {
    for (const { context } of opened) await context.close();
    opened = [];
  });
  return async (path, { permissions, key, signedOut, init } = {}) => {
    const page = await openPage(browser(), origin(), { permissions });
    opened.push(page);
    if (key) await page.page.addInitScript((stored) => localStorage.setItem('spantree.apiKey', stored), key);
    await init?.(page.page);
    await page.page.goto(origin() + (key || signedOut ? path : loginPath(path)));
    return page;
  };
}
