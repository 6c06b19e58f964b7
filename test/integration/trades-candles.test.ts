import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Candle } from '../../src/marketdata/candles.ts';
import type { Trade } from '../../src/marketdata/types.ts';
import { BookStore } from '../../src/redis/book-store.ts';
import { candleKey } from '../../src/redis/keys.ts';
import { encodeTrade } from '../../src/wire/codec.ts';
import { encodeCandles } from '../../src/wire/market-codec.ts';
import { waitForCondition } from '../helpers/book-checker.ts';
import { decimal, product, ratio, units } from '../helpers/exact.ts';
import { type Clients, execute, executeOk, subscribe, trackedClients } from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { REGION, type Stack, startStack } from '../helpers/stack.ts';

const X = 'sim1';
const S = 'BTC/USDT';
const T0 = Date.UTC(2024, 0, 1);
const STEP_MS = 30_000;
const MIN = 60_000;
const HOUR = 3_600_000;

let redis: TestRedis;
let stack: Stack;
let clients: Clients;
/** Every trade Redis accepted, in write order, across both ingesters. */
const written: Trade[] = [];
const wake = new Set<() => void>();
let venueNow = T0;
/** Venue time stops here until the test moves it on (so an ingester stops where the test says). */
let venueUntil = T0 + 12 * HOUR + 10 * MIN;
/**
 * Venue time: 30 s per simulator round, so a few thousand rounds cover more than a day. It holds
 * at `venueUntil`: on a loaded machine the ingester ran past an hour's end before it was stopped.
 */
const clock = () => {
  const now = venueNow;
  if (venueNow + STEP_MS <= venueUntil) venueNow += STEP_MS;
  return now;
};
let serverNow = T0;
let restartAt = 0;
interface WireTrade {
  id: string;
  price: string;
  amount: string;
  side: string;
  exchangeTimestamp: number;
}
const streamed: WireTrade[] = [];
const streamedCandles: Candle[] = [];
const streamWake = new Set<() => void>();
const listenStreams = (w: () => void) => {
  streamWake.add(w);
  return () => streamWake.delete(w);
};
const streams: ReturnType<typeof subscribe>[] = [];
/** Why a stream ended early, if one did (none should: the waits below would wait in vain). */
const ended: string[] = [];

/** Waits for the streams to reach `condition`; fails at once, with the reason, if one ended. */
async function untilStreamed(condition: () => boolean, what: string): Promise<void> {
  await waitForCondition(() => ended.length > 0 || condition(), listenStreams, 60_000, what);
  if (!condition()) throw new Error(`a stream ended before ${what}: ${ended.join('; ')}`);
}

function untilTradesReach(ts: number, what: string): Promise<void> {
  return waitForCondition(
    () => (written.at(-1)?.exchangeTs ?? 0) >= ts,
    (w) => {
      wake.add(w);
      return () => wake.delete(w);
    },
    60_000,
    what,
  );
}

interface WireCandle {
  interval: string;
  start: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  quoteVolume: string;
  trades: number;
}

const CANDLE_FIELDS = 'interval start open high low close volume quoteVolume trades';

/** Candles computed here, from the written trades only, with BigInt arithmetic. */
function expectedCandles(
  intervalMs: number,
  trades: readonly Trade[],
): Map<number, Omit<WireCandle, 'interval'>> {
  const out = new Map<
    number,
    { start: number; o: string; h: bigint; l: bigint; c: string; v: bigint; q: bigint; n: number }
  >();
  for (const t of trades) {
    const start = Math.floor(t.exchangeTs / intervalMs) * intervalMs;
    const p = units(t.price);
    const c = out.get(start);
    if (!c) {
      out.set(start, {
        start,
        o: t.price,
        h: p,
        l: p,
        c: t.price,
        v: units(t.amount),
        q: product(t.price, t.amount),
        n: 1,
      });
    } else {
      if (p > c.h) c.h = p;
      if (p < c.l) c.l = p;
      c.c = t.price;
      c.v += units(t.amount);
      c.q += product(t.price, t.amount);
      c.n += 1;
    }
  }
  return new Map(
    [...out].map(([start, c]) => [
      start,
      {
        start,
        open: c.o,
        high: decimal(c.h),
        low: decimal(c.l),
        close: c.c,
        volume: decimal(c.v),
        quoteVolume: decimal(c.q),
        trades: c.n,
      },
    ]),
  );
}

