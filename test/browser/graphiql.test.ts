import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/runtime.ts';
import { browserAvailable, launchBrowser, offlinePage } from '../helpers/browser.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { startTestRuntime } from '../helpers/runtime.ts';

/**
 * GraphiQL as a first-time user meets it, in a real headless Chromium with every request that
 * leaves the server blocked: the page must load offline and its example subscription must show
 * a live book (test/helpers/browser.ts: Chromium, REQUIRE_BROWSER).
 */
const haveBrowser = browserAvailable('GraphiQL');

describe.skipIf(!haveBrowser)('GraphiQL in a headless browser, offline', () => {
  let redis: TestRedis;
  let runtime: Runtime;
  let browser: Browser;

  beforeAll(async () => {
    redis = await startTestRedis();
    runtime = await startTestRuntime(redis.url, {
      SIM_UPDATES_PER_SEC: '20',
    });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await runtime?.stop();
    await redis?.stop();
  });

  it('loads without the internet and streams the example subscription live', async () => {
    const origin = `http://127.0.0.1:${runtime.port}`;
    const { page, outside } = await offlinePage(browser, origin);
    await page.goto(`${origin}/graphql`);
    await page.locator('.graphiql-execute-button').click({ timeout: 120_000 });
    // Monaco renders spaces as no-break spaces, which `\s` matches.
    const response = page.locator('.graphiql-response');
    const seqOf = async () =>
      Number(/"seq":\s*(\d+)/.exec((await response.textContent()) ?? '')?.[1] ?? Number.NaN);
    await expect.poll(seqOf, { timeout: 120_000 }).toBeGreaterThan(0);
    const first = await seqOf();
    // Live: the same subscription keeps delivering newer book states.
    await expect.poll(seqOf, { timeout: 120_000 }).toBeGreaterThan(first);
    expect(await response.textContent()).toMatch(/"price":\s*"\d+(\.\d+)?"/);
    expect(outside).toEqual([]);
    await page.close();
  });
});
