import { mkdir } from 'node:fs/promises';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startLocalRedis } from '../src/redis/local-server.ts';
import { startRuntime } from '../src/runtime.ts';
import { launchBrowser } from '../test/helpers/browser.ts';

/**
 * `npx tsx scripts/dashboard-screenshots.ts`: the screenshots in docs/img/ — the whole dashboard
 * and each of its views, from `bookgraph start` (simulator) on a private Redis, plus the key
 * prompt of a server that needs a key. Needs Chromium (test/helpers/browser.ts).
 */
const OUT = new URL('../docs/img/', import.meta.url);
const VIEWS = ['ladder', 'depth', 'trades', 'candles', 'consolidated', 'liquidity', 'feeds', 'log'] as const;

async function server(redisUrl: string, env: NodeJS.ProcessEnv = {}) {
  const config = loadConfig({ REDIS_URL: redisUrl, PORT: '0', SIM_UPDATES_PER_SEC: '20', ...env });
  return startRuntime({ config, log: createLogger('silent'), ingest: true, serve: true, launchRedis: false });
}

await mkdir(OUT, { recursive: true });
const redis = await startLocalRedis();
const runtime = await server(redis.url);
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  await page.goto(`http://127.0.0.1:${runtime.port}/dashboard#exchange=sim1&symbol=BTC%2FUSDT&depth=10`);
  await page.waitForSelector('#conn[data-state="live"]', { timeout: 60_000 });
  await page.waitForSelector('#trades li:nth-child(20)', { timeout: 120_000 });
  await page.waitForSelector('#consolidated tbody tr', { timeout: 60_000 });
  // A minute of candles would need a minute: the live candle and its history are enough.
  await page.waitForSelector('#candles[data-live]:not([data-live=""])', { timeout: 120_000 });
  await page.screenshot({ path: new URL('dashboard.png', OUT).pathname, fullPage: true });
  for (const view of VIEWS) {
    await page.locator(`#panel-${view}`).screenshot({ path: new URL(`dashboard-${view}.png`, OUT).pathname });
  }
  await page.close();

  const locked = await server(redis.url, { ALLOW_ANONYMOUS_MARKETDATA: '0', REGION: 'keyed' });
  try {
    const prompt = await browser.newPage({ viewport: { width: 1000, height: 600 } });
    await prompt.goto(`http://127.0.0.1:${locked.port}/dashboard`);
    await prompt.locator('#key-submit').click();
    await prompt.waitForFunction(() =>
      document.getElementById('key-error')?.textContent?.includes('UNAUTHENTICATED'),
    );
    await prompt.screenshot({ path: new URL('dashboard-key.png', OUT).pathname });
  } finally {
    await locked.stop();
  }
} finally {
  await browser.close();
  await runtime.stop();
  await redis.stop();
}
console.log(`screenshots in ${OUT.pathname}`);
