import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addDecimal,
  ConsolidatedBookDocument,
  createBookgraphClient,
  OrderBookDocument,
} from '../../sdk/src/index.ts';
import { bookChannel } from '../../src/redis/keys.ts';
import type { Runtime } from '../../src/runtime.ts';
import { encodeBookEvent } from '../../src/wire/codec.ts';
import { browserAvailable, launchBrowser, offlinePage } from '../helpers/browser.ts';
import { connLog, connState, shownLadder } from '../helpers/dashboard-page.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { startTestRuntime } from '../helpers/runtime.ts';

/**
 * The market dashboard in a real headless Chromium, every request leaving the server blocked: it
 * loads offline, its ladder is the server's book, trades and candles arrive, switching works, and
 * a RESET forced on the server's channel shows and heals. Development mode: the server bundles
 * the page from source on the first request (no build step).
 */
const haveBrowser = browserAvailable('Dashboard');
// Generous: Chromium on a loaded 2-core machine (four test runs at once) renders seconds late.
const WAIT = { timeout: 120_000 };

describe.skipIf(!haveBrowser)('the dashboard in a headless browser, offline', () => {
  let redis: TestRedis;
  let runtime: Runtime;
  let browser: Browser;
  let origin: string;
  let page: Page;
  let outside: string[];
  let errors: string[];

  beforeAll(async () => {
    redis = await startTestRedis();
    // Slow enough that the page and a query often see the same seq, fast enough to be live.
    runtime = await startTestRuntime(redis.url, { SIM_UPDATES_PER_SEC: '1' });
    origin = `http://127.0.0.1:${runtime.port}`;
    browser = await launchBrowser();
    ({ page, outside, errors } = await offlinePage(browser, origin));
  });
  afterAll(async () => {
    await browser?.close();
    await runtime?.stop();
    await redis?.stop();
  });

  it('is served at /dashboard (/ redirects there) with cached, compressed assets', async () => {
    const root = await fetch(`${origin}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/dashboard');
    const html = await fetch(`${origin}/dashboard`);
    expect(html.status).toBe(200);
    expect(html.headers.get('cache-control')).toBe('no-cache');
    expect(html.headers.get('content-security-policy')).toContain("default-src 'self'");
    const body = await html.text();
    const script = /src="\/dashboard\/(assets\/dashboard-[\w]+\.js)"/.exec(body)?.[1];
    expect(script).toBeDefined();
    // Raw bytes: Node's fetch would decode the body for us.
    const raw = (headers: Record<string, string>) =>
      new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
        request(`${origin}/dashboard/${script}`, { headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        })
          .on('error', reject)
          .end();
      });
    const plain = await raw({});
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString('utf8')).toContain('bookgraph');
    expect((await raw({ 'accept-encoding': 'br;q=0, *' })).headers['content-encoding']).toBe('gzip');
    const gzip = await raw({ 'accept-encoding': 'gzip' });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gzip.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(gunzipSync(gzip.body)).toEqual(plain.body);
    const br = await fetch(`${origin}/dashboard/${script}`, { headers: { 'accept-encoding': 'br' } });
    expect(br.headers.get('content-encoding')).toBe('br');
    const again = await fetch(`${origin}/dashboard/${script}`, {
      headers: { 'if-none-match': gzip.headers.etag as string },
    });
    expect(again.status).toBe(304);
    expect((await fetch(`${origin}/dashboard/assets/nope.js`)).status).toBe(404);
    expect((await fetch(`${origin}/dashboard`, { method: 'POST' })).status).toBe(405);
    // Yoga's landing page (with its version) is gone from unknown paths.
    expect(await (await fetch(`${origin}/nowhere`)).text()).not.toMatch(/yoga/i);
  });

  it('loads offline and shows the ladder the orderBook query returns at the same seq', async () => {
    await page.goto(`${origin}/`);
    expect(new URL(page.url()).pathname).toBe('/dashboard');
    await expect.poll(() => connState(page), WAIT).toBe('live');
    expect(await page.locator('#pick-exchange').inputValue()).toBe('sim1');
    const client = createBookgraphClient({ url: `${origin}/graphql` });
    const { exchange, symbol, depth } = {
      exchange: await page.locator('#pick-exchange').inputValue(),
      symbol: await page.locator('#pick-symbol').inputValue(),
      depth: Number(await page.locator('#pick-depth').inputValue()),
    };
    // Both move: compare once the page shows the seq the query returned, before and after it.
    let compared = false;
    for (const started = Date.now(); !compared && Date.now() - started < 240_000; ) {
      const before = await shownLadder(page);
      const { orderBook } = await client.query(OrderBookDocument, { exchange, symbol, depth });
      const after = await shownLadder(page);
      if (before.seq !== orderBook.seq || after.seq !== orderBook.seq) continue;
      expect(after.bids).toEqual(orderBook.bids);
      expect(after.asks).toEqual(orderBook.asks);
      expect(after.bids.length).toBe(depth);
      compared = true;
    }
    await client.dispose();
    expect(compared, 'the page and the query met at one seq').toBe(true);
    expect(await page.locator('#region').getAttribute('data-copy')).toBe('local');
  });

  it('shows trades, the live candle, the consolidated book, liquidity and feed health', async () => {
    const firstTrade = await page.locator('#trades li').first().getAttribute('data-id', WAIT);
    await expect
      .poll(() => page.locator('#trades li').first().getAttribute('data-id'), WAIT)
      .not.toBe(firstTrade);
    // History and stream meet without repeats.
    const ids = await page
      .locator('#trades li')
      .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.id));
    expect(ids.length).toBeGreaterThan(1);
    expect(new Set(ids).size).toBe(ids.length);
    await expect.poll(() => page.locator('#candles').getAttribute('data-live'), WAIT).toMatch(/^\d+$/);
    await expect.poll(() => page.locator('#consolidated tbody tr').count(), WAIT).toBeGreaterThan(0);
    // Attribution: the simulator lists BTC/USDT on several venues.
    const venues = await page.locator('#consolidated .venues li').allTextContents();
    expect(venues.length).toBeGreaterThan(1);
    expect(await page.locator('#consolidated tbody tr').first().getAttribute('data-venues')).toMatch(/sim\d/);
    await expect.poll(() => page.locator('#liquidity tbody tr').count(), WAIT).toBe(3);
    await expect.poll(() => page.locator('#feeds tbody tr').count(), WAIT).toBeGreaterThan(0);
    expect(await page.locator('#feeds tbody tr').first().getAttribute('data-state')).toBe('CONNECTED');
  });

  it('switches depth, market and venue', async () => {
    await page.locator('#pick-depth').selectOption('5');
    await expect.poll(async () => (await shownLadder(page)).bids.length, WAIT).toBe(5);
    await page.locator('#pick-symbol').selectOption('ETH/USDT');
    await expect.poll(() => page.locator('#ladder-meta').textContent(), WAIT).toContain('ETH/USDT');
    await expect.poll(() => page.locator('#consolidated').getAttribute('data-symbol'), WAIT).toBe('ETH/USDT');
    await page.locator('#pick-exchange').selectOption('sim2');
    await expect.poll(() => page.locator('#ladder-meta').textContent(), WAIT).toBe('sim2 ETH/USDT · depth 5');
    await expect.poll(() => connState(page), WAIT).toBe('live');
    expect(page.url()).toContain('exchange=sim2');
  });

  it('shows a RESET forced on the server and heals from the SNAPSHOT that follows', async () => {
    await expect.poll(async () => (await shownLadder(page)).seq, WAIT).toBeGreaterThan(0);
    const publisher = redis.client();
    // Undecodable on the book's channel: the server sends RESET CORRUPT_MESSAGE, then a SNAPSHOT.
    expect(
      await publisher.publish(bookChannel('local', 'sim2', 'ETH/USDT'), '{"v":1,"k":"d", not json'),
    ).toBe(1);
    await expect.poll(() => connLog(page), WAIT).toContain('resync CORRUPT_MESSAGE');
    await expect.poll(() => connState(page), WAIT).toBe('live');
    const healed = await shownLadder(page);
    expect(healed.bids.length).toBe(5);
    const stats = await page.evaluate(
      () => (window as unknown as { bookgraphDashboard: { stats: unknown } }).bookgraphDashboard.stats,
    );
    expect(stats).toMatchObject({ resets: { CORRUPT_MESSAGE: 1 } });
    // No client-side gap: the page never lost an update.
    expect(stats).not.toHaveProperty('resets.CLIENT_GAP');
  });

  it('once the feed stops, shows exactly the book the server holds', async () => {
    await runtime.ingester?.stop();
    const client = createBookgraphClient({ url: `${origin}/graphql` });
    const { orderBook } = await client.query(OrderBookDocument, {
      exchange: 'sim2',
      symbol: 'ETH/USDT',
      depth: 5,
    });
    await client.dispose();
    await expect.poll(async () => (await shownLadder(page)).seq, WAIT).toBe(orderBook.seq);
    const shown = await shownLadder(page);
    expect(shown.bids).toEqual(orderBook.bids);
    expect(shown.asks).toEqual(orderBook.asks);
  });

  it('warns while the consolidated book is crossed, naming the venues', async () => {
    // The feed is stopped: a delta forged as sim1's next event puts its bid above sim2's ask.
    const client = createBookgraphClient({ url: `${origin}/graphql` });
    const book = (exchange: string) =>
      client.query(OrderBookDocument, { exchange, symbol: 'ETH/USDT', depth: 1 });
    const [{ orderBook: sim1 }, { orderBook: sim2 }] = await Promise.all([book('sim1'), book('sim2')]);
    await client.dispose();
    const price = addDecimal(sim2.bestAsk!.price, '10');
    const now = Date.now();
    const forged = encodeBookEvent({
      kind: 'delta',
      exchange: 'sim1',
      symbol: 'ETH/USDT',
      region: 'local',
      epoch: sim1.epoch,
      seq: sim1.seq + 1,
      bids: [[price, '1']],
      asks: [],
      exchangeTs: now,
      receiveTs: now,
    });
    expect(await redis.client().publish(bookChannel('local', 'sim1', 'ETH/USDT'), forged)).toBeGreaterThan(0);
    const warning = page.locator('#crossed');
    await expect.poll(() => warning.isVisible(), WAIT).toBe(true);
    // The venues named are those the server's consolidated book gives for the best bid and ask.
    const check = createBookgraphClient({ url: `${origin}/graphql` });
    const { consolidatedBook: merged } = await check.query(ConsolidatedBookDocument, {
      symbol: 'ETH/USDT',
      depth: 5,
    });
    await check.dispose();
    expect(merged.crossed).toBe(true);
    const names = (level: typeof merged.bestBid) => level?.venues.map((v) => v.exchange).join(', ');
    expect(await warning.textContent()).toBe(
      `CROSSED: best bid ${price} (${names(merged.bestBid)}) is at or above best ask ${merged.bestAsk?.price} (${names(merged.bestAsk)})`,
    );
    expect(names(merged.bestBid)).toBe('sim1');
  });

  it('made no request outside the server and threw no error', () => {
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });
});
