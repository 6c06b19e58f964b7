import { canonicalDecimal, formatDecimal } from '../../src/marketdata/decimal.ts';
import { createPrng } from '../../src/marketdata/prng.ts';
import type { Level } from '../../src/marketdata/types.ts';

/**
 * A deterministic order book for the fake venues: the same seed gives the same levels and the
 * same sequence of changes. Prices and sizes are held as integer ticks and lots, so the venue's
 * strings are exact; each venue formats them in its own style (Binance pads to 8 decimals).
 */
export interface ScriptedBookOptions {
  seed: number;
  /** Mid price in ticks (64210.50 with 2 decimals is 6421050). */
  midTicks: number;
  priceDecimals: number;
  sizeDecimals: number;
  /** Levels per side at the start. @default 12 */
  levels?: number;
}

export interface BookChanges {
  /** Absolute sizes in the venue's format; a zero size removes the level. */
  bids: Level[];
  asks: Level[];
}

/** A whole book as canonical decimals, bids descending and asks ascending. */
export interface CanonicalBook {
  bids: Level[];
  asks: Level[];
}

/** How far from the mid a level may sit, in ticks. */
const BAND = 30;

export class ScriptedBook {
  private readonly random: () => number;
  private readonly bids = new Map<number, number>();
  private readonly asks = new Map<number, number>();

  constructor(
    private readonly options: ScriptedBookOptions,
    private readonly format: (units: bigint, decimals: number) => string = plainFormat,
  ) {
    this.random = createPrng(options.seed);
    const levels = options.levels ?? 12;
    for (let i = 0; i < levels; i++) {
      this.bids.set(options.midTicks - 1 - i * 2, this.randomLots());
      this.asks.set(options.midTicks + 1 + i * 2, this.randomLots());
    }
  }

  /** One venue update: one to three levels change, appear or disappear. */
  step(): BookChanges {
    const changes: BookChanges = { bids: [], asks: [] };
    const count = 1 + Math.floor(this.random() * 3);
    for (let i = 0; i < count; i++) {
      const isBid = this.random() < 0.5;
      const side = isBid ? this.bids : this.asks;
      const out = isBid ? changes.bids : changes.asks;
      const roll = this.random();
      const prices = [...side.keys()];
      if (roll < 0.3 && prices.length > 4) {
        const price = prices[Math.floor(this.random() * prices.length)]!;
        side.delete(price);
        out.push([this.price(price), this.size(0)]);
      } else if (roll < 0.35) {
        // Binance documents deletes of levels the book does not hold; a client ignores them.
        const price = this.freePrice(isBid);
        out.push([this.price(price), this.size(0)]);
      } else if (roll < 0.65 || prices.length === 0) {
        const price = this.freePrice(isBid);
        const lots = this.randomLots();
        side.set(price, lots);
        out.push([this.price(price), this.size(lots)]);
      } else {
        const price = prices[Math.floor(this.random() * prices.length)]!;
        const lots = this.randomLots();
        side.set(price, lots);
        out.push([this.price(price), this.size(lots)]);
      }
    }
    return changes;
  }

  /**
   * Changes the best bid's size by one lot and says nothing: a venue whose stream silently
   * missed a change (what only a comparison with its REST book can catch).
   */
  changeBestBid(): void {
    const best = Math.max(...this.bids.keys());
    this.bids.set(best, this.bids.get(best)! + 1);
  }

  /** One trade inside the spread's neighbourhood, for the trade streams. */
  trade(): { price: string; amount: string; side: 'buy' | 'sell' } {
    const buy = this.random() < 0.5;
    const best = buy ? Math.min(...this.asks.keys()) : Math.max(...this.bids.keys());
    return {
      price: this.price(best),
      amount: this.size(1 + Math.floor(this.random() * 500)),
      side: buy ? 'buy' : 'sell',
    };
  }

  /** The venue's view: the top `depth` levels per side, in the venue's format. */
  levels(depth = Number.POSITIVE_INFINITY): { bids: Level[]; asks: Level[] } {
    const bids = [...this.bids].sort((a, b) => b[0] - a[0]).slice(0, depth);
    const asks = [...this.asks].sort((a, b) => a[0] - b[0]).slice(0, depth);
    return {
      bids: bids.map(([p, s]) => [this.price(p), this.size(s)]),
      asks: asks.map(([p, s]) => [this.price(p), this.size(s)]),
    };
  }

  /** The whole book as canonical decimals, to compare with what bookgraph serves. */
  canonical(): CanonicalBook {
    const { bids, asks } = this.levels();
    const canon = (levels: Level[]): Level[] =>
      levels.map(([p, s]) => [canonicalDecimal(p), canonicalDecimal(s)]);
    return { bids: canon(bids), asks: canon(asks) };
  }

  private freePrice(isBid: boolean): number {
    const side = isBid ? this.bids : this.asks;
    for (;;) {
      const offset = 1 + Math.floor(this.random() * BAND);
      const price = isBid ? this.options.midTicks - offset : this.options.midTicks + offset;
      if (!side.has(price)) return price;
    }
  }

  private randomLots(): number {
    return 1 + Math.floor(this.random() * 250_000);
  }

  private price(ticks: number): string {
    return this.format(BigInt(ticks), this.options.priceDecimals);
  }

  private size(lots: number): string {
    return this.format(BigInt(lots), this.options.sizeDecimals);
  }
}

/** "64210.5": no trailing zeros (OKX's style). */
export function plainFormat(units: bigint, decimals: number): string {
  return formatDecimal({ units, scale: decimals });
}

/** "64210.50000000": always 8 decimals (Binance spot's style). */
export function paddedFormat(units: bigint, decimals: number): string {
  const scaled = units * 10n ** BigInt(8 - decimals);
  const digits = scaled.toString().padStart(9, '0');
  return `${digits.slice(0, -8)}.${digits.slice(-8)}`;
}
