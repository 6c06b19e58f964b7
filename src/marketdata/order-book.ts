import { compareDecimal } from './decimal.ts';
import type { BookSide, Level } from './types.ts';

interface Entry {
  price: string;
  size: string;
  /** Fast sort key only; the string is the value (and decides where doubles tie). */
  px: number;
}

/**
 * Orders two prices exactly. Number() rounds monotonically, so distinct doubles already order
 * the decimals; only equal doubles ("0.1" and "0.10000000000000000001") need the exact compare,
 * which keeps two such prices two levels, as Redis holds them (issue 14 row 7).
 */
export function comparePrice(aPx: number, a: string, bPx: number, b: string): number {
  if (aPx !== bPx) return aPx < bPx ? -1 : 1;
  return a === b ? 0 : compareDecimal(a, b);
}

/**
 * One side of an L2 book as a sorted array: binary search plus splice beats trees up to a few
 * thousand levels (see docs/BENCHMARKS.md), and reading the top N is a slice.
 */
class SortedSide {
  readonly entries: Entry[] = [];
  constructor(private readonly descending: boolean) {}

  private indexOf(px: number, price: string): { index: number; found: boolean } {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const other = this.entries[mid]!;
      const c = comparePrice(other.px, other.price, px, price);
      if (c === 0) return { index: mid, found: true };
      const before = this.descending ? c > 0 : c < 0;
      if (before) lo = mid + 1;
      else hi = mid;
    }
    return { index: lo, found: false };
  }

  set(price: string, size: string): void {
    const px = Number(price);
    const { index, found } = this.indexOf(px, price);
    const remove = isZeroSize(size);
    if (found) {
      if (remove) this.entries.splice(index, 1);
      else this.entries[index] = { price, size, px };
    } else if (!remove) {
      this.entries.splice(index, 0, { price, size, px });
    }
  }

  get(price: string): string | undefined {
    const { index, found } = this.indexOf(Number(price), price);
    return found ? this.entries[index]!.size : undefined;
  }

  top(depth: number): Level[] {
    const n = Math.min(depth, this.entries.length);
    const out: Level[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const e = this.entries[i]!;
      out[i] = [e.price, e.size];
    }
    return out;
  }

  clear(): void {
    this.entries.length = 0;
  }
}

/** "0", "0.0", "0.000" all remove a level. */
export function isZeroSize(size: string): boolean {
  return /^0+(?:\.0*)?$/.test(size);
}

/** An in-memory L2 order book: bids descending, asks ascending, one entry per price. */
export class OrderBook {
  readonly bids = new SortedSide(true);
  readonly asks = new SortedSide(false);

  static from(bids: readonly Level[], asks: readonly Level[]): OrderBook {
    const book = new OrderBook();
    book.apply(bids, asks);
    return book;
  }

  side(side: BookSide): SortedSide {
    return side === 'bids' ? this.bids : this.asks;
  }

  apply(bids: readonly Level[], asks: readonly Level[]): void {
    for (const [price, size] of bids) this.bids.set(price, size);
    for (const [price, size] of asks) this.asks.set(price, size);
  }

  replace(bids: readonly Level[], asks: readonly Level[]): void {
    this.bids.clear();
    this.asks.clear();
    this.apply(bids, asks);
  }

  top(depth: number): { bids: Level[]; asks: Level[] } {
    return { bids: this.bids.top(depth), asks: this.asks.top(depth) };
  }

  get bestBid(): Level | undefined {
    return this.bids.top(1)[0];
  }

  get bestAsk(): Level | undefined {
    return this.asks.top(1)[0];
  }

  get levelCount(): number {
    return this.bids.entries.length + this.asks.entries.length;
  }
}