beforeAll(async () => {
  redis = await startTestRedis();
  const simulator = { seed: 11, updatesPerSecond: 1_000, venues: [X], symbols: [S], clock };
  stack = await startStack(redis, {
    ingest: false,
    simulator,
    now: () => serverNow,
    // The streams must carry the whole run: on a loaded machine this process's own client falls
    // far behind 1,000 trades a second, and the default queue would end its subscription as too
    // slow (SUBSCRIBER_TOO_SLOW, tested in book-streams) instead of letting it catch up.
    limits: { subscriberQueueMax: 1_000_000 },
    // At 1,000 updates a second this process's event loop stalls for seconds on a loaded machine,
    // and ioredis times commands on it: writes Redis applied would count as timed out (a trade
    // counted lost, yet stored), and `written` would miss them. This test is about candles.
    commandTimeoutMs: 120_000,
    ingester: {
      onTradeWritten: (trade) => {
        written.push(trade);
        for (const w of [...wake]) w();
      },
    },
  });
  clients = trackedClients();
  // The market must exist before a subscription is accepted: a first ingester writes it.
  await stack.startIngester();
  const ws = clients.ws(stack.wsUrl);
  streams.push(
    subscribe<WireTrade>(
      ws,
      `subscription($x: String!, $s: String!) { trades(exchange: $x, symbol: $s) { id price amount side exchangeTimestamp } }`,
      { x: X, s: S },
      (t) => {
        streamed.push(t);
        for (const w of [...streamWake]) w();
      },
    ),
  );
  streams.push(
    subscribe<Candle>(
      ws,
      `subscription($x: String!, $s: String!) { candles(exchange: $x, symbol: $s, interval: ONE_HOUR) { ${CANDLE_FIELDS} } }`,
      { x: X, s: S },
      (c) => {
        streamedCandles.push(c);
        for (const w of [...streamWake]) w();
      },
    ),
  );
  for (const stream of streams) {
    void stream.done.then(() => {
      ended.push(JSON.stringify(stream.errors));
      for (const w of [...streamWake]) w();
    });
  }
  // Live before the run goes on (on a loaded machine the subscriptions were taken after most of it).
  await untilStreamed(() => streamed.length > 0 && streamedCandles.length > 0, 'both streams live');
  // Stop 10 minutes into an hour, so the hour's candle is in progress across the restart.
  await untilTradesReach(venueUntil, 'twelve hours of trades');
  await stack.stopIngester();
  restartAt = written.length;
  venueUntil = T0 + 26 * HOUR;
  await stack.startIngester();
  await untilTradesReach(venueUntil, 'twenty-six hours of trades');
  await stack.stopIngester();
  serverNow = written.at(-1)!.exchangeTs + 1_000;
});

afterAll(async () => {
  await clients?.dispose();
  await stack?.stop();
  await redis?.stop();
});

async function queryCandles(interval: string, from: number, to: number): Promise<WireCandle[]> {
  const data = await executeOk<{ candles: WireCandle[] }>(
    stack.app,
    `query($x: String!, $s: String!, $i: CandleInterval!, $from: Long, $to: Long) {
      candles(exchange: $x, symbol: $s, interval: $i, from: $from, to: $to) { ${CANDLE_FIELDS} } }`,
    { x: X, s: S, i: interval, from, to },
  );
  return data.candles;
}

