import type { Logger } from 'pino';
import { compareDecimal, multiplyDecimal } from '../marketdata/decimal.ts';
import { venueOrderKey } from '../redis/keys.ts';
import { available, buyLockPerUnit } from './accounting.ts';
import {
  bookUnavailable,
  insufficientBalance,
  type Outcome,
  orderNotFound,
  rejected,
  type TradingFailure,
  venueRejected,
} from './failures.ts';
import { maxFeeRate, newOrder, type OrderToPlan, recordNewOrder, storeNewOrder } from './new-order.ts';
import { openOrders } from './open-orders.ts';
import type { SessionWrite, TradingStore } from './trading-store.ts';
import { isOpen, type Order } from './types.ts';
import {
  type ExecutionVenue,
  type ExternalVenue,
  type VenueOrderReport,
  VenueUnavailableError,
} from './venue.ts';
import type { VenueReconciliation } from './venue-reconciliation.ts';

/** Where a venue's client order id leads: the client and the order (in Redis, per exchange). */
interface VenueOrderRef {
  c: string;
  o: string;
}

export interface ExternalVenueOrdersOptions {
  store: TradingStore;
  region: string;
  log: Logger;
  now: () => number;
  /** The paper venue: its view of this region's book prices a market buy's reservation. */
  execution: () => ExecutionVenue;
  /** The real venues by exchange id. */
  venues: ReadonlyMap<string, ExternalVenue>;
  reconciliation: VenueReconciliation;
}

/**
 * Orders on real venues (`EXECUTION_VENUES`, through ccxt): each is written before the venue
 * hears of it, then placed, canceled and followed on the venue's order stream; what the venue
 * answers is recorded by the reconciliation, which also finds out what an unanswered placement
 * became — it is never sent a second time.
 */
export class ExternalVenueOrders {
  /** Venue reports are applied one at a time, in the order the venue sent them. */
  private reports: Promise<void> = Promise.resolve();
  /** Per venue: a reconciliation pass runs; `again` when a connection came during it. */
  private readonly passes = new Map<string, { again: boolean }>();

  constructor(private readonly options: ExternalVenueOrdersOptions) {}

  /**
   * Follows the venue's order stream: each update moves the order it names, if it is one of ours.
   * Each time the stream is (re)subscribed — at start too — every open order of this region on
   * the venue is looked up, so what happened while nobody listened is recorded.
   */
  follow(venue: ExternalVenue): void {
    venue.start(
      (report) => {
        this.reports = this.reports
          .then(() => this.onVenueReport(venue, report))
          .catch((err: unknown) =>
            this.options.log.error({ err, exchange: venue.exchange }, 'venue order update not applied'),
          );
      },
      () => this.reconcileOpen(venue),
    );
  }

  /**
   * An order for a real venue, recorded before the venue hears of it: NEW and pending, with its
   * reservation (a limit buy: price × (1 + fee) per unit; a sell: the base; a market buy: the
   * worst price its amount reaches in this region's book of the venue, with the fee).
   */
  async plan(toPlan: OrderToPlan): Promise<TradingFailure | { order: Order; write: SessionWrite }> {
    const { session, market } = toPlan;
    const now = this.options.now();
    const n = session.orderCount + 1;
    const order = newOrder(toPlan, 'CCXT', this.options.region, n, now);
    const maxRate = maxFeeRate(order);
    if (order.side === 'SELL') {
      order.lockPerUnit = '1';
    } else if (order.price !== null) {
      order.lockPerUnit = buyLockPerUnit(order.price, maxRate);
    } else {
      let worst: string | undefined;
      try {
        const estimate = await this.options.execution().estimate(order);
        if (estimate.kind === 'execute') worst = estimate.fills.at(-1)?.price;
      } catch (error) {
        if (!(error instanceof VenueUnavailableError)) throw error;
      }
      if (worst === undefined) return bookUnavailable(market);
      order.lockPerUnit = buyLockPerUnit(worst, maxRate);
    }
    order.locked = multiplyDecimal(order.amount, order.lockPerUnit);
    const free = available(session, order.lockAsset);
    if (compareDecimal(order.locked, free) > 0)
      return insufficientBalance(order.lockAsset, order.locked, free);
    order.pendingSince = now;
    const write = recordNewOrder(session, order, n, now);
    storeNewOrder(write, order);
    return { order, write };
  }

