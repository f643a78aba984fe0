import fs from 'node:fs';
import { after } from 'node:test';
import type { Browser } from 'playwright-core';

/** Debian's `chromium` package; the machine cannot download Playwright's own browser builds. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Why a browser test cannot run here, or undefined when it can. BBM_SKIP_BROWSER=1 skips
 * deliberately. Without Chromium the test is skipped, reported as skipped with the way to run it,
 * so `npm test` on a fresh machine with only Node and Go passes; BBM_REQUIRE_BROWSER=1 (which
 * .ci/run sets once Chromium is there) makes a missing browser a failure instead.
 */
export function browserSkipReason(): string | undefined {
  if (process.env.BBM_SKIP_BROWSER === '1') return 'BBM_SKIP_BROWSER=1: browser tests skipped';
  if (process.env.BBM_REQUIRE_BROWSER !== '1' && !fs.existsSync(CHROMIUM_PATH))
    return `${CHROMIUM_PATH} not found: browser tests skipped (apt-get install -y chromium runs them)`;
  return undefined;
}

/** Headless Chromium, closed after the file's tests. */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `${CHROMIUM_PATH} not found: install Debian's chromium package (apt-get install -y chromium), or set BBM_SKIP_BROWSER=1 to skip browser tests.`,
    );
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // Root needs --no-sandbox; the rest stop Chromium's own outbound traffic, which the closed network refuses.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  after(() => browser.close());
  return browser;
}
