import { parseOrderId } from './ids.ts';
import type { TradingStore } from './trading-store.ts';
import { isOpen, type Order } from './types.ts';

/** One open order of the region, and whose it is. */
export interface OpenOrder {
  clientId: string;
  order: Order;
}

/**
 * Every open order whose home is `region` and that a venue still moves (paper orders resting on
 * a book, orders on a real venue), read from the per-client index that WRITE_SESSION keeps in
 * the same call as each order change. Entries of orders that ended, or expired with their
 * session, are dropped on the way. Bounded by the clients and their open orders.
 */
export async function* openOrders(store: TradingStore, region: string): AsyncGenerator<OpenOrder> {
  for await (const clientIds of store.clientIds()) {
    const indexes = await Promise.all(clientIds.map((clientId) => store.openOrderIds(clientId, region)));
    for (const [i, orderIds] of indexes.entries()) {
      if (orderIds.length === 0) continue;
      const clientId = clientIds[i]!;
      const bySession = new Map<string, string[]>();
      const stale: string[] = [];
      for (const id of orderIds) {
        const parsed = parseOrderId(id);
        if (!parsed) {
          stale.push(id);
          continue;
        }
        const ids = bySession.get(parsed.sessionId) ?? [];
        ids.push(id);
        bySession.set(parsed.sessionId, ids);
      }
      const open: Order[] = [];
      for (const [sessionId, ids] of bySession) {
        const orders = await store.readOrders(clientId, sessionId, ids);
        const found = new Map(orders.map((o) => [o.id, o]));
        for (const id of ids) {
          const order = found.get(id);
          if (order && isOpen(order.status)) open.push(order);
          else stale.push(id);
        }
      }
      await store.dropOpenOrders(clientId, region, stale);
      for (const order of open) yield { clientId, order };
    }
  }
}