  /**
   * The order is in Redis (NEW, pending): now the venue. Its answer is recorded through the state
   * machine; a refusal ends the order REJECTED; no answer leaves it pending, and it is reconciled
   * by its venue client order id (on a retry of the same clientOrderId, on the venue's order
   * stream, and by a timer) — never placed a second time.
   */
  async submit(clientId: string, order: Order, venue: ExternalVenue): Promise<Outcome<Order>> {
    const ref: VenueOrderRef = { c: clientId, o: order.id };
    const { store } = this.options;
    await store.redis.set(
      venueOrderKey(this.options.region, venue.exchange, venue.venueClientOrderId(order)),
      JSON.stringify(ref),
      'PX',
      store.limits.sessionTtlMs,
    );
    const result = await venue.submit(order);
    if (result.kind === 'accepted') {
      return (await this.options.reconciliation.applyReport(clientId, order.id, result.report)) ?? order;
    }
    if (result.kind === 'rejected') {
      const after = await this.options.reconciliation.rejectAtVenue(clientId, order.id, result.message);
      return after ? venueRejected(after) : order;
    }
    this.options.log.warn(
      { order: order.id, exchange: venue.exchange, err: result.message },
      'venue did not answer a placement; reconciling by client order id',
    );
    this.options.reconciliation.reconcileLater(clientId, order.id);
    return (await store.readOrder(clientId, order.sessionId, order.id)) ?? order;
  }

  /**
   * A venue's order is canceled by the venue: its answer (the order's final state, fills
   * included) goes through the state machine. An order the venue no longer has open is
   * reconciled; no answer leaves it as it is.
   */
  async cancel(clientId: string, order: Order): Promise<Outcome<Order>> {
    const venue = this.options.venues.get(order.exchange);
    if (!venue) throw new Error(`no execution venue for ${order.exchange}`);
    const answer = await venue.cancel(order);
    let after: Order | null = order;
    if (answer === 'not-open') after = await this.options.reconciliation.reconcile(clientId, order);
    else if (answer !== 'unknown')
      after = await this.options.reconciliation.applyReport(clientId, order.id, answer);
    if (!after) return orderNotFound({ id: order.id });
    if (after.status === 'CANCELED') return after;
    if (isOpen(after.status)) {
      return rejected(
        'VENUE_REJECTED',
        `${order.exchange} did not cancel order ${order.id}; try again.`,
        after,
      );
    }
    return rejected('ORDER_NOT_OPEN', `Order ${after.id} is ${after.status}.`, after);
  }

  /**
   * Looks up every open order of this region on the venue (by venue client order id) and records
   * what the venue says through the report path: cumulative, so what the stream also delivers
   * changes nothing twice. A placement still unanswered is reconciled on until it is known. One
   * pass at a time per venue; a connection during a pass asks for one more after it.
   */
  private reconcileOpen(venue: ExternalVenue): void {
    const running = this.passes.get(venue.exchange);
    if (running) {
      running.again = true;
      return;
    }
    const pass = { again: false };
    this.passes.set(venue.exchange, pass);
    void (async () => {
      do {
        pass.again = false;
        try {
          await this.reconcilePass(venue);
        } catch (err) {
          this.options.log.error({ err, exchange: venue.exchange }, 'venue orders not reconciled');
        }
      } while (pass.again);
      this.passes.delete(venue.exchange);
    })();
  }

  private async reconcilePass(venue: ExternalVenue): Promise<void> {
    const { reconciliation, log, store, region } = this.options;
    for await (const { clientId, order } of openOrders(store, region)) {
      if (reconciliation.stopped) return;
      if (order.venue !== 'CCXT' || order.exchange !== venue.exchange) continue;
      try {
        const after = await reconciliation.reconcile(clientId, order);
        if (after.pendingSince != null && isOpen(after.status)) {
          reconciliation.reconcileLater(clientId, order.id);
        }
      } catch (err) {
        log.error({ err, order: order.id, exchange: venue.exchange }, 'venue order not reconciled');
      }
    }
  }

  /** An update on a venue's order stream: applied to the order it names, if it is one of ours. */
  private async onVenueReport(venue: ExternalVenue, report: VenueOrderReport): Promise<void> {
    const raw = await this.options.store.redis.get(
      venueOrderKey(this.options.region, venue.exchange, report.venueClientOrderId),
    );
    if (!raw) return;
    const ref = JSON.parse(raw) as VenueOrderRef;
    await this.options.reconciliation.applyReport(ref.c, ref.o, report);
  }
}
