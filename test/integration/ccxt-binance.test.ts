import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canonicalDecimal } from '../../src/marketdata/decimal.ts';
import { type FakeBinance, startFakeBinance } from '../fakes/fake-binance.ts';
import { ClientBook, checkClients } from '../helpers/book-checker.ts';
import {
  type CcxtStack,
  checkAgainstVenue,
  checkServedVenueSeq,
  startCcxtStack,
  stopCcxtTest,
  untilFirstBooks,
  untilVenueBook,
} from '../helpers/ccxt-stack.ts';
import {
  type Clients,
  executeOk,
  followBook,
  type SubscriptionHandle,
  trackedClients,
  VENUE_BOOK_UPDATES,
} from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';

/**
 * Binance spot through unmodified ccxt: REST snapshot + diff stream (`U`/`u`) on a local fake
 * venue, through CcxtFeed, the ingester, Redis and the server, to graphql-ws clients. The fake
 * knows its own book at every update id, so every book bookgraph served is checked against it.
 * Like the real venue, the fake lists BTCUSDT and ETHUSDT as USDⓈ-M perpetuals too, under the same
 * ids: with a plain `ws://host:port` override, ccxt took every spot diff for the perpetual's and
 * the spot books froze after their snapshots (issue 11); these tests catch that.
 */
const EXCHANGE = 'binance';
const BTC = 'BTC/USDT';
const ETH = 'ETH/USDT';
/** Deeper than the fake's book: the client holds the whole book. */
const DEPTH = 100;

let redis: TestRedis;
let venue: FakeBinance;
let stack: CcxtStack;
let clients: Clients;
const handles: SubscriptionHandle[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
  venue = await startFakeBinance();
  stack = await startCcxtStack(redis, venue);
  clients = trackedClients();
  await untilFirstBooks(stack, venue);
});

afterEach(() => {
  for (const h of handles.splice(0)) h.unsubscribe();
});

afterAll(() => stopCcxtTest({ clients, stack, venue, redis }));

async function follow(symbol: string): Promise<ClientBook> {
  const book = new ClientBook(EXCHANGE, symbol, DEPTH);
  handles.push(followBook(clients.ws(stack.wsUrl), book, VENUE_BOOK_UPDATES));
  await book.until(() => book.hasBook, 10_000, `${symbol} snapshot`);
  return book;
}

async function expectConsistent(books: ClientBook[]): Promise<void> {
  for (const book of books) await book.untilCovered(stack.reference);
  expect(checkClients(stack.reference, books)).toEqual([]);
  expect(checkAgainstVenue(stack.reference, stack.written, venue)).toEqual([]);
  // Every served message's venueSeq is the venue's update id (u) of the book the client holds.
  for (const book of books) expect(checkServedVenueSeq(book, venue)).toEqual([]);
  expect(venue.unknownRequests).toEqual([]);
}

