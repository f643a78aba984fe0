import fs from 'node:fs';
import { after } from 'node:test';
import type { Browser } from 'playwright-core';

/** Debian's `chromium` package; the machine cannot download Playwright's own browser builds. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Why a browser test cannot run here, or undefined when it can. Set BBM_SKIP_BROWSER=1 to skip
 * deliberately (.ci/run does so only when installing chromium failed); otherwise a missing
 * browser is a failure, not a silent skip.
 */
export function browserSkipReason(): string | undefined {
  if (process.env.BBM_SKIP_BROWSER === '1') return 'BBM_SKIP_BROWSER=1: browser tests skipped';
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
