import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BookStore } from '../../src/redis/book-store.ts';
import { Wakeups } from '../helpers/book-checker.ts';
import { decimal, product, ratio, units } from '../helpers/exact.ts';
import { type Clients, executeOk, subscribe, trackedClients } from '../helpers/graphql-clients.ts';
import { mergeBooks, type VenueLevels, writeCrossingBook } from '../helpers/merged-book.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { REGION, type Stack, startStack } from '../helpers/stack.ts';

const S = 'BTC/USDT';
const VENUES = ['sim1', 'sim2', 'sim3'];
const DEPTH = 10;
const ALL = 10_000;

let redis: TestRedis;
let stack: Stack;
let clients: Clients;

interface WireLevel {
  price: string;
  size: string;
  venues: { exchange: string; size: string }[];
}
interface WireConsolidated {
  crossed: boolean;
  stale: boolean;
  staleVenues: string[];
  unavailableVenues: string[];
  venues: { exchange: string; epoch: string; seq: number; stale: boolean }[];
  bids: WireLevel[];
  asks: WireLevel[];
  bestBid: WireLevel | null;
  bestAsk: WireLevel | null;
}
const FIELDS = `crossed stale staleVenues unavailableVenues venues { exchange epoch seq stale }
  bids { price size venues { exchange size } } asks { price size venues { exchange size } }
  bestBid { price size venues { exchange size } } bestAsk { price size venues { exchange size } }`;

const messages: WireConsolidated[] = [];
const wakeups = new Wakeups();

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startStack(redis, {
    simulator: { seed: 21, updatesPerSecond: 60, symbols: [S] },
    limits: { staleAfterMs: 600_000 },
  });
  clients = trackedClients();
  subscribe<WireConsolidated>(
    clients.ws(stack.wsUrl),
    `subscription($s: String!) { consolidatedBook(symbol: $s, depth: ${DEPTH}, throttleMs: 20) { ${FIELDS} } }`,
    { s: S },
    (m) => {
      messages.push(m);
      wakeups.notify();
    },
  );
  await stack.reference.until(() => stack.reference.count('sim3', S) >= 60, 60_000, '60 rounds');
  // On a loaded machine the subscription may start late: let it carry a run before the stop.
  await wakeups.until(() => messages.length > 5, 60_000, 'the consolidated stream running');
  await stack.stopIngester();
});

afterAll(async () => {
  await clients?.dispose();
  await stack?.stop();
  await redis?.stop();
});

function referenceBook(exchange: string, depth: number, epoch?: string, seq?: number): VenueLevels {
  const last = stack.reference.last(exchange, S)!;
  const top = stack.reference.top(exchange, S, epoch ?? last.epoch, seq ?? last.seq, depth);
  if (!top) throw new Error(`${exchange} (${epoch}, ${seq}) was never written`);
  return { exchange, ...top };
}

const BANDS = ['0.5', '1', '2'];
const FIGURES = 'mid spread spreadBps bands { percent bidBase bidQuote askBase askQuote imbalance }';

interface WireFigures {
  mid: string | null;
  spread: string | null;
  spreadBps: string | null;
  bands: {
    percent: string;
    bidBase: string;
    bidQuote: string;
    askBase: string;
    askQuote: string;
    imbalance: string | null;
  }[];
}
interface WireLiquidity {
  symbol: string;
  consolidated: WireFigures;
  venues: (WireFigures & {
    exchange: string;
    stale: boolean;
    shares: { percent: string; share: string }[];
  })[];
}

/** Mid in units (exact: one extra place always suffices). */
function midOf(book: VenueLevels): bigint | null {
  const bid = book.bids[0];
  const ask = book.asks[0];
  return bid && ask ? (units(bid[0]) + units(ask[0])) / 2n : null;
}

/** Size within p % of mid: bid price × 100 >= mid × (100 - p), ask price × 100 <= mid × (100 + p). */
function bandDepth(book: VenueLevels, mid: bigint, p: string) {
  const lower = mid * (units('100') - units(p));
  const upper = mid * (units('100') + units(p));
  const hundred = units('100');
  let bidBase = 0n;
  let bidQuote = 0n;
  let askBase = 0n;
  let askQuote = 0n;
  for (const [price, size] of book.bids) {
    if (units(price) * hundred < lower) continue;
    bidBase += units(size);
    bidQuote += product(price, size);
  }
  for (const [price, size] of book.asks) {
    if (units(price) * hundred > upper) continue;
    askBase += units(size);
    askQuote += product(price, size);
  }
  return { bidBase, bidQuote, askBase, askQuote };
}

function figures(book: VenueLevels, mid: bigint): WireFigures {
  const spread = units(book.asks[0]![0]) - units(book.bids[0]![0]);
  return {
    mid: decimal(mid),
    spread: decimal(spread),
    spreadBps: ratio(spread * 10_000n, mid, 2),
    bands: BANDS.map((p) => {
      const d = bandDepth(book, mid, p);
      return {
        percent: p,
        bidBase: decimal(d.bidBase),
        bidQuote: decimal(d.bidQuote),
        askBase: decimal(d.askBase),
        askQuote: decimal(d.askQuote),
        imbalance:
          d.bidBase + d.askBase === 0n ? null : ratio(d.bidBase - d.askBase, d.bidBase + d.askBase, 6),
      };
    }),
  };
}

