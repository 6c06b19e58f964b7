import type { Market } from '../marketdata/types.ts';
import type { Metrics } from '../observability/metrics.ts';
import { BookStore } from './book-store.ts';
import type { CopyFreshness } from './copy-choice.ts';
import { bookKeys, legacyBookKeys } from './keys.ts';

export interface MarketCacheOptions {
  /** How long a market found is answered without reading Redis again, ms. @default 5000 */
  marketTtlMs?: number;
  /** Most markets kept. @default 10000 */
  marketCacheMax?: number;
  /** Monotonic clock, ms. @default performance.now */
  now?: () => number;
}

/**
 * Reads across every region of the Active-Active database (`REGIONS`) from the local Redis: each
 * region's ingesters write their own keys, and replication brings them all here. Exchanges and
 * markets are the union over the regions; a book, its trades and candles are read from one
 * region's copy (which one is the BookHub's choice, see copy-choice.ts). Read-only.
 */
export class RegionalBooks {
  private readonly stores: ReadonlyMap<string, BookStore>;
  /**
   * Markets found, for `marketTtlMs`: every query of a book checks its market, and markets are
   * only ever added (writeMarkets), so a found one is not read again for a while. A market not
   * found is never kept (it may be written any moment), so this holds real markets only, at
   * most `marketCacheMax` of them.
   */
  private readonly knownMarkets = new Map<string, { market: Market; until: number }>();
  private readonly marketTtlMs: number;
  private readonly marketCacheMax: number;
  private readonly now: () => number;

  /**
   * @param local this region's store; its region is first in `regions`.
   * @param regions every region, this one first. @default [local.region]
   */
  constructor(
    readonly local: BookStore,
    regions: readonly string[] = [local.region],
    metrics?: Metrics,
    options: MarketCacheOptions = {},
  ) {
    this.marketTtlMs = options.marketTtlMs ?? 5_000;
    this.marketCacheMax = options.marketCacheMax ?? 10_000;
    this.now = options.now ?? (() => performance.now());
    const stores = new Map<string, BookStore>([[local.region, local]]);
    for (const region of regions) {
      if (!stores.has(region)) stores.set(region, new BookStore(local.redis, region, metrics));
    }
    this.stores = stores;
  }

  /** Every region, this one first. */
  get regions(): string[] {
    return [...this.stores.keys()];
  }

  /** The store reading `region`'s copy; the local store for a region not listed. */
  store(region: string): BookStore {
    return this.stores.get(region) ?? this.local;
  }

  /** Exchanges ingested in any region, sorted. */
  async readExchanges(): Promise<string[]> {
    const perRegion = await Promise.all([...this.stores.values()].map((s) => s.readExchanges()));
    return [...new Set(perRegion.flat())].sort();
  }

  /** The exchange's markets in any region, sorted; the first region (local first) listing one describes it. */
  async readMarkets(exchange: string): Promise<Market[]> {
    const perRegion = await Promise.all([...this.stores.values()].map((s) => s.readMarkets(exchange)));
    const bySymbol = new Map<string, Market>();
    for (const market of perRegion.flat())
      if (!bySymbol.has(market.symbol)) bySymbol.set(market.symbol, market);
    return [...bySymbol.values()].sort((a, b) => a.symbol.localeCompare(b.symbol));
  }

  /** The market as the first region (local first) listing it describes it; null if none does. */
  async readMarket(exchange: string, symbol: string): Promise<Market | null> {
    const key = `${exchange}\n${symbol}`;
    const known = this.knownMarkets.get(key);
    if (known && known.until > this.now()) return known.market;
    const perRegion = await Promise.all([...this.stores.values()].map((s) => s.readMarket(exchange, symbol)));
    const market = perRegion.find((m) => m !== null) ?? null;
    this.knownMarkets.delete(key);
    if (market) {
      this.knownMarkets.set(key, { market: Object.freeze(market), until: this.now() + this.marketTtlMs });
      // Oldest first out (insertion order: a re-read moves a market to the end).
      for (const oldest of this.knownMarkets.keys()) {
        if (this.knownMarkets.size <= this.marketCacheMax) break;
        this.knownMarkets.delete(oldest);
      }
    }
    return market;
  }

  /** Markets kept from earlier reads (tests). */
  get knownMarketCount(): number {
    return this.knownMarkets.size;
  }

  /**
   * When each region's copy of the book was last written (its meta `receiveTs`), in region order:
   * one pipeline, and one slot, since every copy's keys share the book's hash tag. A copy still
   * written in encoding v1 (a region mid-way through a rolling deploy) counts by its v1 meta:
   * whichever of the two was written last, as READ_BOOK reads it.
   */
  async readCopyTimes(exchange: string, symbol: string): Promise<CopyFreshness[]> {
    const regions = this.regions;
    const pipeline = this.local.redis.pipeline();
    for (const region of regions) {
      pipeline.hget(bookKeys(region, exchange, symbol).meta, 'receiveTs');
      pipeline.hget(legacyBookKeys(region, exchange, symbol).meta, 'receiveTs');
    }
    const results = (await pipeline.exec()) ?? [];
    const time = (i: number): number | null => {
      const [error, value] = results[i] ?? [null, null];
      if (error) throw error;
      return typeof value === 'string' && value !== '' ? Number(value) : null;
    };
    return regions.map((region, i) => {
      const v2 = time(2 * i);
      const v1 = time(2 * i + 1);
      return { region, lastWriteTs: v1 === null ? v2 : Math.max(v1, v2 ?? v1) };
    });
  }
}
