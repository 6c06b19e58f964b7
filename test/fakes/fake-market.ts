import { createPrng } from '../../src/marketdata/prng.ts';
import type { Wakeups } from '../helpers/book-checker.ts';
import { type BookChanges, type CanonicalBook, plainFormat, ScriptedBook } from './scripted-book.ts';
import type { VenueServer } from './venue-server.ts';

/** A market a fake venue lists, with the trading rules it publishes. */
export interface FakeMarketSpec {
  /** Unified symbol, BASE/QUOTE. */
  symbol: string;
  midTicks: number;
  priceDecimals: number;
  sizeDecimals: number;
  minQty: string;
  maxQty: string;
  minNotional: string;
  maxNotional: string;
}

export const FAKE_MARKETS: readonly FakeMarketSpec[] = [
  {
    symbol: 'BTC/USDT',
    midTicks: 6_421_050,
    priceDecimals: 2,
    sizeDecimals: 5,
    minQty: '0.00001',
    maxQty: '9000',
    minNotional: '5',
    maxNotional: '9000000',
  },
  {
    symbol: 'ETH/USDT',
    midTicks: 318_742,
    priceDecimals: 2,
    sizeDecimals: 4,
    minQty: '0.0001',
    maxQty: '100000',
    minNotional: '5',
    maxNotional: '9000000',
  },
];

export type VenueStream = 'book' | 'trades';

/** A trade as the fake venue sent it. */
export interface FakeTrade {
  id: string;
  price: string;
  amount: string;
  side: 'buy' | 'sell';
  ts: number;
}

/**
 * What tests need from any fake venue: drive the script, read the venue's own book (the truth a
 * test compares bookgraph's book with), and break things the way venues break.
 */
export interface FakeVenue {
  readonly id: string;
  readonly restUrl: string;
  readonly wsUrl: string;
  readonly markets: readonly FakeMarketSpec[];
  /** Advances the book of `symbol` (every listed symbol if omitted) by `count` updates. */
  step(count?: number, symbol?: string): void;
  /** The venue's current whole book, canonical decimals. */
  book(symbol: string): CanonicalBook;
  /** The venue's book right after the update with this sequence number (Binance `u`, OKX `seqId`). */
  bookAt(symbol: string, venueSeq: number): CanonicalBook | undefined;
  /** The sequence number of the venue's latest update. */
  lastSeq(symbol: string): number;
  /**
   * Where a written event sits in the venue's sequence, for a venue without sequence numbers
   * (Kraken: by its venue time). @default the event's venueSeq
   */
  positionOf?(event: { venueSeq?: number; exchangeTs: number }): number | undefined;
  trades(symbol: string): readonly FakeTrade[];
  /** How many connections follow the symbol's book or trade stream now. */
  subscribers(symbol: string, stream: VenueStream): number;
  /** Resolves once at least one connection follows the stream (checked on every (un)subscribe). */
  untilSubscribed(symbol: string, stream: VenueStream, timeoutMs?: number): Promise<void>;
  /** Cuts every WebSocket connection. */
  dropConnections(): void;
  /**
   * The book of `symbol` changes (its best bid's size) with no message sent and no sequence number
   * used: the REST book at the same sequence differs from the stream's, a divergence only an audit
   * against the REST book can see.
   */
  changeSilently(symbol: string): void;
  /** Every REST request the venue answered with 404 (should stay empty). */
  readonly unknownRequests: readonly string[];
  /** Every REST path and query the venue was asked for, in order. */
  readonly requests: readonly string[];
  close(): Promise<void>;
}

export function venueId(symbol: string, separator: string): string {
  return symbol.replace('/', separator);
}

/** A deterministic exchange clock: venue time follows the sequence, not the wall clock. */
export const VENUE_EPOCH_MS = 1_750_000_000_000;

/** One market a fake venue lists: its script, the venue's sequence and what the venue sent. */
export interface VenueMarket {
  readonly spec: FakeMarketSpec;
  /** The venue's own symbol: `BTCUSDT`, `BTC-USDT`. */
  readonly id: string;
  readonly book: ScriptedBook;
  /** The sequence number of the venue's latest update (Binance `u`, OKX `seqId`). */
  seq: number;
  /** The whole book right after each update, by sequence number. */
  readonly history: Map<number, CanonicalBook>;
  readonly trades: FakeTrade[];
}

/** One update of a market, for the venue to put in its own wire format. */
export interface VenueUpdate {
  /** The sequence number before the update; the update spans `prevSeq + 1` to the market's `seq`. */
  prevSeq: number;
  changes: BookChanges;
  /** Venue time of the update. */
  ts: number;
  /** The trade that comes with the update, if any. */
  trade: FakeTrade | undefined;
}

export interface VenueMarketsOptions {
  /** The venue's name: the fake's `id`, and in its errors. */
  venue: string;
  seed: number;
  markets: readonly FakeMarketSpec[];
  /** Between base and quote in the venue's symbol: '' for BTCUSDT, '-' for BTC-USDT. */
  idSeparator: string;
  /** Market i starts at sequence number `seqBase * (i + 1)`. */
  seqBase: number;
  /** How the venue writes decimals. @default plainFormat */
  format?: (units: bigint, decimals: number) => string;
  /**
   * How far the sequence moves per update: 1 to 3 (a Binance event may carry several updates,
   * OKX's step is arbitrary) or exactly one (Bybit's `u`). @default 'varying'
   */
  seqStep?: 'varying' | 'one';
}

/** The scripted markets of one fake venue, all driven from one seed. */
export class VenueMarkets {
  readonly venue: string;
  readonly specs: readonly FakeMarketSpec[];
  private readonly bySymbol = new Map<string, VenueMarket>();
  private readonly byId = new Map<string, VenueMarket>();
  private readonly random: () => number;
  private readonly seqStep: 'varying' | 'one';