describe('consolidated book', () => {
  it('query: the merge of the venues’ reference books, with attribution and the BBO across venues', async () => {
    const data = await executeOk<{ consolidatedBook: WireConsolidated }>(
      stack.app,
      `{ consolidatedBook(symbol: "${S}", depth: ${DEPTH}) { ${FIELDS} } }`,
    );
    const book = data.consolidatedBook;
    const expected = mergeBooks(
      VENUES.map((x) => referenceBook(x, DEPTH)),
      DEPTH,
    );
    expect({ bids: book.bids, asks: book.asks }).toEqual(expected);
    expect(book.bestBid).toEqual(expected.bids[0]);
    expect(book.bestAsk).toEqual(expected.asks[0]);
    expect(book.crossed).toBe(false);
    expect(book.venues.map((v) => [v.exchange, v.seq])).toEqual(
      VENUES.map((x) => [x, stack.reference.last(x, S)!.seq]),
    );
    expect(book.staleVenues).toEqual([]);
    expect(book.unavailableVenues).toEqual([]);
    // A venue quoting the best price on two venues shows both.
    expect(book.bids.some((l) => l.venues.length > 1) || book.asks.some((l) => l.venues.length > 1)).toBe(
      true,
    );
  });

  it('subscription: every message equals the merge of the venues’ books at the (epoch, seq) it names', async () => {
    await wakeups.until(
      () => messages.at(-1)?.venues.every((v) => v.seq === stack.reference.last(v.exchange, S)?.seq) ?? false,
      60_000,
      'the consolidated stream to reach the last events',
    );
    expect(messages.length).toBeGreaterThan(5);
    for (const m of messages) {
      const books = m.venues.map((v) => referenceBook(v.exchange, DEPTH, v.epoch, v.seq));
      expect({ bids: m.bids, asks: m.asks }).toEqual(mergeBooks(books, DEPTH));
    }
  });

  it('liquidity: depth bands, spread, imbalance and venue shares equal an independent BigInt computation', async () => {
    const data = await executeOk<{ liquidity: WireLiquidity }>(
      stack.app,
      `{ liquidity(symbol: "${S}") { symbol consolidated { ${FIGURES} }
        venues { exchange stale ${FIGURES} shares { percent share } } } }`,
    );
    const books = VENUES.map((x) => referenceBook(x, ALL));
    const merged = mergeBooks(books, ALL);
    const mergedBook: VenueLevels = {
      exchange: '*',
      bids: merged.bids.map((l) => [l.price, l.size] as const),
      asks: merged.asks.map((l) => [l.price, l.size] as const),
    };
    const consolidatedMid = midOf(mergedBook)!;
    expect(data.liquidity.consolidated).toEqual(figures(mergedBook, consolidatedMid));
    expect(data.liquidity.venues).toEqual(
      books.map((b) => ({
        exchange: b.exchange,
        stale: false,
        ...figures(b, midOf(b)!),
        shares: BANDS.map((p) => {
          const band = bandDepth(mergedBook, consolidatedMid, p);
          const mine = bandDepth(b, consolidatedMid, p);
          return {
            percent: p,
            share: ratio(mine.bidQuote + mine.askQuote, band.bidQuote + band.askQuote, 6),
          };
        }),
      })),
    );
    // Shares of one band add up to 1 (to rounding).
    for (const [i] of BANDS.entries()) {
      const sum = data.liquidity.venues.reduce((a, v) => a + units(v.shares[i]!.share), 0n);
      expect(sum - units('1') <= units('0.000003') && units('1') - sum <= units('0.000003')).toBe(true);
    }
  });

  it('serves a crossed book as it is and flags it, in the query and the stream', async () => {
    const sim1 = referenceBook('sim1', ALL);
    const bestAsk = sim1.asks[0]!;
    const crossingBid = await writeCrossingBook(new BookStore(redis.client(), REGION), 'sim3', S, bestAsk[0]);
    const data = await executeOk<{ consolidatedBook: WireConsolidated }>(
      stack.app,
      `{ consolidatedBook(symbol: "${S}", depth: 5) { ${FIELDS} } }`,
    );
    expect(data.consolidatedBook.crossed).toBe(true);
    expect(data.consolidatedBook.bestBid).toEqual({
      price: crossingBid,
      size: '0.5',
      venues: [{ exchange: 'sim3', size: '0.5' }],
    });
    expect(data.consolidatedBook.bestAsk?.price).toBe(
      [bestAsk[0], referenceBook('sim2', 1).asks[0]![0]].sort((a, b) => Number(a) - Number(b))[0],
    );
    await wakeups.until(() => messages.at(-1)?.crossed === true, 60_000, 'a crossed message');
    expect(messages.at(-1)?.venues.find((v) => v.exchange === 'sim3')?.epoch).toBe('forced-cross');
  });
});
