import type { GraphQLFormattedError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BookStore } from '../../src/redis/book-store.ts';
import { ClientBook } from '../helpers/book-checker.ts';
import {
  type Clients,
  execute,
  executeOk,
  followBook,
  ORDER_BOOK_UPDATES,
  subscribe,
  trackedClients,
} from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { REGION, type Stack, startStack } from '../helpers/stack.ts';

const DECIMAL = /^(0|[1-9]\d*)(\.\d*[1-9])?$/;
const SYMBOLS = ['BTC/USDT', 'ETH/USDT', 'KITE/USDT', 'SOL/USDT'];

let redis: TestRedis;
let stack: Stack;
let clients: Clients;

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startStack(redis, { simulator: { seed: 5, updatesPerSecond: 40 } });
  clients = trackedClients();
  // A few rounds, then a still book, so answers can be compared with the writer's last state.
  await stack.reference.until(() => stack.reference.count('sim3', 'SOL/USDT') >= 20, 60_000, '20 rounds');
  await stack.stopIngester();
});

afterAll(async () => {
  await clients?.dispose();
  await stack?.stop();
  await redis?.stop();
});

/** A decimal string as an integer scaled to `scale` places, for exact comparisons. */
function scaled(value: string, scale: number): bigint {
  const [whole, fraction = ''] = value.split('.');
  return BigInt(`${whole}${fraction.padEnd(scale, '0')}`);
}

interface Level {
  price: string;
  size: string;
}

interface BookAnswer {
  exchange: string;
  symbol: string;
  region: string;
  epoch: string;
  seq: number;
  stale: boolean;
  bids: Level[];
  asks: Level[];
  bestBid: Level | null;
  bestAsk: Level | null;
  mid: string | null;
  spread: string | null;
}

const BOOK_FIELDS = `exchange symbol region epoch seq stale exchangeTimestamp receiveTimestamp
  bids { price size } asks { price size } bestBid { price size } bestAsk { price size } mid spread`;

/** The invariants of any served book, and its agreement with the writer at its (epoch, seq). */
function expectWellFormed(book: BookAnswer, depth: number) {
  expect(book.bids.length).toBe(depth);
  expect(book.asks.length).toBe(depth);
  for (const level of [...book.bids, ...book.asks]) {
    expect(level.price).toMatch(DECIMAL);
    expect(level.size).toMatch(DECIMAL);
    expect(Number(level.size)).toBeGreaterThan(0);
  }
  for (let i = 1; i < depth; i++) {
    expect(Number(book.bids[i]!.price), 'bids strictly descending').toBeLessThan(
      Number(book.bids[i - 1]!.price),
    );
    expect(Number(book.asks[i]!.price), 'asks strictly ascending').toBeGreaterThan(
      Number(book.asks[i - 1]!.price),
    );
  }
  const bid = book.bestBid!;
  const ask = book.bestAsk!;
  expect(bid).toEqual(book.bids[0]);
  expect(ask).toEqual(book.asks[0]);
  expect(Number(bid.price)).toBeLessThan(Number(ask.price));
  expect(book.mid).toMatch(DECIMAL);
  expect(book.spread).toMatch(DECIMAL);
  const scale = Math.max(
    ...[bid.price, ask.price, book.mid!, book.spread!].map((v) => v.split('.')[1]?.length ?? 0),
  );
  expect(2n * scaled(book.mid!, scale), 'mid is exactly (bid + ask) / 2').toBe(
    scaled(bid.price, scale) + scaled(ask.price, scale),
  );
  expect(scaled(book.spread!, scale), 'spread is exactly ask - bid').toBe(
    scaled(ask.price, scale) - scaled(bid.price, scale),
  );
  const expected = stack.reference.top(book.exchange, book.symbol, book.epoch, book.seq, depth);
  expect(expected, 'served (epoch, seq) was written').toBeDefined();
  expect({
    bids: book.bids.map((l) => [l.price, l.size]),
    asks: book.asks.map((l) => [l.price, l.size]),
  }).toEqual(expected);
}

function codes(errors: readonly GraphQLFormattedError[] | undefined): unknown[] {
  return (errors ?? []).map((e) => e.extensions?.code);
}