describe('trades', () => {
  it('answers the newest trades first, as written', async () => {
    const data = await executeOk<{ trades: { id: string; price: string; amount: string; side: string }[] }>(
      stack.app,
      `{ trades(exchange: "${X}", symbol: "${S}", limit: 25) { id price amount side } }`,
    );
    const expected = written
      .slice(-25)
      .reverse()
      .map((t) => ({ id: t.id, price: t.price, amount: t.amount, side: t.side.toUpperCase() }));
    expect(data.trades).toEqual(expected);
  });

  it('bounds limit and names unknown markets', async () => {
    for (const limit of [0, 1001]) {
      const { body } = await execute(
        stack.app,
        `{ trades(exchange: "${X}", symbol: "${S}", limit: ${limit}) { id } }`,
      );
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
    const { body } = await execute(stack.app, `{ trades(exchange: "${X}", symbol: "NOPE/USDT") { id } }`);
    expect(body.errors?.[0]?.extensions?.code).toBe('MARKET_NOT_FOUND');
  });

  it('streams every trade in order over graphql-ws: a contiguous run ending with the last written', async () => {
    const key = (t: { id: string; price: string }) => `${t.id}@${t.price}`;
    await untilStreamed(
      () => streamed.length > 0 && key(streamed.at(-1)!) === key(written.at(-1)!),
      'the trade stream to reach the last written trade',
    );
    // The subscription ran while both ingesters wrote; it must hold a gap-free suffix of the log.
    const ids = written.map((t) => `${t.exchangeTs}/${t.id}/${t.price}/${t.amount}/${t.side.toUpperCase()}`);
    const got = streamed.map((t) => `${t.exchangeTimestamp}/${t.id}/${t.price}/${t.amount}/${t.side}`);
    expect(got.length).toBeGreaterThan(100);
    const first = ids.lastIndexOf(got[0]!);
    expect(ids.slice(first)).toEqual(got);
    expect(streamed.at(-1)?.price).toBe(written.at(-1)?.price);
  });
});

describe('candles', () => {
  it('equal, at every interval, candles computed independently from the written trades (exact decimals)', async () => {
    const first = written[0]!.exchangeTs;
    const last = written.at(-1)!.exchangeTs;
    for (const [interval, ms] of [
      ['ONE_HOUR', HOUR],
      ['FIVE_MINUTES', 5 * MIN],
    ] as const) {
      const got = await queryCandles(interval, Math.floor(first / ms) * ms, last);
      const expected = [...expectedCandles(ms, written).values()];
      expect(got.map(({ interval: _i, ...c }) => c)).toEqual(expected);
      expect(got.every((c) => c.interval === interval)).toBe(true);
    }
    // 1m: the last day (a query covers at most one retention period).
    const from = Math.floor(last / MIN) * MIN - 1_439 * MIN;
    const got = await queryCandles('ONE_MINUTE', from, last);
    const expected = [
      ...expectedCandles(
        MIN,
        written.filter((t) => t.exchangeTs >= from),
      ).values(),
    ];
    expect(got.map(({ interval: _i, ...c }) => c)).toEqual(expected);
  });

  it('continues the candle in progress across an ingester restart', async () => {
    const before = written[restartAt - 1]!;
    const after = written[restartAt]!;
    const hour = Math.floor(before.exchangeTs / HOUR) * HOUR;
    expect(Math.floor(after.exchangeTs / HOUR) * HOUR, 'the restart falls inside one hour').toBe(hour);
    const [candle] = await queryCandles('ONE_HOUR', hour, hour);
    const inHour = written.filter((t) => Math.floor(t.exchangeTs / HOUR) * HOUR === hour);
    expect(candle?.trades).toBe(inHour.length);
    expect(candle?.open).toBe(inHour[0]!.price);
  });

  it('streams the live candle: never a step back, ending on the stored one', async () => {
    const last = written.at(-1)!.exchangeTs;
    const hour = Math.floor(last / HOUR) * HOUR;
    const [stored] = await queryCandles('ONE_HOUR', hour, hour);
    await untilStreamed(
      () => JSON.stringify(streamedCandles.at(-1)) === JSON.stringify(stored),
      'the candle stream to reach the stored candle',
    );
    expect(streamedCandles.length).toBeGreaterThan(10);
    for (let i = 1; i < streamedCandles.length; i++) {
      const a = streamedCandles[i - 1]!;
      const b = streamedCandles[i]!;
      expect(b.start > a.start || (b.start === a.start && b.trades > a.trades)).toBe(true);
    }
    expect(streamedCandles.at(-1)).toEqual(stored);
  });

  it('rejects a range past retention and a reversed range', async () => {
    for (const [from, to] of [
      [0, 2_000 * MIN],
      [MIN * 10, 0],
    ]) {
      const { body } = await execute(
        stack.app,
        `{ candles(exchange: "${X}", symbol: "${S}", interval: ONE_MINUTE, from: ${from}, to: ${to}) { start } }`,
      );
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  it('keeps at most the retention per interval, dropping the oldest', async () => {
    const store = new BookStore(redis.client(), REGION);
    const x = 'retention';
    for (let i = 0; i < 6; i++) {
      const trade: Trade = {
        exchange: x,
        symbol: S,
        id: String(i),
        price: '1.5',
        amount: '2',
        side: 'buy',
        exchangeTs: T0 + i * MIN,
        receiveTs: T0 + i * MIN,
      };
      const candle: Candle = {
        interval: '1m',
        start: T0 + i * MIN,
        open: '1.5',
        high: '1.5',
        low: '1.5',
        close: '1.5',
        volume: '2',
        quoteVolume: '3',
        trades: 1,
      };
      await store.writeTrade(trade, encodeTrade(trade), {
        candles: [candle],
        message: encodeCandles(x, S, [candle]),
        retention: { '1m': 3 },
      });
    }
    const fields = await redis.client().hkeys(candleKey(REGION, x, S, '1m'));
    expect(fields.map(Number).sort()).toEqual([T0 + 3 * MIN, T0 + 4 * MIN, T0 + 5 * MIN]);
  });
});

describe('ticker', () => {
  it('carries 24h open, high, low, volume and change from the 1m candles', async () => {
    const data = await executeOk<{
      ticker: {
        lastTrade: { price: string };
        stats24h: {
          from: number;
          to: number;
          open: string;
          high: string;
          low: string;
          close: string;
          volume: string;
          quoteVolume: string;
          trades: number;
          change: string;
          changePercent: string;
        };
      };
    }>(
      stack.app,
      `{ ticker(exchange: "${X}", symbol: "${S}") { lastTrade { price }
        stats24h { from to open high low close volume quoteVolume trades change changePercent } } }`,
    );
    const to = Math.floor(serverNow / MIN) * MIN;
    const from = to - 1_439 * MIN;
    const day = written.filter((t) => t.exchangeTs >= from && t.exchangeTs < to + MIN);
    expect(day.length).toBeLessThan(written.length);
    const prices = day.map((t) => units(t.price)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const open = day[0]!.price;
    const close = day.at(-1)!.price;
    const change = units(close) - units(open);
    expect(data.ticker.stats24h).toEqual({
      from,
      to,
      open,
      high: decimal(prices.at(-1)!),
      low: decimal(prices[0]!),
      close,
      volume: decimal(day.reduce((a, t) => a + units(t.amount), 0n)),
      quoteVolume: decimal(day.reduce((a, t) => a + product(t.price, t.amount), 0n)),
      trades: day.length,
      change: decimal(change),
      changePercent: ratio(change * 100n, units(open), 2),
    });
    expect(data.ticker.lastTrade.price).toBe(close);
  });
});