describe('ccxt binance feed', () => {
  it('serves the venue markets, books and trades exactly', async () => {
    const { markets } = await executeOk<{ markets: Record<string, unknown>[] }>(
      stack.app,
      `{ markets(exchange: "binance") { exchange symbol base quote tickSize lotSize minAmount maxAmount
          minNotional maxNotional pricePrecision amountPrecision active } }`,
    );
    expect(markets).toEqual([
      {
        exchange: EXCHANGE,
        symbol: BTC,
        base: 'BTC',
        quote: 'USDT',
        tickSize: '0.01',
        lotSize: '0.00001',
        minAmount: '0.00001',
        maxAmount: '9000',
        minNotional: '5',
        maxNotional: '9000000',
        pricePrecision: 2,
        amountPrecision: 5,
        active: true,
      },
      {
        exchange: EXCHANGE,
        symbol: ETH,
        base: 'ETH',
        quote: 'USDT',
        tickSize: '0.01',
        lotSize: '0.0001',
        minAmount: '0.0001',
        maxAmount: '100000',
        minNotional: '5',
        maxNotional: '9000000',
        pricePrecision: 2,
        amountPrecision: 4,
        active: true,
      },
    ]);

    const books = [await follow(BTC), await follow(ETH)];
    await venue.untilSubscribed(BTC, 'trades');
    await venue.untilSubscribed(ETH, 'trades');
    for (let round = 0; round < 4; round++) {
      venue.step(10);
      for (const book of books) await untilVenueBook(stack.reference, venue, book);
    }
    await expectConsistent(books);
    // Binance sends "64210.49000000": the API serves the venue's decimal, canonical.
    expect(books[0]?.messages.some((m) => m.bids.some((l) => l.price.includes('.')))).toBe(true);

    // Trades: the venue's last trade is the ticker's, to the digit.
    const lastSent = venue.trades(BTC).at(-1)!;
    await stack.tap.until(
      () => stack.tap.trades.some((t) => t.id === lastSent.id && t.symbol === BTC),
      'BTC trade',
    );
    await stack.ingester?.drain();
    const { ticker, orderBook } = await executeOk<{
      ticker: { lastTrade: { price: string; amount: string; side: string; exchangeTimestamp: number } };
      orderBook: {
        venueSeq: number | null;
        exchangeTimestamp: number;
        bids: { price: string; size: string }[];
        asks: { price: string; size: string }[];
      };
    }>(
      stack.app,
      `{ ticker(exchange: "binance", symbol: "BTC/USDT") { lastTrade { price amount side exchangeTimestamp } }
         orderBook(exchange: "binance", symbol: "BTC/USDT", depth: ${DEPTH}) {
           venueSeq exchangeTimestamp bids { price size } asks { price size } } }`,
    );
    expect(ticker.lastTrade).toEqual({
      price: canonicalDecimal(lastSent.price),
      amount: canonicalDecimal(lastSent.amount),
      side: lastSent.side.toUpperCase(),
      exchangeTimestamp: lastSent.ts,
    });
    const venueTop = venue.book(BTC);
    expect(orderBook.bids.map((l) => [l.price, l.size])).toEqual(venueTop.bids);
    expect(orderBook.asks.map((l) => [l.price, l.size])).toEqual(venueTop.asks);
    // The served venueSeq is the venue's update id (u) of that very book: the venue's latest, or
    // the last one before updates that changed nothing (ccxt hands back no change, we write none).
    const served = orderBook.venueSeq;
    expect(typeof served).toBe('number');
    expect(served!).toBeLessThanOrEqual(venue.lastSeq(BTC));
    expect(venue.bookAt(BTC, served!)).toEqual(venueTop);
    const written = stack.written.filter((e) => e.symbol === BTC).at(-1);
    expect(served).toBe(written?.venueSeq);
    expect(orderBook.exchangeTimestamp).toBe(written?.exchangeTs);
    expect(stack.tap.count('connected')).toBeGreaterThanOrEqual(1);
  });

  it('a dropped diff: ccxt resynchronises, clients get RESET + SNAPSHOT and the right book', async () => {
    const book = await follow(BTC);
    venue.step(5);
    await untilVenueBook(stack.reference, venue, book);
    const btcEpochs = stack.reference.epochs(EXCHANGE, BTC).length;
    const ethEpochs = stack.reference.epochs(EXCHANGE, ETH).length;

    venue.dropNextDiff(BTC);
    venue.step(1, BTC); // never sent: the next diff's U does not follow the book's u
    venue.step(5, BTC);
    await stack.reference.until(
      () => stack.reference.epochs(EXCHANGE, BTC).length > btcEpochs,
      60_000,
      'a new BTC epoch',
    );
    venue.step(5, BTC);
    await untilVenueBook(stack.reference, venue, book);

    const afterReset = book.after((m) => m.type === 'RESET');
    expect(book.resets).toEqual(['NEW_EPOCH']);
    expect(afterReset[0]?.type).toBe('SNAPSHOT');
    expect(stack.tap.count('resync', BTC)).toBeGreaterThanOrEqual(1);
    // Our own U/u check saw the gap first (ccxt never got the diff that broke the chain).
    expect(
      stack.tap.health.filter((e) => e.kind === 'resync' && e.check === 'sequence').map((e) => e.symbol),
    ).toEqual([BTC]);
    // Only the broken book was rebuilt.
    expect(stack.reference.epochs(EXCHANGE, ETH)).toHaveLength(ethEpochs);
    await expectConsistent([book]);
  });

  it('a dropped connection: reconnects, resynchronises every book and serves the right books', async () => {
    const books = [await follow(BTC), await follow(ETH)];
    venue.step(3);
    for (const book of books) await untilVenueBook(stack.reference, venue, book);
    const connected = stack.tap.count('connected');
    const epochs = [BTC, ETH].map((s) => stack.reference.epochs(EXCHANGE, s).length);

    venue.dropConnections();
    await stack.tap.until(
      () => stack.tap.count('disconnected') > 0 && stack.tap.count('connected') > connected,
      'disconnected, then connected again',
    );
    venue.step(3); // may land before the new subscriptions: then the REST snapshot carries them
    await venue.untilSubscribed(BTC, 'book');
    await venue.untilSubscribed(ETH, 'book');
    venue.step(5);
    for (const book of books) await untilVenueBook(stack.reference, venue, book);

    [BTC, ETH].forEach((symbol, i) => {
      expect(stack.reference.epochs(EXCHANGE, symbol).length).toBeGreaterThan(epochs[i]!);
    });
    for (const book of books) expect(book.after((m) => m.type === 'RESET')[0]?.type).toBe('SNAPSHOT');
    await expectConsistent(books);
  });
});
