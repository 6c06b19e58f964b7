import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.ts';
import { releaseLock } from './accounting.ts';
import { parseOrderId } from './ids.ts';
import { transition } from './order-machine.ts';
import {
  beginWrite,
  MAX_ATTEMPTS,
  readSessionAndOrder,
  recordCancel,
  recordExpiry,
  recordFill,
  recordUpdate,
} from './session-write.ts';
import type { SessionWrite, TradingStore } from './trading-store.ts';
import { isOpen, type Order, type Session } from './types.ts';
import type { ExternalVenue, VenueOrderReport } from './venue.ts';
import { newFills, type TerminalReportKind, terminalReportKind } from './venue-fills.ts';

/** First reconciliation of an unanswered placement after this long, doubling up to 5 s. */
const RECONCILE_FIRST_MS = 250;
const RECONCILE_MAX_MS = 5_000;

/** The venue refused the order (or never got it): REJECTED, nothing reserved, no longer pending. */
function recordVenueRejection(
  write: SessionWrite,
  session: Session,
  order: Order,
  message: string,
  now: number,
): void {
  order.rejectReason = 'VENUE_REJECTED';
  order.rejectMessage = message;
  order.pendingSince = null;
  transition(order, 'REJECTED', now);
  releaseLock(session, order);
  recordUpdate(write, session, 'REJECTED', order, null, now);
}

export interface VenueReconciliationOptions {
  store: TradingStore;
  log: Logger;
  now: () => number;
  /** The real venues by exchange id; an order of any other exchange is not reconciled. */
  venues: ReadonlyMap<string, ExternalVenue>;
  /** Where reports for orders no longer open are counted. @default not counted */
  metrics?: Pick<Metrics, 'venueReportsIgnored'>;
}

/**
 * What a real venue says about an order, recorded through the state machine: its reports
 * (cumulative, so any order of arrival ends the same), its refusals, and — when a placement got
 * no answer — what a lookup by venue client order id finds, asked again with backoff until the
 * order is known or the venue's accept window has passed.
 */
