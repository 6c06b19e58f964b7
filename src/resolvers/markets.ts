import { decimalPlaces } from '../marketdata/decimal.ts';
import type { Market } from '../marketdata/types.ts';
import type { ResolverDeps } from './deps.ts';
import { apiError, ErrorCode } from './errors.ts';

export function region(deps: ResolverDeps): string {
  return deps.region;
}

/** Exchanges ingested in any region of `REGIONS`. */
export function exchanges(deps: ResolverDeps): Promise<string[]> {
  return deps.hub.copies.readExchanges();
}

export async function markets(deps: ResolverDeps, args: { exchange: string }): Promise<Market[]> {
  const list = await deps.hub.copies.readMarkets(args.exchange);
  if (list.length === 0) {
    throw apiError(
      ErrorCode.ExchangeNotFound,
      `Exchange "${args.exchange}" is not served in region ${deps.region}.`,
      {
        exchange: args.exchange,
      },
    );
  }
  return list;
}

/** The market's metadata, or a MARKET_NOT_FOUND error naming what was asked for. */
export async function requireMarket(deps: ResolverDeps, exchange: string, symbol: string): Promise<Market> {
  const market = await deps.hub.copies.readMarket(exchange, symbol);
  if (!market) {
    throw apiError(
      ErrorCode.MarketNotFound,
      `Market ${symbol} on ${exchange} is not served in region ${deps.region}.`,
      {
        exchange,
        symbol,
      },
    );
  }
  return market;
}

/** Decimal places of prices: the venue's, or those of the tick size (markets stored before). */
export function pricePrecision(market: Market): number {
  return market.pricePrecision ?? decimalPlaces(market.tickSize);
}

export function amountPrecision(market: Market): number {
  return market.amountPrecision ?? decimalPlaces(market.lotSize);
}
