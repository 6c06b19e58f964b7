import { z } from 'zod';
import {
  compareDecimal,
  decimalPlaces,
  isZeroDecimal,
  multiplyDecimal,
  parseDecimal,
} from '../marketdata/decimal.ts';
import type { Market } from '../marketdata/types.ts';
import type { TradingFailure } from './failures.ts';
import type { OrderRequest } from './types.ts';

/** clientOrderId: printable ASCII ids as venues accept them (Binance: 36, FIX ClOrdID-like). */
export const CLIENT_ORDER_ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;

const positiveDecimal = z
  .string()
  .max(40, 'must have at most 40 characters')
  .regex(/^\d+(\.\d+)?$/, 'must be a plain decimal such as "0.5"')
  .refine((v) => !isZeroDecimal(v), 'must be greater than 0');

/** The request's shape: anything here failing is BAD_USER_INPUT, with every issue listed. */
export const OrderRequestSchema = z
  .object({
    sessionId: z.string().max(128),
    exchange: z.string().min(1).max(64),
    symbol: z.string().min(1).max(64),
    side: z.enum(['BUY', 'SELL']),
    type: z.enum(['LIMIT', 'MARKET']),
    price: positiveDecimal.nullable(),
    amount: positiveDecimal,
    timeInForce: z.enum(['GTC', 'IOC', 'FOK']),
    postOnly: z.boolean(),
    clientOrderId: z
      .string()
      .regex(CLIENT_ORDER_ID_RE, 'must be 1-64 characters of A-Z a-z 0-9 . _ : -')
      .nullable(),
  })
  .superRefine((o, ctx) => {
    if (o.type === 'LIMIT' && o.price === null) {
      ctx.addIssue({ code: 'custom', path: ['price'], message: 'is required for a LIMIT order' });
    }
    if (o.type === 'MARKET' && o.price !== null) {
      ctx.addIssue({ code: 'custom', path: ['price'], message: 'must be absent for a MARKET order' });
    }
    if (o.postOnly && (o.type === 'MARKET' || o.timeInForce !== 'GTC')) {
      ctx.addIssue({ code: 'custom', path: ['postOnly'], message: 'needs a GTC LIMIT order' });
    }
  });

/** Extra trading-rule fields a feed may attach to a market (ccxt's `maker`/`taker` fees). */
type MarketWithFees = Market & { makerFee?: string; takerFee?: string };

/** Paper fees when the market's metadata names none: 0.02 % maker, 0.05 % taker. */
export const DEFAULT_MAKER_FEE = '0.0002';
export const DEFAULT_TAKER_FEE = '0.0005';

export function feeRates(market: Market): { maker: string; taker: string } {
  const m = market as MarketWithFees;
  return { maker: m.makerFee ?? DEFAULT_MAKER_FEE, taker: m.takerFee ?? DEFAULT_TAKER_FEE };
}

function isMultiple(value: string, step: string): boolean {
  const v = parseDecimal(value);
  const s = parseDecimal(step);
  if (s.units === 0n) return true;
  const scale = Math.max(v.scale, s.scale);
  const vu = v.units * 10n ** BigInt(scale - v.scale);
  const su = s.units * 10n ** BigInt(scale - s.scale);
  return vu % su === 0n;
}

/** An InvalidPrecision failure if `value` is not a multiple of `increment` or has too many places. */
function offIncrement(
  field: 'price' | 'amount',
  value: string,
  increment: string,
  name: string,
  places: number | undefined,
): TradingFailure | null {
  if (isMultiple(value, increment) && (places === undefined || decimalPlaces(value) <= places)) return null;
  return {
    kind: 'InvalidPrecision',
    code: 'INVALID_PRECISION',
    message: `${field} ${value} is not a multiple of the ${name} ${increment}.`,
    field,
    value,
    increment,
  };
}

/**
 * The market's rules applied to a well-formed request: precision (tick and lot size, decimal
 * places), minimum and maximum amount and notional. Returns the first rule broken, or null.
 */
export function checkMarketRules(request: OrderRequest, market: Market): TradingFailure | null {
  const { price, amount } = request;
  const precision =
    (price !== null && offIncrement('price', price, market.tickSize, 'tick size', market.pricePrecision)) ||
    offIncrement('amount', amount, market.lotSize, 'lot size', market.amountPrecision);
  if (precision) return precision;
  const bounds = checkBounds('amount', 'amount', amount, market.minAmount, market.maxAmount);
  if (bounds) return bounds;
  if (price !== null) return checkNotional(multiplyDecimal(price, amount), market);
  return null;
}

/** Minimum and maximum order value (price × amount), when the market sets them. */
export function checkNotional(notional: string, market: Market): TradingFailure | null {
  return checkBounds('order value', 'notional', notional, market.minNotional, market.maxNotional);
}

/** BelowMinimum or AboveMaximum when `value` is outside the bounds the market sets, else null. */
function checkBounds(
  label: string,
  field: 'amount' | 'notional',
  value: string,
  minimum: string | undefined,
  maximum: string | undefined,
): TradingFailure | null {
  if (minimum !== undefined && compareDecimal(value, minimum) < 0) {
    const message = `${label} ${value} is below the minimum ${minimum}.`;
    return { kind: 'BelowMinimum', code: 'BELOW_MINIMUM', message, field, value, minimum };
  }
  if (maximum !== undefined && compareDecimal(value, maximum) > 0) {
    const message = `${label} ${value} is above the maximum ${maximum}.`;
    return { kind: 'AboveMaximum', code: 'ABOVE_MAXIMUM', message, field, value, maximum };
  }
  return null;
}
