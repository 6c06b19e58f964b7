import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { BookEvent } from '../../src/marketdata/types.ts';
import { type Runtime, startRuntime } from '../../src/runtime.ts';
import { type FakeBinance, startFakeBinance } from '../fakes/fake-binance.ts';
import type { FakeVenue } from '../fakes/fake-market.ts';
import { type FakeOkx, startFakeOkx } from '../fakes/fake-okx.ts';
import { ClientBook, checkClients, ReferenceLog } from '../helpers/book-checker.ts';
import { checkAgainstVenue, checkServedVenueSeq, untilVenueBook } from '../helpers/ccxt-stack.ts';
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
 * Two venues with different sync models in one ingest process, configured as an operator would
 * (FEEDS, SYMBOLS, per-exchange EXCHANGE_REST_URL / EXCHANGE_WS_URL) and started by
 * `startRuntime`: Binance (REST snapshot + `U`/`u` diffs) and OKX (WebSocket snapshot +
 * `prevSeqId`/`seqId` chain). A broken chain or a dropped connection on OKX is repaired without
 * touching Binance's books.
 */
const OKX = 'okx';
const BTC = 'BTC/USDT';
const ETH = 'ETH/USDT';
const DEPTH = 100;

let redis: TestRedis;
let binance: FakeBinance;
let okx: FakeOkx;
let runtime: Runtime;
let clients: Clients;
let wsUrl: string;
const reference = new ReferenceLog();
const written: BookEvent[] = [];
const handles: SubscriptionHandle[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
  binance = await startFakeBinance();
  okx = await startFakeOkx();
  const config = loadConfig({
    REDIS_URL: redis.url,
    PORT: '0',
    REGION: 'test',
    FEEDS: 'ccxt:binance,ccxt:okx',
    SYMBOLS: `${BTC},${ETH}`,
    EXCHANGE_REST_URL: `binance=${binance.restUrl},okx=${okx.restUrl}`,
    EXCHANGE_WS_URL: `binance=${binance.wsUrl},okx=${okx.wsUrl}`,
  });
  runtime = await startRuntime({
    config,
    log: pino({ level: 'silent' }),
    ingest: true,
    serve: true,
    launchRedis: false,
    onWritten: (event) => {
      written.push(event);
      reference.record(event);
    },
  });
  wsUrl = `ws://127.0.0.1:${runtime.port}/graphql`;
  clients = trackedClients();
  await reference.until(
    () => ['binance', OKX].every((x) => reference.count(x, BTC) > 0 && reference.count(x, ETH) > 0),
    60_000,
    'the first snapshots of both venues',
  );
});

afterEach(() => {
  for (const h of handles.splice(0)) h.unsubscribe();
});

afterAll(async () => {
  await clients?.dispose();
  await runtime?.stop();
  await okx?.close();
  await binance?.close();
  await redis?.stop();
});

async function follow(venue: FakeVenue, symbol: string): Promise<ClientBook> {
  const book = new ClientBook(venue.id, symbol, DEPTH);
  handles.push(followBook(clients.ws(wsUrl), book, VENUE_BOOK_UPDATES));
  await book.until(() => book.hasBook, 10_000, `${venue.id} ${symbol} snapshot`);
  return book;
}

async function expectConsistent(books: ClientBook[]): Promise<void> {
  for (const book of books) await book.untilCovered(reference);
  expect(checkClients(reference, books)).toEqual([]);
  for (const venue of [binance, okx]) {
    expect(
      checkAgainstVenue(
        reference,
        written.filter((e) => e.exchange === venue.id),
        venue,
      ),
    ).toEqual([]);
    expect(venue.unknownRequests).toEqual([]);
  }
  // Every served venueSeq (OKX seqId, Binance u) names the venue book the client holds.
  for (const book of books) {
    expect(checkServedVenueSeq(book, book.exchange === okx.id ? okx : binance)).toEqual([]);
  }
}

const epochCounts = (exchange: string) => [BTC, ETH].map((s) => reference.epochs(exchange, s).length);

describe('ccxt feeds from configuration: binance and okx in one process', () => {
  it('lists both venues with the markets they publish', async () => {
    const data = await executeOk<{ exchanges: string[]; markets: Record<string, unknown>[] }>(
      runtime.app!,
      '{ exchanges markets(exchange: "okx") { symbol tickSize lotSize minAmount maxAmount minNotional maxNotional active } }',
    );
    expect(data.exchanges).toEqual(['binance', 'okx']);
    expect(data.markets[0]).toEqual({
      symbol: BTC,
      tickSize: '0.01',
      lotSize: '0.00001',
      minAmount: '0.00001',
      maxAmount: '9000',
      // OKX publishes no minimum order value; its maximum is the market-order size cap.
      minNotional: null,
      maxNotional: '9000000',
      active: true,
    });
  });

  it('serves both venues books as the venues hold them', async () => {
    const books = [await follow(okx, BTC), await follow(okx, ETH), await follow(binance, BTC)];
    for (let round = 0; round < 3; round++) {
      okx.step(10);
      binance.step(10);
      await untilVenueBook(reference, okx, books[0]!);
      await untilVenueBook(reference, okx, books[1]!);
      await untilVenueBook(reference, binance, books[2]!);
    }
    await expectConsistent(books);
  });

  it('a broken prevSeqId chain on okx: resync, RESET + SNAPSHOT, binance untouched', async () => {
    const book = await follow(okx, BTC);
    okx.step(3);
    await untilVenueBook(reference, okx, book);
    const okxEpochs = reference.epochs(OKX, BTC).length;
    const binanceEpochs = epochCounts('binance');

    okx.breakNextChain(BTC);
    okx.step(1, BTC);
    await reference.until(() => reference.epochs(OKX, BTC).length > okxEpochs, 60_000, 'a new okx epoch');
    okx.step(5);
    binance.step(5);
    await untilVenueBook(reference, okx, book);

    expect(book.resets).toEqual(['NEW_EPOCH']);
    expect(book.after((m) => m.type === 'RESET')[0]?.type).toBe('SNAPSHOT');
    expect(epochCounts('binance')).toEqual(binanceEpochs);
    await expectConsistent([book]);
  });

  it('a dropped okx connection: reconnect, resync, binance untouched', async () => {
    const books = [await follow(okx, BTC), await follow(okx, ETH)];
    const okxEpochs = epochCounts(OKX);
    const binanceEpochs = epochCounts('binance');

    okx.dropConnections();
    await reference.until(
      () => epochCounts(OKX).every((n, i) => n > okxEpochs[i]!),
      60_000,
      'new okx epochs after the reconnect',
    );
    okx.step(5);
    for (const book of books) await untilVenueBook(reference, okx, book);

    for (const book of books) expect(book.after((m) => m.type === 'RESET')[0]?.type).toBe('SNAPSHOT');
    expect(epochCounts('binance')).toEqual(binanceEpochs);
    await expectConsistent(books);
  });
});