export class VenueReconciliation {
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly options: VenueReconciliationOptions) {}

  /** Stopped: the process is closing its trading. */
  get stopped(): boolean {
    return this.closed;
  }

  /** No reconciliation is scheduled from now on, and none that is waiting runs. */
  stop(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** A placement got no answer: the order is reconciled by a timer until its state is known. */
  reconcileLater(clientId: string, orderId: string): void {
    this.schedule(clientId, orderId, 0);
  }

  /**
   * Asks the venue what became of a pending order and records it. Not found: if the venue can
   * still accept the request (inside its window), the order stays pending; past it, the venue
   * never will, and the order is REJECTED.
   */
  async reconcile(clientId: string, order: Order): Promise<Order> {
    const venue = this.options.venues.get(order.exchange);
    if (!venue) return order;
    const state = await venue.lookup(order);
    if (state === 'unknown') return order;
    if (state) return (await this.applyReport(clientId, order.id, state)) ?? order;
    if (order.pendingSince != null && this.options.now() - order.pendingSince > venue.acceptWindowMs) {
      return (await this.rejectAtVenue(clientId, order.id, 'The order never reached the venue.')) ?? order;
    }
    return order;
  }

  /**
   * The venue's state of an order, through the state machine: the fills it reports beyond what is
   * recorded, then its end (CANCELED, EXPIRED, REJECTED). Reports are cumulative, so one applied
   * twice, late or after a later one changes nothing. Resolves with the order after it.
   */
  async applyReport(clientId: string, orderId: string, report: VenueOrderReport): Promise<Order | null> {
    const contended = `venue update of ${orderId}: session too contended`;
    let ended: { order: Order; kind: TerminalReportKind } | null = null;
    const after = await this.changeOrder(clientId, orderId, contended, (session, order) => {
      ended = isOpen(order.status) ? null : { order, kind: terminalReportKind(order, report) };
      if (ended) return null;
      const now = this.options.now();
      const write = beginWrite(session);
      let changed = false;
      if (report.venueOrderId && order.venueOrderId !== report.venueOrderId) {
        order.venueOrderId = report.venueOrderId;
        changed = true;
      }
      if (order.pendingSince != null) {
        order.pendingSince = null;
        changed = true;
      }
      for (const planned of newFills(order, report)) {
        recordFill(write, session, order, planned, now);
        changed = true;
      }
      if (isOpen(order.status) && report.status !== 'OPEN' && report.status !== 'FILLED') {
        if (report.status === 'REJECTED' && order.status === 'NEW') {
          recordVenueRejection(write, session, order, 'The venue rejected the order.', now);
        } else if (report.status === 'EXPIRED') {
          recordExpiry(write, session, order, now);
        } else {
          recordCancel(write, session, order, now);
        }
        changed = true;
      }
      if (!changed) return null;
      session.updatedAt = now;
      write.orders = [order];
      return write;
    });
    if (ended) await this.recordIgnored(clientId, ended, report);
    return after;
  }

  /**
   * A report the order cannot take, being no longer open. Never silent: a `more_filled` one is a
   * real fill the session does not have. Logged (one line), counted, and kept in the client's
   * audit stream with what the venue and the session each say, for reconciliation by hand.
   */
  private async recordIgnored(
    clientId: string,
    { order, kind }: { order: Order; kind: TerminalReportKind },
    report: VenueOrderReport,
  ): Promise<void> {
    const { log, metrics, store, now } = this.options;
    metrics?.venueReportsIgnored.inc({ exchange: order.exchange, kind });
    const detail = `venue ${report.status} filled ${report.filled} cost ${report.cost}; recorded ${order.status} filled ${order.filled} cost ${order.cost}`;
    log.warn(
      { order: order.id, exchange: order.exchange, kind, venueOrderId: report.venueOrderId, detail },
      'venue report for an order no longer open ignored',
    );
    try {
      await store.audit(
        clientId,
        {
          action: 'venueReport',
          sessionId: order.sessionId,
          orderId: order.id,
          clientOrderId: order.clientOrderId,
          result: `ignored:${kind}`,
          detail,
        },
        now(),
      );
    } catch (err) {
      log.error({ err, order: order.id }, 'ignored venue report not recorded');
    }
  }

  /** The venue refused the order (or never got it): NEW -> REJECTED, its reservation released. */
  async rejectAtVenue(clientId: string, orderId: string, message: string): Promise<Order | null> {
    const contended = `venue rejection of ${orderId}: session too contended`;
    return this.changeOrder(clientId, orderId, contended, (session, order) => {
      if (order.status !== 'NEW') return null;
      const now = this.options.now();
      session.updatedAt = now;
      const write = beginWrite(session);
      recordVenueRejection(write, session, order, message, now);
      write.orders = [order];
      return write;
    });
  }

  private schedule(clientId: string, orderId: string, attempt: number): void {
    if (this.closed) return;
    const delay = Math.min(RECONCILE_MAX_MS, RECONCILE_FIRST_MS * 2 ** attempt);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void (async () => {
        const parsed = parseOrderId(orderId);
        const order = parsed && (await this.options.store.readOrder(clientId, parsed.sessionId, orderId));
        if (!order || order.pendingSince == null || !isOpen(order.status)) return;
        const after = await this.reconcile(clientId, order);
        if (after.pendingSince != null && isOpen(after.status)) this.schedule(clientId, orderId, attempt + 1);
      })().catch((err: unknown) => {
        this.options.log.error({ err, order: orderId }, 'reconciliation failed');
        this.schedule(clientId, orderId, attempt + 1);
      });
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  /**
   * One change of a venue order, written conditionally: `change` decides on a fresh read of the
   * order and its session (null: nothing to write), again each time a concurrent command moved
   * the session on. Resolves with the order after it, or null if there is no such order.
   */
  private async changeOrder(
    clientId: string,
    orderId: string,
    contended: string,
    change: (session: Session, order: Order) => SessionWrite | null,
  ): Promise<Order | null> {
    const parsed = parseOrderId(orderId);
    if (!parsed) return null;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const found = await readSessionAndOrder(this.options.store, clientId, parsed.sessionId, orderId);
      if (!found) return null;
      const write = change(found.session, found.order);
      if (!write) return found.order;
      if ((await this.options.store.write(clientId, write)) === 'ok') return found.order;
    }
    throw new Error(contended);
  }
}
