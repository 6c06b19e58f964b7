import { decimalPlaces, ticksToDecimal } from './decimal.ts';
import type { Feed, FeedSink } from './feed.ts';
import { createPrng, normal } from './prng.ts';
import type { Level, Market, RawBookUpdate, Trade } from './types.ts';

interface SimAsset {
  base: string;
  price: number;
  tickSize: string;
  lotSize: string;
  minAmount: string;
  /** Sensitivity to the common market factor. */
  beta: number;
  /** Typical top-of-book size, in lots. */
  lotsAtTop: number;
  spreadTicks: number;
}

interface SimVenue {
  id: string;
  liquidity: number;
  spreadFactor: number;
}

/** Ids no real exchange uses, so simulated books can never be mistaken for a venue's. */
export const SIM_VENUES: readonly SimVenue[] = [
  { id: 'sim1', liquidity: 1.0, spreadFactor: 1.0 },
  { id: 'sim2', liquidity: 0.6, spreadFactor: 1.6 },
  { id: 'sim3', liquidity: 0.3, spreadFactor: 2.5 },
];

/** The simulated venues' ids, in order: what `FEEDS=sim:<venue>` may name. */
export const SIM_VENUE_IDS: readonly string[] = SIM_VENUES.map((v) => v.id);

/**
 * The simulated venues a `FEEDS` list asks for, in SIM_VENUES order: all of them for `sim`, else
 * each one named `sim:<venue>`; none when the list names no simulator feed.
 */
export function simulatedVenues(feeds: readonly string[]): string[] {
  if (feeds.includes('sim')) return [...SIM_VENUE_IDS];
  const named = new Set(feeds.flatMap((f) => (f.startsWith('sim:') ? [f.slice(4)] : [])));
  return SIM_VENUE_IDS.filter((id) => named.has(id));
}

const SIM_ASSETS: readonly SimAsset[] = [
  {
    base: 'BTC',
    price: 64210.5,
    tickSize: '0.1',
    lotSize: '0.00001',
    minAmount: '0.0001',
    beta: 1,
    lotsAtTop: 40_000,
    spreadTicks: 2,
  },
  {
    base: 'ETH',
    price: 3187.42,
    tickSize: '0.01',
    lotSize: '0.0001',
    minAmount: '0.001',
    beta: 1.2,
    lotsAtTop: 60_000,
    spreadTicks: 3,
  },
  {
    base: 'SOL',
    price: 148.213,
    tickSize: '0.001',
    lotSize: '0.01',
    minAmount: '0.1',
    beta: 1.5,
    lotsAtTop: 9_000,
    spreadTicks: 6,
  },
  // A small-cap token: wide tick-relative spread, thin book, large lot counts.
  {
    base: 'KITE',
    price: 0.042137,
    tickSize: '0.000001',
    lotSize: '1',
    minAmount: '100',
    beta: 2.2,
    lotsAtTop: 250_000,
    spreadTicks: 9,
  },
];

/** Trading rules every simulated market shares: orders of 5 to 5,000,000 USDT, up to 10^8 lots. */
const SIM_MIN_NOTIONAL = '5';
const SIM_MAX_NOTIONAL = '5000000';
const SIM_MAX_ORDER_LOTS = 100_000_000;

export const SIM_SYMBOLS: readonly string[] = SIM_ASSETS.map((a) => `${a.base}/USDT`);

export interface SimulatorOptions {
  /** Same seed, same books, trades and sequence of changes. @default 42 */
  seed?: number;
  /** Book updates per second for each book. @default 10 */
  updatesPerSecond?: number;
  /** Venues to run. @default ['sim1', 'sim2', 'sim3'] */
  venues?: readonly string[];
  /** Symbols to list on every venue. @default all four */
  symbols?: readonly string[];
  /** Levels kept per side, at least. @default 50 */
  minLevels?: number;
  /** Wall clock, injectable for tests. @default Date.now */
  clock?: () => number;
}

interface SimBook {
  venue: SimVenue;
  asset: SimAsset;
  market: Market;
  bids: Map<number, number>;
  asks: Map<number, number>;
  snapshotSent: boolean;
  tradeId: number;
}

const MARKET_SIGMA = 0.0001;
const IDIOSYNCRATIC_SIGMA = 0.00005;

/**
 * Deterministic market simulator, the embedded default feed. Mid prices follow correlated random
 * walks (one common factor, a beta per asset); each venue quotes around the shared fair price
 * with its own spread and depth. Output depends only on the seed and the number of rounds.
 */
