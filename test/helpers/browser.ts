/**
 * A real browser for the UI tests: Debian's Chromium (installed by .ci/run), driven by playwright-core,
 * headless, with every request that leaves the server under test refused, so a page that would need
 * the internet (a CDN, a font service) fails here as it would offline.
 */
import { afterAll, beforeAll } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../scripts/chromium.js';

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
