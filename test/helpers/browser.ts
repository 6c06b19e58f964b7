import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

/**
 * Debian's Chromium for the browser tests (`apt-get install chromium`). .ci/run installs it and
 * sets REQUIRE_BROWSER=1, so there a missing browser fails the test file instead of skipping it.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Whether Chromium is there; says loudly (or throws under REQUIRE_BROWSER=1) when it is not. */
export function browserAvailable(test: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  const message = `${test} browser test: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
  if (process.env.REQUIRE_BROWSER === '1') throw new Error(message);
  console.warn(`SKIPPED: ${message}`);
  return false;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
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
}

/**
 * A page that may reach `origin` only: every other request is aborted and listed in `outside`
 * (the test expects it empty). Errors the page throws are listed in `errors`.
 */
export async function offlinePage(
  browser: Browser,
  origin: string,
): Promise<{ page: Page; outside: string[]; errors: string[] }> {
  const page = await browser.newPage();
  const outside: string[] = [];
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith('blob:') || url.startsWith('data:')) return route.continue();
    outside.push(url);
    return route.abort();
  });
  return { page, outside, errors };
}