  constructor(options: VenueMarketsOptions) {
    this.venue = options.venue;
    this.seqStep = options.seqStep ?? 'varying';
    this.specs = options.markets;
    this.random = createPrng(options.seed);
    options.markets.forEach((spec, i) => {
      const book = new ScriptedBook({ ...spec, seed: options.seed * 100 + i }, options.format ?? plainFormat);
      const seq = options.seqBase * (i + 1);
      const market: VenueMarket = {
        spec,
        id: venueId(spec.symbol, options.idSeparator),
        book,
        seq,
        history: new Map([[seq, book.canonical()]]),
        trades: [],
      };
      this.bySymbol.set(spec.symbol, market);
      this.byId.set(market.id, market);
    });
  }

  get(symbol: string): VenueMarket {
    const market = this.bySymbol.get(symbol);
    if (!market) throw new Error(`fake ${this.venue} does not list ${symbol}`);
    return market;
  }

  /** The market under the venue's own symbol. */
  find(id: string): VenueMarket | undefined {
    return this.byId.get(id);
  }

  all(): VenueMarket[] {
    return [...this.bySymbol.values()];
  }

  /**
   * Changes the book by one update. The sequence moves by one to three: a Binance event may carry
   * several updates (`u - U + 1` of them), and OKX's step between seqIds is arbitrary. Every
   * third sequence number brings a trade.
   */
  advance(market: VenueMarket): VenueUpdate {
    const prevSeq = market.seq;
    const step = 1 + Math.floor(this.random() * 3);
    market.seq += this.seqStep === 'one' ? 1 : step;
    const changes = market.book.step();
    market.history.set(market.seq, market.book.canonical());
    const ts = VENUE_EPOCH_MS + market.seq;
    let trade: FakeTrade | undefined;
    if (market.seq % 3 === 0) {
      trade = { id: String(market.trades.length + 1), ...market.book.trade(), ts };
      market.trades.push(trade);
    }
    return { prevSeq, changes, ts, trade };
  }
}

/** How a fake venue can misdeliver the next book message of a market. */
export type StreamFault = 'drop' | 'duplicate' | 'reorder' | 'corrupt';

/**
 * The misbehaviours of a venue's book stream, one planned per market at a time: the next message
 * is lost (`drop`), sent twice (`duplicate`), sent after the one that follows it (`reorder`), or
 * sent with a level's size wrong while its checksum is the true book's (`corrupt`).
 */
export class StreamFaults {
  private readonly planned = new Map<string, StreamFault>();
  private readonly held = new Map<string, () => void>();

  plan(symbol: string, fault: StreamFault): void {
    this.planned.set(symbol, fault);
  }

  /** Sends one book message of `symbol` through the planned fault; `send(true)` sends it corrupted. */
  deliver(symbol: string, send: (corrupt: boolean) => void): void {
    const fault = this.planned.get(symbol);
    this.planned.delete(symbol);
    const held = this.held.get(symbol);
    this.held.delete(symbol);
    if (fault === 'reorder') this.held.set(symbol, () => send(false));
    else if (fault !== 'drop') {
      send(fault === 'corrupt');
      if (fault === 'duplicate') send(false);
    }
    held?.();
  }
}

/** A copy of a venue's levels with the first level's size changed: what a corrupted message carries. */
export function corruptLevels(
  levels: readonly (readonly [string, string])[],
  size: (original: string) => string,
): [string, string][] {
  return levels.map(([p, s], i) => [p, i === 0 ? size(s) : s]);
}

/**
 * The `FakeVenue` a test drives, over a venue's markets and server; the venue brings only its
 * wire format: how an update is sent and how its subscriptions are counted.
 */
export function fakeVenue(parts: {
  markets: VenueMarkets;
  server: VenueServer;
  /** Notified by the venue on every (un)subscribe. */
  waiters: Wakeups;
  /** Sends an update to the market's subscribers. */
  publish(market: VenueMarket, update: VenueUpdate): void;
  /** How many connections follow the market's stream now. */
  subscribers(market: VenueMarket, stream: VenueStream): number;
}): FakeVenue {
  const { markets, server, waiters } = parts;
  const subscribers = (symbol: string, stream: VenueStream) => parts.subscribers(markets.get(symbol), stream);
  return {
    id: markets.venue,
    restUrl: server.restUrl,
    wsUrl: server.wsUrl,
    markets: markets.specs,
    unknownRequests: server.unknownRequests,
    requests: server.requests,
    step(count = 1, symbol) {
      for (let i = 0; i < count; i++) {
        for (const market of symbol ? [markets.get(symbol)] : markets.all()) {
          parts.publish(market, markets.advance(market));
        }
      }
    },
    book: (symbol) => markets.get(symbol).book.canonical(),
    bookAt: (symbol, venueSeq) => markets.get(symbol).history.get(venueSeq),
    lastSeq: (symbol) => markets.get(symbol).seq,
    trades: (symbol) => markets.get(symbol).trades,
    subscribers,
    untilSubscribed(symbol, stream, timeoutMs = 60_000) {
      return waiters.until(
        () => subscribers(symbol, stream) > 0,
        timeoutMs,
        `a subscriber of ${symbol} ${stream} on the fake ${markets.venue}`,
      );
    },
    dropConnections: () => server.dropConnections(),
    changeSilently(symbol) {
      const market = markets.get(symbol);
      market.book.changeBestBid();
      market.history.set(market.seq, market.book.canonical());
    },
    close: () => server.close(),
  };
}