describe('queries', () => {
  it('region, exchanges and markets', async () => {
    const data = await executeOk<{
      region: string;
      exchanges: string[];
      markets: {
        symbol: string;
        base: string;
        quote: string;
        tickSize: string;
        lotSize: string;
        active: boolean;
      }[];
    }>(
      stack.app,
      '{ region exchanges markets(exchange: "sim2") { symbol base quote tickSize lotSize active } }',
    );
    expect(data.region).toBe(REGION);
    expect(data.exchanges).toEqual(['sim1', 'sim2', 'sim3']);
    expect(data.markets.map((m) => m.symbol)).toEqual(SYMBOLS);
    for (const m of data.markets) {
      expect(m.symbol).toBe(`${m.base}/${m.quote}`);
      expect(m.tickSize).toMatch(DECIMAL);
      expect(m.lotSize).toMatch(DECIMAL);
      expect(m.active).toBe(true);
    }
  });

  it('orderBook read from Redis: ordered, exact, equal to the writer book, depth respected', async () => {
    for (const depth of [1, 7]) {
      const { orderBook } = await executeOk<{ orderBook: BookAnswer }>(
        stack.app,
        `query($d: Int!) { orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: $d) { ${BOOK_FIELDS} } }`,
        { d: depth },
      );
      expectWellFormed(orderBook, depth);
      expect(orderBook.seq).toBe(stack.reference.last('sim1', 'BTC/USDT')!.seq);
      expect(orderBook.region).toBe(REGION);
    }
    const { orderBook } = await executeOk<{ orderBook: BookAnswer }>(
      stack.app,
      `{ orderBook(exchange: "sim3", symbol: "KITE/USDT") { ${BOOK_FIELDS} } }`,
    );
    expectWellFormed(orderBook, 20);
  });

  it('orderBook from a live replica agrees with the writer too', async () => {
    const watcher = new ClientBook('sim2', 'SOL/USDT', 3);
    const handle = followBook(clients.ws(stack.wsUrl), watcher);
    await watcher.until(() => watcher.hasBook);
    expect(stack.hub.liveReplica('sim2', 'SOL/USDT')).toBeDefined();
    const { orderBook } = await executeOk<{ orderBook: BookAnswer }>(
      stack.app,
      `{ orderBook(exchange: "sim2", symbol: "SOL/USDT", depth: 12) { ${BOOK_FIELDS} } }`,
    );
    handle.unsubscribe();
    expectWellFormed(orderBook, 12);
  });

  it('ticker and tickers', async () => {
    interface Ticker {
      exchange: string;
      symbol: string;
      seq: number;
      bestBid: Level;
      bestAsk: Level;
      mid: string;
      spread: string;
      lastTrade: { price: string; amount: string; side: string } | null;
    }
    const fields =
      'exchange symbol seq bestBid { price size } bestAsk { price size } mid spread lastTrade { price amount side }';
    const data = await executeOk<{ ticker: Ticker; tickers: Ticker[] }>(
      stack.app,
      `{ ticker(exchange: "sim2", symbol: "ETH/USDT") { ${fields} } tickers(exchange: "sim3") { ${fields} } }`,
    );
    expect(data.tickers.map((t) => t.symbol)).toEqual(SYMBOLS);
    for (const t of [data.ticker, ...data.tickers]) {
      const last = stack.reference.last(t.exchange, t.symbol)!;
      expect(t.seq).toBe(last.seq);
      const top = stack.reference.top(t.exchange, t.symbol, last.epoch, last.seq, 1)!;
      expect([t.bestBid.price, t.bestBid.size]).toEqual(top.bids[0]);
      expect([t.bestAsk.price, t.bestAsk.size]).toEqual(top.asks[0]);
      expect(Number(t.mid)).toBeCloseTo((Number(t.bestBid.price) + Number(t.bestAsk.price)) / 2, 8);
      expect(t.spread).toMatch(DECIMAL);
      if (t.lastTrade) {
        expect(t.lastTrade.price).toMatch(DECIMAL);
        expect(t.lastTrade.amount).toMatch(DECIMAL);
        expect(['BUY', 'SELL']).toContain(t.lastTrade.side);
      }
    }
    // Twenty rounds at a 25% trade chance per book: some book of sim3 has traded.
    expect(data.tickers.some((t) => t.lastTrade !== null)).toBe(true);
  });
});