export class MarketSimulator implements Feed {
  readonly name = 'simulator';
  private readonly random: () => number;
  private readonly books: SimBook[] = [];
  private readonly fair = new Map<string, number>();
  private readonly clock: () => number;
  private readonly minLevels: number;
  private readonly updatesPerSecond: number;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(options: SimulatorOptions = {}) {
    this.random = createPrng(options.seed ?? 42);
    this.clock = options.clock ?? Date.now;
    this.minLevels = options.minLevels ?? 50;
    this.updatesPerSecond = options.updatesPerSecond ?? 10;
    const venueIds = options.venues ?? SIM_VENUES.map((v) => v.id);
    const symbols = options.symbols ?? SIM_SYMBOLS;
    for (const asset of SIM_ASSETS) this.fair.set(asset.base, asset.price);
    for (const venueId of venueIds) {
      const venue = SIM_VENUES.find((v) => v.id === venueId);
      if (!venue)
        throw new Error(
          `unknown simulated venue "${venueId}"; known: ${SIM_VENUES.map((v) => v.id).join(', ')}`,
        );
      for (const asset of SIM_ASSETS) {
        const symbol = `${asset.base}/USDT`;
        if (!symbols.includes(symbol)) continue;
        const market: Market = {
          exchange: venue.id,
          symbol,
          base: asset.base,
          quote: 'USDT',
          tickSize: asset.tickSize,
          lotSize: asset.lotSize,
          minAmount: asset.minAmount,
          maxAmount: ticksToDecimal(SIM_MAX_ORDER_LOTS, asset.lotSize),
          minNotional: SIM_MIN_NOTIONAL,
          maxNotional: SIM_MAX_NOTIONAL,
          pricePrecision: decimalPlaces(asset.tickSize),
          amountPrecision: decimalPlaces(asset.lotSize),
          active: true,
        };
        const book: SimBook = {
          venue,
          asset,
          market,
          bids: new Map(),
          asks: new Map(),
          snapshotSent: false,
          tradeId: 0,
        };
        this.seedBook(book);
        this.books.push(book);
      }
    }
  }

  markets(): Market[] {
    return this.books.map((b) => b.market);
  }

  /** Advances every book by one update; the first round yields each book's snapshot. */
  round(): { books: RawBookUpdate[]; trades: Trade[] } {
    this.stepFairPrices();
    const now = this.clock();
    const updates: RawBookUpdate[] = [];
    const trades: Trade[] = [];
    for (const book of this.books) {
      if (!book.snapshotSent) {
        book.snapshotSent = true;
        updates.push(this.snapshotOf(book, now));
        continue;
      }
      const changes = new Map<string, number>();
      this.stepBook(book, changes);
      const trade = this.maybeTrade(book, changes, now);
      if (trade) trades.push(trade);
      updates.push(this.deltaOf(book, changes, now));
    }
    return { books: updates, trades };
  }

  /** The current full book of one market, as a snapshot update (used to resynchronise). */
  snapshot(exchange: string, symbol: string): RawBookUpdate | undefined {
    const book = this.books.find((b) => b.market.exchange === exchange && b.market.symbol === symbol);
    return book && this.snapshotOf(book, this.clock());
  }

  async start(sink: FeedSink): Promise<void> {
    if (this.running) return;
    this.running = true;
    const startedAt = performance.now();
    let done = 0;
    // At most one second's rounds per tick: a process that stalled (a starved machine) skips the
    // rest rather than emitting it in one burst, which there takes longer than the time it
    // stands for, falls further behind, and never yields to I/O again (seen: 27 minutes).
    const burst = Math.max(1, Math.ceil(this.updatesPerSecond));
    // Open-loop schedule: emit every round that is due, so a slow tick never lowers the rate.
    const tick = () => {
      if (!this.running) return;
      const due = Math.floor(((performance.now() - startedAt) * this.updatesPerSecond) / 1000) + 1;
      if (due - done > burst) done = due - burst;
      for (; done < due && this.running; done++) {
        const { books, trades } = this.round();
        for (const update of books) sink.book(update);
        for (const trade of trades) sink.trade(trade);
      }
      const nextIn = (done * 1000) / this.updatesPerSecond - (performance.now() - startedAt);
      this.timer = setTimeout(tick, Math.max(0, nextIn));
    };
    tick();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
  }

  private stepFairPrices(): void {
    const common = normal(this.random);
    for (const asset of SIM_ASSETS) {
      const move = asset.beta * MARKET_SIGMA * common + IDIOSYNCRATIC_SIGMA * normal(this.random);
      this.fair.set(asset.base, this.fair.get(asset.base)! * Math.exp(move));
    }
  }

  private quoteTicks(book: SimBook): { bid: number; ask: number } {
    const tick = Number(book.asset.tickSize);
    const mid = this.fair.get(book.asset.base)! / tick;
    const spread = Math.max(
      1,
      Math.round(book.asset.spreadTicks * book.venue.spreadFactor * (0.6 + this.random() * 0.8)),
    );
    const bid = Math.floor(mid - spread / 2);
    return { bid, ask: bid + spread };
  }

  private randomLots(book: SimBook, distanceFromTop: number): number {
    const scale = book.asset.lotsAtTop * book.venue.liquidity * (1 + distanceFromTop * 0.08);
    return Math.max(1, Math.round(scale * Math.exp(normal(this.random) * 0.6)));
  }

