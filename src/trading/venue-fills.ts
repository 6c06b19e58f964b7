import {
  addDecimal,
  canonicalDecimal,
  compareDecimal,
  divideDecimal,
  isZeroDecimal,
  subtractDecimal,
} from '../marketdata/decimal.ts';
import { RATIO_PLACES, remaining } from './accounting.ts';
import type { PlannedFill } from './matching.ts';
import type { Order } from './types.ts';
import type { VenueOrderReport } from './venue.ts';

/**
 * How a venue report differs from an order that is no longer open (which it cannot change):
 * `duplicate` says what is recorded (a late or repeated report), `more_filled` reports fills the
 * order does not have (a real fill the session would miss), `other_end` another end than the
 * recorded one, or the order still open at the venue.
 */
export type TerminalReportKind = 'duplicate' | 'more_filled' | 'other_end';

export function terminalReportKind(order: Order, report: VenueOrderReport): TerminalReportKind {
  if (compareDecimal(report.filled, order.filled) > 0) return 'more_filled';
  return report.status === order.status ? 'duplicate' : 'other_end';
}

/**
 * The fills a venue report adds to what the order has recorded: its listed executions past the
 * recorded amount when it lists them, else one fill of the difference, at the last execution's
 * price when that is the whole difference, else at the difference's average price.
 */
export function newFills(order: Order, report: VenueOrderReport): PlannedFill[] {
  const missing = subtractDecimal(report.filled, order.filled);
  if (compareDecimal(missing, '0') <= 0) return [];
  const cap = (amount: string) => {
    const left = remaining(order);
    return compareDecimal(amount, left) <= 0 ? amount : left;
  };
  const listed = report.executions?.reduce((sum, e) => addDecimal(sum, e.amount), '0');
  if (report.executions && listed !== undefined && compareDecimal(listed, report.filled) === 0) {
    const out: PlannedFill[] = [];
    let skip = order.filled;
    for (const e of report.executions) {
      let amount = e.amount;
      if (!isZeroDecimal(skip)) {
        const skipped = compareDecimal(skip, amount) >= 0 ? amount : skip;
        skip = subtractDecimal(skip, skipped);
        amount = subtractDecimal(amount, skipped);
      }
      if (compareDecimal(amount, '0') > 0) out.push({ price: e.price, amount, liquidity: e.liquidity });
    }
    return out;
  }
  const amount = cap(missing);
  if (report.last && compareDecimal(report.last.amount, missing) === 0) {
    return [{ price: report.last.price, amount, liquidity: report.last.liquidity }];
  }
  const value = subtractDecimal(report.cost, order.cost);
  const price = canonicalDecimal(divideDecimal(value, missing, RATIO_PLACES));
  return [{ price, amount, liquidity: report.last?.liquidity ?? 'TAKER' }];
}
