/**
 * Debian's Chromium, as the browser tests, the browser benchmark and the screenshots drive it through
 * playwright-core (never a downloaded browser): headless, no sandbox (CI runs as root), and no
 * background networking, which this machine's closed network would refuse many times a start.
 */
import { chromium, type Browser } from 'playwright-core';

/** Where Debian installs it (.ci/run does); SPANTREE_TEST_CHROMIUM names another. */
export const CHROMIUM = process.env.SPANTREE_TEST_CHROMIUM ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
