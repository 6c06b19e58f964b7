import { canonicalDecimal, isDecimalString } from './decimal.ts';
import type { Level, RawBookUpdate, Trade } from './types.ts';

export class NormaliseError extends Error {
  override readonly name = 'NormaliseError';
}

const SYMBOL_RE = /^[A-Z0-9]+\/[A-Z0-9]+(?::[A-Z0-9]+)?$/;
const EXCHANGE_RE = /^[a-z0-9_-]+$/;

function normaliseLevels(levels: readonly Level[], where: string): Level[] {
  // Last write wins for a price repeated inside one message, as the venue would apply it.
  const byPrice = new Map<string, string>();
  for (const level of levels) {
    const [price, size] = level;
    if (!isDecimalString(price) || !isDecimalString(size)) {
      throw new NormaliseError(`${where}: level ${JSON.stringify(level)} is not [decimal, decimal]`);
    }
    if (price.startsWith('-') || size.startsWith('-')) {
      throw new NormaliseError(`${where}: negative price or size in ${JSON.stringify(level)}`);
    }
    const canonicalPrice = canonicalDecimal(price);
    if (canonicalPrice === '0') throw new NormaliseError(`${where}: zero price`);
    byPrice.set(canonicalPrice, canonicalDecimal(size));
  }
  return [...byPrice];
}

/**
 * Checks and canonicalises what a feed produced: exchange and unified symbol shape, decimal
 * strings without trailing zeros, one entry per price. Every feed goes through here.
 */
export function normaliseBookUpdate(update: RawBookUpdate): RawBookUpdate {
  const where = `${update.exchange} ${update.symbol}`;
  if (!EXCHANGE_RE.test(update.exchange)) throw new NormaliseError(`bad exchange id "${update.exchange}"`);
  if (!SYMBOL_RE.test(update.symbol)) throw new NormaliseError(`bad unified symbol "${update.symbol}"`);
  if (!Number.isFinite(update.exchangeTs) || !Number.isFinite(update.receiveTs)) {
    throw new NormaliseError(`${where}: timestamps must be finite numbers`);
  }
  return {
    ...update,
    bids: normaliseLevels(update.bids, where),
    asks: normaliseLevels(update.asks, where),
  };
}

export function normaliseTrade(trade: Trade): Trade {
  if (!isDecimalString(trade.price) || !isDecimalString(trade.amount)) {
    throw new NormaliseError(`${trade.exchange} ${trade.symbol}: trade price/amount must be decimals`);
  }
  return { ...trade, price: canonicalDecimal(trade.price), amount: canonicalDecimal(trade.amount) };
}