  private seedBook(book: SimBook): void {
    const { bid, ask } = this.quoteTicks(book);
    let b = bid;
    let a = ask;
    const levels = this.minLevels + 10;
    for (let i = 0; i < levels; i++) {
      book.bids.set(b, this.randomLots(book, i));
      book.asks.set(a, this.randomLots(book, i));
      b -= 1 + Math.floor(this.random() * 3);
      a += 1 + Math.floor(this.random() * 3);
    }
  }

  private stepBook(book: SimBook, changes: Map<string, number>): void {
    const { bid, ask } = this.quoteTicks(book);
    const set = (side: 'b' | 'a', tick: number, lots: number) => {
      const levels = side === 'b' ? book.bids : book.asks;
      if (lots === 0) levels.delete(tick);
      else levels.set(tick, lots);
      changes.set(`${side}${tick}`, lots);
    };
    // Quotes that would cross the new touch are pulled; the touch is always quoted.
    for (const tick of book.bids.keys()) if (tick > bid) set('b', tick, 0);
    for (const tick of book.asks.keys()) if (tick < ask) set('a', tick, 0);
    if (!book.bids.has(bid)) set('b', bid, this.randomLots(book, 0));
    if (!book.asks.has(ask)) set('a', ask, this.randomLots(book, 0));
    // A few size changes, mostly near the top, some cancels deeper in.
    const touches = 1 + Math.floor(this.random() * 4);
    for (let i = 0; i < touches; i++) {
      const side = this.random() < 0.5 ? 'b' : 'a';
      const ticks = sortedTicks(side === 'b' ? book.bids : book.asks, side === 'b');
      let depth = 0;
      while (depth < ticks.length - 1 && this.random() > 0.3) depth++;
      const tick = ticks[depth]!;
      const cancel = depth > 0 && this.random() < 0.15;
      set(side, tick, cancel ? 0 : this.randomLots(book, depth));
    }
    for (const side of ['b', 'a'] as const) {
      const levels = side === 'b' ? book.bids : book.asks;
      const ticks = sortedTicks(levels, side === 'b');
      const maxLevels = this.minLevels + 30;
      for (let i = ticks.length - 1; i >= maxLevels; i--) set(side, ticks[i]!, 0);
      let far = ticks[Math.min(ticks.length, maxLevels) - 1]!;
      for (let n = levels.size; n < this.minLevels; n++) {
        far += (side === 'b' ? -1 : 1) * (1 + Math.floor(this.random() * 3));
        set(side, far, this.randomLots(book, n));
      }
    }
  }

  private maybeTrade(book: SimBook, changes: Map<string, number>, now: number): Trade | undefined {
    if (this.random() > 0.25) return undefined;
    const side = this.random() < 0.5 ? 'buy' : 'sell';
    const levels = side === 'buy' ? book.asks : book.bids;
    const tick = sortedTicks(levels, side === 'sell')[0]!;
    const available = levels.get(tick)!;
    const lots = Math.max(1, Math.floor(available * this.random() * 0.5));
    const remaining = available - lots;
    // The top level is never emptied by a trade, so the touch stays quoted.
    levels.set(tick, Math.max(1, remaining));
    changes.set(`${side === 'buy' ? 'a' : 'b'}${tick}`, Math.max(1, remaining));
    book.tradeId += 1;
    return {
      exchange: book.market.exchange,
      symbol: book.market.symbol,
      id: String(book.tradeId),
      price: ticksToDecimal(tick, book.asset.tickSize),
      amount: ticksToDecimal(lots, book.asset.lotSize),
      side,
      exchangeTs: now,
      receiveTs: now,
    };
  }

  private level(book: SimBook, tick: number, lots: number): Level {
    return [ticksToDecimal(tick, book.asset.tickSize), ticksToDecimal(lots, book.asset.lotSize)];
  }

  private snapshotOf(book: SimBook, now: number): RawBookUpdate {
    return {
      kind: 'snapshot',
      exchange: book.market.exchange,
      symbol: book.market.symbol,
      bids: sortedTicks(book.bids, true).map((t) => this.level(book, t, book.bids.get(t)!)),
      asks: sortedTicks(book.asks, false).map((t) => this.level(book, t, book.asks.get(t)!)),
      exchangeTs: now,
      receiveTs: now,
    };
  }

  private deltaOf(book: SimBook, changes: Map<string, number>, now: number): RawBookUpdate {
    const bids: Level[] = [];
    const asks: Level[] = [];
    for (const [key, lots] of changes) {
      const tick = Number(key.slice(1));
      (key[0] === 'b' ? bids : asks).push(this.level(book, tick, lots));
    }
    return {
      kind: 'delta',
      exchange: book.market.exchange,
      symbol: book.market.symbol,
      bids,
      asks,
      exchangeTs: now,
      receiveTs: now,
    };
  }
}

function sortedTicks(levels: Map<number, number>, descending: boolean): number[] {
  const ticks = [...levels.keys()];
  return ticks.sort(descending ? (x, y) => y - x : (x, y) => x - y);
}