describe('bad input gets a typed error and the server stays healthy', () => {
  const cases: { name: string; query: string; variables?: Record<string, unknown>; code: string }[] = [
    {
      name: 'unknown exchange (markets)',
      query: '{ markets(exchange: "nope") { symbol } }',
      code: 'EXCHANGE_NOT_FOUND',
    },
    {
      name: 'unknown exchange (tickers)',
      query: '{ tickers(exchange: "nope") { symbol } }',
      code: 'EXCHANGE_NOT_FOUND',
    },
    {
      name: 'unknown exchange (orderBook)',
      query: '{ orderBook(exchange: "nope", symbol: "BTC/USDT") { seq } }',
      code: 'MARKET_NOT_FOUND',
    },
    {
      name: 'unknown symbol',
      query: '{ orderBook(exchange: "sim1", symbol: "DOGE/USDT") { seq } }',
      code: 'MARKET_NOT_FOUND',
    },
    {
      name: 'unknown symbol (ticker)',
      query: '{ ticker(exchange: "sim1", symbol: "X/Y") { seq } }',
      code: 'MARKET_NOT_FOUND',
    },
    {
      name: 'depth 0',
      query: '{ orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 0) { seq } }',
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'depth 101',
      query: '{ orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 101) { seq } }',
      code: 'BAD_USER_INPUT',
    },
  ];

  it.each(cases)('$name -> $code', async ({ query, variables, code }) => {
    const { body } = await execute(stack.app, query, variables);
    expect(codes(body.errors)).toEqual([code]);
    expect(body.errors![0]!.message).not.toMatch(/Unexpected error/);
  });

  it('depth 2.5 as a variable is refused before any resolver runs', async () => {
    const { status, body } = await execute(
      stack.app,
      'query($d: Int!) { orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: $d) { seq } }',
      { d: 2.5 },
    );
    expect(status).toBe(400);
    expect(body.errors?.[0]?.message).toMatch(/\$d.*non-integer/);
  });

  it('depth 2.5 as a variable carries extensions.code BAD_USER_INPUT', async () => {
    const { body } = await execute(
      stack.app,
      'query($d: Int!) { orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: $d) { seq } }',
      { d: 2.5 },
    );
    expect(codes(body.errors)).toEqual(['BAD_USER_INPUT']);
  });

  it('depth 2.5 as a literal is refused by validation, not masked', async () => {
    const { status, body } = await execute(
      stack.app,
      '{ orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 2.5) { seq } }',
    );
    expect(status).toBe(400);
    expect(body.errors?.[0]?.message).toMatch(/Int cannot represent non-integer value/);
    expect(codes(body.errors)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('a listed market whose book was never written -> BOOK_UNAVAILABLE', async () => {
    await new BookStore(stack.redis, REGION).writeMarkets('simx', [
      {
        exchange: 'simx',
        symbol: 'NEW/USDT',
        base: 'NEW',
        quote: 'USDT',
        tickSize: '0.01',
        lotSize: '1',
        minAmount: '1',
        active: true,
      },
    ]);
    const { body } = await execute(stack.app, '{ orderBook(exchange: "simx", symbol: "NEW/USDT") { seq } }');
    expect(codes(body.errors)).toEqual(['BOOK_UNAVAILABLE']);
  });

  it('subscription argument errors reach graphql-ws and SSE clients with their codes', async () => {
    const ws = clients.ws(stack.wsUrl);
    const throttled = `subscription($t: Int!) {
      orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 5, throttleMs: $t) { seq }
    }`;
    const attempts = [
      {
        query: ORDER_BOOK_UPDATES,
        variables: { exchange: 'sim1', symbol: 'BTC/USDT', depth: 0 },
        code: 'BAD_USER_INPUT',
      },
      {
        query: ORDER_BOOK_UPDATES,
        variables: { exchange: 'sim1', symbol: 'BTC/USDT', depth: 101 },
        code: 'BAD_USER_INPUT',
      },
      {
        query: ORDER_BOOK_UPDATES,
        variables: { exchange: 'sim1', symbol: 'NOPE', depth: 5 },
        code: 'MARKET_NOT_FOUND',
      },
      {
        query: ORDER_BOOK_UPDATES,
        variables: { exchange: 'nope', symbol: 'BTC/USDT', depth: 5 },
        code: 'MARKET_NOT_FOUND',
      },
      { query: throttled, variables: { t: 5 }, code: 'BAD_USER_INPUT' },
      { query: throttled, variables: { t: 60_001 }, code: 'BAD_USER_INPUT' },
    ];
    for (const client of [ws, clients.sse(stack.httpUrl)]) {
      for (const { query, variables, code } of attempts) {
        const data: unknown[] = [];
        const handle = subscribe(client, query, variables, (d) => data.push(d));
        const end = await handle.done;
        expect(codes(handle.errors), `${JSON.stringify(variables)} (${end.kind})`).toEqual([code]);
        expect(data).toEqual([]);
      }
    }
    // The same graphql-ws connection still serves a valid subscription, and HTTP still answers.
    const book = new ClientBook('sim1', 'BTC/USDT', 5);
    const handle = followBook(ws, book);
    await book.until(() => book.hasBook);
    handle.unsubscribe();
    expect(book.violations).toEqual([]);
    const { region } = await executeOk<{ region: string }>(stack.app, '{ region }');
    expect(region).toBe(REGION);
    for (const path of ['/health', '/ready']) {
      const response = await stack.app.yoga.fetch(`http://bookgraph.test${path}`);
      expect(response.status, path).toBe(200);
    }
  });
});
