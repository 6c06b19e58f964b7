import { orderId, parseOrderId } from './ids.ts';
import type { TradingStore } from './trading-store.ts';
import type { Order, Session } from './types.ts';

/** How a client names one of its orders: by id, or by its own clientOrderId. */
export interface OrderRef {
  id?: string | null;
  clientOrderId?: string | null;
}

/** Filters and position of one page of a session's orders. */
export interface OrdersPageArgs {
  sessionId: string;
  first: number;
  /** The last order id of the previous page. */
  after: string | null;
  status?: readonly Order['status'][] | null;
  exchange?: string | null;
  symbol?: string | null;
  side?: Order['side'] | null;
}

/** Where the order a ref names is stored; null if the ref names none of the client's. */
export async function findOrder(
  store: TradingStore,
  clientId: string,
  ref: OrderRef,
): Promise<{ id: string; sessionId: string } | null> {
  const id =
    ref.id ?? (ref.clientOrderId ? await store.orderIdForClientOrderId(clientId, ref.clientOrderId) : null);
  const parsed = id ? parseOrderId(id) : null;
  return id && parsed ? { id, sessionId: parsed.sessionId } : null;
}

/** The order a clientOrderId names, if it still exists; a stale claim (expired session) is dropped. */
export async function existingOrder(
  store: TradingStore,
  clientId: string,
  clientOrderId: string,
): Promise<Order | null> {
  const found = await findOrder(store, clientId, { clientOrderId });
  if (!found) return null;
  const order = await store.readOrder(clientId, found.sessionId, found.id);
  if (!order) await store.dropClaim(clientId, clientOrderId, found.id);
  return order;
}

/**
 * A page of the session's orders, newest first, filtered. Order ids count down from the
 * session's last, so a page reads batches of ids rather than an index; it scans at most
 * `scanLimit` orders, and says there is more when it stopped there.
 */
export async function pageOrders(
  store: TradingStore,
  clientId: string,
  session: Session,
  args: OrdersPageArgs,
  scanLimit: number,
): Promise<{ orders: Order[]; hasNextPage: boolean }> {
  const after = args.after ? parseOrderId(args.after) : null;
  let n = after && after.sessionId === session.id ? after.n - 1 : session.orderCount;
  const matches = (o: Order) =>
    (!args.status?.length || args.status.includes(o.status)) &&
    (!args.exchange || o.exchange === args.exchange) &&
    (!args.symbol || o.symbol === args.symbol) &&
    (!args.side || o.side === args.side);
  const out: Order[] = [];
  let scanned = 0;
  while (n > 0 && out.length <= args.first && scanned < scanLimit) {
    const batch: string[] = [];
    for (let k = n; k > 0 && batch.length < Math.max(50, args.first * 2); k--)
      batch.push(orderId(session.id, k));
    n -= batch.length;
    scanned += batch.length;
    const orders = await store.readOrders(clientId, session.id, batch);
    for (const o of orders) if (matches(o)) out.push(o);
  }
  return {
    orders: out.slice(0, args.first),
    hasNextPage: out.length > args.first || (n > 0 && scanned >= scanLimit),
  };
}
