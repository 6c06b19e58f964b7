import { compareDecimal, isZeroDecimal, normalizeDecimal } from './decimal.js';

/** One price level as the API sends it: decimal strings, the size absolute. */
export interface Level {
  price: string;
  size: string;
}

/**
 * One side of a book held by a client: price -> size, kept exactly as decimal strings and sorted
 * with a decimal comparator (bids descending, asks ascending). Shared by every client-side book
 * (the per-venue local book now, a consolidated book later).
 */
export class BookSide {
  /** Keyed by the canonical price, so "100.50" and "100.5" are one level. */
  private readonly levels = new Map<string, Level>();
  private cache: readonly Level[] | undefined;

  constructor(readonly descending: boolean) {}

  get size(): number {
    return this.levels.size;
  }

  /** Replaces every level (a SNAPSHOT). */
  replace(levels: readonly Level[]): void {
    this.levels.clear();
    this.apply(levels);
  }

  /** Sets each level to its absolute size; size zero removes the level (a DELTA). */
  apply(levels: readonly Level[]): void {
    for (const level of levels) {
      const key = normalizeDecimal(level.price);
      if (isZeroDecimal(level.size)) this.levels.delete(key);
      else this.levels.set(key, { price: level.price, size: level.size });
    }
    this.cache = undefined;
  }

  clear(): void {
    this.levels.clear();
    this.cache = undefined;
  }

  /** Levels best first; the array is shared until the next change, so treat it as read-only. */
  sorted(): readonly Level[] {
    if (!this.cache) {
      const levels = [...this.levels.values()];
      levels.sort((a, b) => (this.descending ? -1 : 1) * compareDecimal(a.price, b.price));
      this.cache = Object.freeze(levels);
    }
    return this.cache;
  }
}
