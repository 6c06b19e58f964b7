import { binanceContinuity } from './binance.ts';
import { bybitContinuity } from './bybit.ts';
import { krakenContinuity } from './kraken.ts';
import { okxContinuity } from './okx.ts';
import type { CheckedMarket, VenueContinuity } from './types.ts';

export type { CheckedMarket, VenueContinuity } from './types.ts';

/**
 * The book depth ccxt subscribes at when given none, per venue family, where the venue has a
 * choice: what a continuity check must assume the book is kept at.
 */
export const CCXT_DEFAULT_DEPTH: Readonly<Record<string, number>> = { bybit: 50, kraken: 10 };

const FAMILIES: Record<
  string,
  (markets: readonly CheckedMarket[], depth: number | undefined) => VenueContinuity
> = {
  binance: (markets) => binanceContinuity(markets),
  binanceus: (markets) => binanceContinuity(markets),
  binanceusdm: (markets) => binanceContinuity(markets),
  binancecoinm: (markets) => binanceContinuity(markets),
  bybit: (markets, depth) => bybitContinuity(markets, depth ?? CCXT_DEFAULT_DEPTH.bybit!),
  okx: (markets) => okxContinuity(markets),
  kraken: (markets, depth) => krakenContinuity(markets, depth ?? CCXT_DEFAULT_DEPTH.kraken!),
};

/** Venues (ccxt ids) whose book stream bookgraph checks itself. */
export const CHECKED_VENUES: readonly string[] = Object.keys(FAMILIES);

/**
 * Our continuity check for a ccxt exchange id, over the markets followed at `depth` (the limit
 * given to watchOrderBook, undefined = ccxt's default); undefined for a venue we do not check.
 */
export function venueContinuity(
  exchange: string,
  markets: readonly CheckedMarket[],
  depth: number | undefined,
): VenueContinuity | undefined {
  return Object.hasOwn(FAMILIES, exchange) ? FAMILIES[exchange]!(markets, depth) : undefined;
}
