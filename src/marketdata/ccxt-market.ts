import type { MarketInterface as CcxtMarket } from 'ccxt';
import { decimalFromNumber, decimalPlaces } from './decimal.ts';
import type { Market } from './types.ts';

/** ccxt's precision modes (`ccxt.DECIMAL_PLACES` etc.; the names are not in its typings). */
const DECIMAL_PLACES = 2;
export const TICK_SIZE = 4;

function optionalDecimal(value: number | undefined): string | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? decimalFromNumber(value) : undefined;
}

/** A precision in ccxt's mode as a step: ticks stay, decimal places p become 10^-p. */
function stepOf(precision: number | undefined, mode: number): string | undefined {
  if (typeof precision !== 'number') return undefined;
  if (mode === TICK_SIZE) return decimalFromNumber(precision);
  if (mode === DECIMAL_PLACES) return precision <= 0 ? '1' : `0.${'1'.padStart(precision, '0')}`;
  // Significant digits define no fixed step.
  return undefined;
}

/** Our market metadata from ccxt's unified market structure. */
export function toMarket(exchange: string, market: CcxtMarket, precisionMode: number): Market {
  const tickSize = stepOf(market.precision.price, precisionMode) ?? '0';
  const lotSize = stepOf(market.precision.amount, precisionMode) ?? '0';
  const result: Market = {
    exchange,
    symbol: market.symbol,
    base: market.base,
    quote: market.quote,
    tickSize,
    lotSize,
    minAmount: optionalDecimal(market.limits.amount?.min) ?? lotSize,
    active: market.active !== false,
  };
  const maxAmount = optionalDecimal(market.limits.amount?.max);
  const minNotional = optionalDecimal(market.limits.cost?.min);
  const maxNotional = optionalDecimal(market.limits.cost?.max);
  if (maxAmount !== undefined) result.maxAmount = maxAmount;
  if (minNotional !== undefined) result.minNotional = minNotional;
  if (maxNotional !== undefined) result.maxNotional = maxNotional;
  if (tickSize !== '0') result.pricePrecision = decimalPlaces(tickSize);
  if (lotSize !== '0') result.amountPrecision = decimalPlaces(lotSize);
  return result;
}
