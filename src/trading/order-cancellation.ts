import { randomUUID } from 'node:crypto';
import type { ExternalVenueOrders } from './external-venue-orders.ts';
import {
  isFailure,
  type Outcome,
  orderNotFound,
  rejected,
  sessionNotFound,
  type TradingFailure,
} from './failures.ts';
import { isSessionId } from './ids.ts';
import { findOrder, type OrderRef } from './order-queries.ts';
import type { PaperOrders } from './paper-orders.ts';
import { beginWrite, MAX_ATTEMPTS, readSessionAndOrder, recordCancel } from './session-write.ts';
import type { TradingStore } from './trading-store.ts';
import { isOpen, type Order, type Session } from './types.ts';

/** Orders written per script call when many change at once (cancel all). */
const WRITE_CHUNK = 500;

export interface OrderCancellationOptions {
  store: TradingStore;
  now: () => number;
  paper: PaperOrders;
  venueOrders: ExternalVenueOrders;
}

/**
 * Canceling orders: one, or every open one of a session that matches (which is also how a
 * session closes). Paper orders are canceled here, in one write per chunk; orders on real
 * venues are canceled by their venue.
 */
export class OrderCancellation {
  constructor(private readonly options: OrderCancellationOptions) {}

  async cancelOne(clientId: string, ref: OrderRef): Promise<Outcome<Order>> {
    const { store } = this.options;
    // One key for the command: a cancel resent after its lost reply answers CANCELED again.
    const opId = `cancel:${randomUUID()}`;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const where = await findOrder(store, clientId, ref);
      if (!where) return orderNotFound(ref);
      const found = await readSessionAndOrder(store, clientId, where.sessionId, where.id);
      if (!found) return orderNotFound(ref);
      const { session, order } = found;
      if (!isOpen(order.status))
        return rejected('ORDER_NOT_OPEN', `Order ${order.id} is ${order.status}.`, order);
      if (order.venue === 'CCXT') return this.options.venueOrders.cancel(clientId, order);
      const now = this.options.now();
      session.updatedAt = now;
      const write = beginWrite(session);
      recordCancel(write, session, order, now);
      write.orders = [order];
      if ((await store.write(clientId, { ...write, opId })) === 'ok') {
        this.options.paper.forget(order);
        return order;
      }
    }
    throw new Error('cancelOrder: session too contended');
  }

  /** Cancels the session's open orders that match, in chunks; closes the session if asked. */
  async cancelMatching(
    clientId: string,
    sessionId: string,
    matches: (order: Order) => boolean,
    closeSession: boolean,
  ): Promise<TradingFailure | { session: Session; orders: Order[] }> {
    if (!isSessionId(sessionId)) return sessionNotFound(sessionId);
    const { store } = this.options;
    const canceled: Order[] = [];
    // Orders on real venues are canceled there first, one by one; what a venue does not cancel
    // stays open (and keeps following the venue), whatever the session does.
    for (const order of await store.allOrders(clientId, sessionId)) {
      if (order.venue !== 'CCXT' || !isOpen(order.status) || !matches(order)) continue;
      const result = await this.options.venueOrders.cancel(clientId, order);
      if (!isFailure(result)) canceled.push(result);
    }
    const local = (o: Order) => isOpen(o.status) && o.venue !== 'CCXT';
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const session = await store.readSession(clientId, sessionId);
      if (!session) return sessionNotFound(sessionId);
      const all = await store.allOrders(clientId, sessionId);
      const open = all.filter((o) => local(o) && matches(o)).slice(0, WRITE_CHUNK);
      const finishing = closeSession && open.length === all.filter(local).length;
      if (open.length === 0 && !(closeSession && session.status === 'OPEN'))
        return { session, orders: canceled };
      const now = this.options.now();
      session.updatedAt = now;
      const write = beginWrite(session);
      for (const order of open) recordCancel(write, session, order, now);
      write.orders = open;
      if (finishing && session.status === 'OPEN') {
        session.status = 'CLOSED';
        session.closedAt = now;
        write.release = all.map((o) => o.clientOrderId).filter((c): c is string => c !== null);
      }
      if ((await store.write(clientId, write)) === 'ok') {
        for (const order of open) this.options.paper.forget(order);
        canceled.push(...open);
        if (!closeSession && open.length < WRITE_CHUNK) return { session, orders: canceled };
        if (closeSession && session.status === 'CLOSED') return { session, orders: canceled };
      }
    }
    throw new Error('cancelAllOrders: session too contended');
  }
}
