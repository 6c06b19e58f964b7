import { consolidate, type VenueBook } from './consolidation.ts';
import {
  addDecimal,
  compareDecimal,
  divideDecimal,
  midpointDecimal,
  multiplyDecimal,
  subtractDecimal,
} from './decimal.ts';
import type { Level } from './types.ts';

/** Depth bands, in percent of mid, on each side. */
export const DEPTH_BANDS = ['0.5', '1', '2'] as const;

/** Places ratios (imbalance, share) and basis points are rounded to, half away from zero. */
export const RATIO_PLACES = 6;
export const BPS_PLACES = 2;

/** Resting size within `percent` % of mid on each side, in base and in quote (Σ price × size). */
export interface DepthBand {
  percent: string;
  bidBase: string;
  bidQuote: string;
  askBase: string;
  askQuote: string;
  /** (bidBase - askBase) / (bidBase + askBase), in [-1, 1]; null when the band is empty. */
  imbalance: string | null;
}

export interface LiquidityFigures {
  mid: string | null;
  spread: string | null;
  /** 10000 × spread / mid; negative when crossed. */
  spreadBps: string | null;
  bands: DepthBand[];
}

export interface DepthShare {
  percent: string;
  /** The venue's bid + ask quote depth inside the consolidated band, over the band's total. */
  share: string | null;
}

export interface VenueLiquidity extends LiquidityFigures {
  exchange: string;
  stale: boolean;
  shares: DepthShare[];
}

export interface Liquidity {
  consolidated: LiquidityFigures;
  venues: VenueLiquidity[];
}

interface SideSums {
  base: string;
  quote: string;
}

/** Levels within the band: bids at or above mid × (1 - p/100), asks at or below mid × (1 + p/100). */
function sideDepth(levels: readonly Level[], mid: string, percent: string, side: 'bids' | 'asks'): SideSums {
  const bound = multiplyDecimal(
    mid,
    side === 'bids' ? subtractDecimal('100', percent) : addDecimal('100', percent),
  );
  let base = '0';
  let quote = '0';
  for (const [price, size] of levels) {
    const scaled = multiplyDecimal(price, '100');
    const inside = side === 'bids' ? compareDecimal(scaled, bound) >= 0 : compareDecimal(scaled, bound) <= 0;
    // Levels are best first: the first one outside ends the band.
    if (!inside) break;
    base = addDecimal(base, size);
    quote = addDecimal(quote, multiplyDecimal(price, size));
  }
  return { base, quote };
}

function figures(bids: readonly Level[], asks: readonly Level[], mid: string | null): LiquidityFigures {
  const bid = bids[0];
  const ask = asks[0];
  const spread = bid && ask ? subtractDecimal(ask[0], bid[0]) : null;
  const bands: DepthBand[] = [];
  for (const percent of DEPTH_BANDS) {
    const b = mid ? sideDepth(bids, mid, percent, 'bids') : { base: '0', quote: '0' };
    const a = mid ? sideDepth(asks, mid, percent, 'asks') : { base: '0', quote: '0' };
    const total = addDecimal(b.base, a.base);
    bands.push({
      percent,
      bidBase: b.base,
      bidQuote: b.quote,
      askBase: a.base,
      askQuote: a.quote,
      imbalance:
        compareDecimal(total, '0') === 0
          ? null
          : divideDecimal(subtractDecimal(b.base, a.base), total, RATIO_PLACES),
    });
  }
  return {
    mid,
    spread,
    spreadBps:
      spread !== null && mid !== null && compareDecimal(mid, '0') !== 0
        ? divideDecimal(multiplyDecimal(spread, '10000'), mid, BPS_PLACES)
        : null,
    bands,
  };
}

function levelsOf(levels: readonly { price: string; size: string }[]): Level[] {
  return levels.map((l) => [l.price, l.size] as const);
}

/**
 * Liquidity of each venue around its own mid, and of the consolidated book around the
 * consolidated mid (best bid and best ask across venues), with each venue's share of the
 * consolidated depth per band. Exact decimals; ratios and bps are the only rounded figures.
 */
export function liquidity(books: readonly VenueBook[]): Liquidity {
  const all = Number.MAX_SAFE_INTEGER;
  const merged = consolidate(books, all);
  const bids = levelsOf(merged.bids);
  const asks = levelsOf(merged.asks);
  const consolidated = figures(bids, asks, merged.mid);
  const venues = books.map((book): VenueLiquidity => {
    const bid = book.bids[0];
    const ask = book.asks[0];
    const own = figures(book.bids, book.asks, bid && ask ? midpointDecimal(bid[0], ask[0]) : null);
    const shares = DEPTH_BANDS.map((percent, i): DepthShare => {
      const band = consolidated.bands[i]!;
      const total = addDecimal(band.bidQuote, band.askQuote);
      if (!merged.mid || compareDecimal(total, '0') === 0) return { percent, share: null };
      const b = sideDepth(book.bids, merged.mid, percent, 'bids');
      const a = sideDepth(book.asks, merged.mid, percent, 'asks');
      return { percent, share: divideDecimal(addDecimal(b.quote, a.quote), total, RATIO_PLACES) };
    });
    return { exchange: book.exchange, stale: book.stale, ...own, shares };
  });
  return { consolidated, venues };
}
