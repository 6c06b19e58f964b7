import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClientRegistry } from '../../src/auth/api-keys.ts';
import type { Runtime } from '../../src/runtime.ts';
import { writeDashboard } from '../../src/server/dashboard/build.ts';
import { browserAvailable, launchBrowser, offlinePage } from '../helpers/browser.ts';
import { connState, shownLadder } from '../helpers/dashboard-page.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { startTestRuntime } from '../helpers/runtime.ts';

/**
 * The dashboard of a production server: it serves the folder `npm run build:dashboard` wrote
 * (built here first), asks for an API key, shows UNAUTHENTICATED plainly for a missing or wrong
 * one, goes live with a valid one, and keeps the key nowhere but in the page's memory.
 */
const haveBrowser = browserAvailable('Dashboard (production)');
const WAIT = { timeout: 120_000 };

describe.skipIf(!haveBrowser)('the dashboard of a production server', () => {
  let redis: TestRedis;
  let runtime: Runtime;
  let browser: Browser;

  beforeAll(async () => {
    await writeDashboard();
    redis = await startTestRedis();
    runtime = await startTestRuntime(redis.url, {
      NODE_ENV: 'production',
      ALLOW_ANONYMOUS_MARKETDATA: '0',
      SIM_UPDATES_PER_SEC: '10',
    });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await runtime?.stop();
    await redis?.stop();
  });

  it('asks for a key, shows UNAUTHENTICATED without one or with a wrong one, and goes live with a valid one', async () => {
    const origin = `http://127.0.0.1:${runtime.port}`;
    const { page, outside, errors } = await offlinePage(browser, origin);
    await page.goto(`${origin}/dashboard`);
    const dialog = page.locator('#key-dialog');
    await expect.poll(() => dialog.isVisible(), WAIT).toBe(true);

    await page.locator('#key-submit').click();
    await expect.poll(() => page.locator('#key-error').textContent(), WAIT).toContain('UNAUTHENTICATED');
    expect(await connState(page)).toBe('error');
    expect(await page.locator('#conn-detail').textContent()).toContain('UNAUTHENTICATED');
    expect(await dialog.isVisible()).toBe(true);

    // A key the registry does not hold (once it holds some: an empty one reads as lost data, UNAVAILABLE).
    const admin = redis.client();
    const { key } = await new ApiClientRegistry(admin).create({
      name: 'viewer',
      scopes: ['marketdata:read'],
    });
    await page.locator('#key-input').fill(`bgk_0123456789abcdef_${'A'.repeat(43)}`);
    await page.locator('#key-submit').click();
    await expect.poll(() => page.locator('#key-error').textContent(), WAIT).toContain('UNAUTHENTICATED');
    await page.locator('#key-input').fill(key);
    await page.locator('#key-submit').click();
    await expect.poll(() => connState(page), WAIT).toBe('live');
    expect(await dialog.isVisible()).toBe(false);
    expect((await shownLadder(page)).bids.length).toBeGreaterThan(0);

    // In memory only: not in storage, cookies, the URL, or the input.
    const kept = await page.evaluate(() => ({
      local: JSON.stringify({ ...localStorage }),
      session: JSON.stringify({ ...sessionStorage }),
      cookie: document.cookie,
      url: location.href,
      input: (document.getElementById('key-input') as HTMLInputElement).value,
    }));
    for (const value of Object.values(kept)) expect(value).not.toContain(key);
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
    // Four polls of up to WAIT each: at load ~25 on 2 cores the whole took 250 s once.
  }, 600_000);

  it('serves the prebuilt folder with brotli, and DASHBOARD=off turns the page off', async () => {
    const origin = `http://127.0.0.1:${runtime.port}`;
    const html = await fetch(`${origin}/dashboard`, { headers: { 'accept-encoding': 'br' } });
    expect(html.status).toBe(200);
    expect(html.headers.get('content-encoding')).toBe('br');
    expect(await html.text()).toContain('/dashboard/assets/dashboard-');
    const off = await startTestRuntime(
      redis.url,
      { NODE_ENV: 'production', DASHBOARD: 'off' },
      { ingest: false },
    );
    try {
      const other = `http://127.0.0.1:${off.port}`;
      expect((await fetch(`${other}/dashboard`)).status).toBe(404);
      expect((await fetch(`${other}/`, { redirect: 'manual' })).status).toBe(404);
    } finally {
      await off.stop();
    }
  });
});
