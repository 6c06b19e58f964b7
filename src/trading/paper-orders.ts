import { addDecimal, compareDecimal, multiplyDecimal, subtractDecimal } from '../marketdata/decimal.ts';
import { available, buyLockPerUnit, releaseLock } from './accounting.ts';
import { bookStale, bookUnavailable, insufficientBalance, type TradingFailure } from './failures.ts';
import type { PlannedFill } from './matching.ts';
import { maxFeeRate, newOrder, type OrderToPlan, recordNewOrder, storeNewOrder } from './new-order.ts';
import { checkNotional } from './order-input.ts';
import { transition } from './order-machine.ts';
import {
  beginWrite,
  MAX_ATTEMPTS,
  readSessionAndOrder,
  recordExpiry,
  recordFill,
  recordUpdate,
} from './session-write.ts';
import type { SessionWrite, TradingStore } from './trading-store.ts';
import { isOpen, type Order } from './types.ts';
import { type ExecutionVenue, type RestingOrder, StaleBookError, VenueUnavailableError } from './venue.ts';

export interface PaperOrdersOptions {
  store: TradingStore;
  region: string;
  now: () => number;
  /** The paper venue (set at boot, after this is built); throws while there is none. */
  execution: () => ExecutionVenue;
}

/**
 * Orders on the paper venue: what a new one does against this region's book when placed (fill,
 * rest, expire, be rejected), and the later fills of the ones that rest, which the venue watches.
 */
export class PaperOrders {
  constructor(private readonly options: PaperOrdersOptions) {}

  /** Builds the new order, runs it against the venue, and prepares the one write that records it. */
  async plan(
    toPlan: OrderToPlan,
  ): Promise<TradingFailure | { order: Order; write: SessionWrite; rests: boolean }> {
    const { session, market } = toPlan;
    const now = this.options.now();
    const n = session.orderCount + 1;
    const order = newOrder(toPlan, 'PAPER', this.options.region, n, now);
    const maxRate = maxFeeRate(order);
    let placement: Awaited<ReturnType<ExecutionVenue['place']>>;
    try {
      placement = await this.options.execution().place(order);
    } catch (error) {
      if (error instanceof VenueUnavailableError) return bookUnavailable(market);
      if (error instanceof StaleBookError) return bookStale(market, error.ageMs, error.staleAfterMs);
      throw error;
    }
    // What the order needs: limit buys reserve price × (1 + fee) per unit; sells reserve the
    // base; market buys need the quote value of the fills they would take, fees included.
    if (order.side === 'SELL') {
      order.lockPerUnit = '1';
      order.locked = order.amount;
    } else if (order.price !== null) {
      order.lockPerUnit = buyLockPerUnit(order.price, maxRate);
      order.locked = multiplyDecimal(order.amount, order.lockPerUnit);
    }
    const fills: PlannedFill[] = placement.kind === 'execute' ? placement.fills : [];
    if (order.type === 'MARKET') {
      const value = fills.reduce((sum, f) => addDecimal(sum, multiplyDecimal(f.price, f.amount)), '0');
      const broken = checkNotional(value, market);
      if (broken && fills.length > 0) return broken;
    }
    const required =
      order.side === 'SELL' || order.price !== null
        ? order.locked
        : fills.reduce(
            (sum, f) =>
              addDecimal(
                sum,
                multiplyDecimal(multiplyDecimal(f.price, f.amount), addDecimal('1', order.takerFeeRate)),
              ),
            '0',
          );
    const free = available(session, order.lockAsset);
    if (compareDecimal(required, free) > 0) return insufficientBalance(order.lockAsset, required, free);
    const write = recordNewOrder(session, order, n, now);
    let rests = false;
    if (placement.kind === 'reject') {
      order.rejectReason = placement.reason;
      transition(order, 'REJECTED', now);
      releaseLock(session, order);
      recordUpdate(write, session, 'REJECTED', order, null, now);
    } else if (placement.kind === 'expire') {
      recordExpiry(write, session, order, now);
    } else {
      for (const planned of fills) recordFill(write, session, order, planned, now);
      if (isOpen(order.status)) {
        if (placement.rest) {
          rests = true;
        } else {
          recordExpiry(write, session, order, now);
        }
      }
    }
    storeNewOrder(write, order);
    return { order, write, rests };
  }

  /** The order is stored and rests: the venue fills it as later books cross its price. */
  async watch(clientId: string, order: Order): Promise<void> {
    await this.options.execution().watch({ clientId, order });
  }

  /** The order ended here (canceled): the venue stops watching it. */
  forget(order: Order): void {
    this.options.execution().forget(order);
  }

  /** A venue's fill of a resting order, applied like every other change. */
  async applyFill(resting: RestingOrder, planned: PlannedFill): Promise<Order | null> {
    const { clientId } = resting;
    const { sessionId } = resting.order;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const found = await readSessionAndOrder(this.options.store, clientId, sessionId, resting.order.id);
      if (!found || !isOpen(found.order.status)) return null;
      const { session, order } = found;
      const left = subtractDecimal(order.amount, order.filled);
      const amount = compareDecimal(planned.amount, left) <= 0 ? planned.amount : left;
      const now = this.options.now();
      session.updatedAt = now;
      const write = beginWrite(session);
      recordFill(write, session, order, { ...planned, amount }, now);
      write.orders = [order];
      if ((await this.options.store.write(clientId, write)) === 'ok') return order;
    }
    throw new Error(`fill of ${resting.order.id}: session too contended`);
  }
}
