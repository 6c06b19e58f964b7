import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Market } from '../../src/marketdata/types.ts';
import { BookStore } from '../../src/redis/book-store.ts';
import { createRedis, type RedisClient } from '../../src/redis/connection.ts';
import { marketsKey } from '../../src/redis/keys.ts';
import { RegionalBooks } from '../../src/redis/regional-books.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';

/**
 * RegionalBooks keeps the markets it found for a while (every book query checks its market), against
 * a real Redis: a found market is answered without Redis until its time is up, a missing one is
 * read every time, and no more than the cap are kept.
 */
let redis: TestRedis;
let commands: RedisClient;
let store: BookStore;

const market = (symbol: string): Market => ({
  exchange: 'venue',
  symbol,
  base: symbol.split('/')[0]!,
  quote: 'USDT',
  tickSize: '0.01',
  lotSize: '0.001',
  minAmount: '0.001',
  active: true,
});

beforeAll(async () => {
  redis = await startTestRedis();
  commands = createRedis(redis.url, 'command');
  store = new BookStore(commands, 'a');
});

afterAll(async () => {
  commands?.disconnect();
  await redis?.stop();
});

describe('markets found are kept for marketTtlMs (regional-books.ts)', () => {
  it('answers a found market from memory until its time is up, then reads Redis again', async () => {
    let now = 0;
    const copies = new RegionalBooks(store, ['a'], undefined, { marketTtlMs: 1_000, now: () => now });
    await store.writeMarkets('venue', [market('AAA/USDT')]);
    expect((await copies.readMarket('venue', 'AAA/USDT'))?.base).toBe('AAA');
    // Gone from Redis: still answered while the entry is fresh, not once it is older than the TTL.
    await commands.hdel(marketsKey('a', 'venue'), 'AAA/USDT');
    now = 999;
    expect((await copies.readMarket('venue', 'AAA/USDT'))?.base).toBe('AAA');
    now = 1_001;
    expect(await copies.readMarket('venue', 'AAA/USDT')).toBeNull();
    expect(copies.knownMarketCount).toBe(0);
  });

  it('never keeps a market it did not find: one written later is found at once', async () => {
    const copies = new RegionalBooks(store, ['a'], undefined, { marketTtlMs: 60_000 });
    expect(await copies.readMarket('venue', 'NEW/USDT')).toBeNull();
    await store.writeMarkets('venue', [market('NEW/USDT')]);
    expect((await copies.readMarket('venue', 'NEW/USDT'))?.symbol).toBe('NEW/USDT');
  });

  it('keeps at most marketCacheMax markets, the oldest read first out', async () => {
    const copies = new RegionalBooks(store, ['a'], undefined, { marketTtlMs: 60_000, marketCacheMax: 5 });
    const symbols = Array.from({ length: 12 }, (_, i) => `M${i}/USDT`);
    await store.writeMarkets('venue', symbols.map(market));
    for (const s of symbols) expect(await copies.readMarket('venue', s)).not.toBeNull();
    expect(copies.knownMarketCount).toBe(5);
    // The newest five are kept: removing them from Redis does not hide them; an evicted one is read.
    await commands.hdel(marketsKey('a', 'venue'), ...symbols);
    for (const s of symbols.slice(-5)) expect(await copies.readMarket('venue', s)).not.toBeNull();
    expect(await copies.readMarket('venue', symbols[0]!)).toBeNull();
  });
});
