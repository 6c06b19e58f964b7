import type { Repeater } from '@repeaterjs/repeater';
import { z } from 'zod';
import { requireScope } from '../auth/access.ts';
import { orderNotFoundMessage } from '../trading/failures.ts';
import { OrderRequestSchema } from '../trading/order-input.ts';
import type { Outcome } from '../trading/trading-service.ts';
import type { Fill, Order, OrderRequest, OrderStatus, OrderUpdate } from '../trading/types.ts';
import { apiError, ErrorCode } from './errors.ts';
import { parseArgs } from './orderbook.ts';
import { sessionNotFoundError, type TradingCall } from './session.ts';

export interface PlaceOrderInput {
  sessionId: string;
  exchange: string;
  symbol: string;
  side: 'BUY' | 'SELL';
  type: 'LIMIT' | 'MARKET';
  price?: string | null;
  amount: string;
  timeInForce?: 'GTC' | 'IOC' | 'FOK' | null;
  postOnly?: boolean | null;
  clientOrderId?: string | null;
}

export async function placeOrder(
  call: TradingCall,
  args: { input: PlaceOrderInput },
): Promise<Outcome<Order>> {
  const principal = requireScope(call.auth, 'trade');
  const { input } = args;
  const request: OrderRequest = parseArgs(OrderRequestSchema, {
    ...input,
    price: input.price ?? null,
    timeInForce: input.timeInForce ?? 'GTC',
    postOnly: input.postOnly ?? false,
    clientOrderId: input.clientOrderId ?? null,
  });
  return call.trading.service.placeOrder(principal.clientId, request);
}

type OrderRef = { id?: string | null; clientOrderId?: string | null };

const RefSchema = z
  .object({ id: z.string().max(200).nullish(), clientOrderId: z.string().max(64).nullish() })
  .refine(
    (r) => (r.id ? 1 : 0) + (r.clientOrderId ? 1 : 0) === 1,
    'give exactly one of id and clientOrderId',
  );

export function orderNotFoundError(ref: OrderRef) {
  return apiError(ErrorCode.OrderNotFound, orderNotFoundMessage(ref));
}

export async function cancelOrder(call: TradingCall, args: OrderRef): Promise<Outcome<Order>> {
  const principal = requireScope(call.auth, 'trade');
  const ref = parseArgs(RefSchema, args);
  return call.trading.service.cancelOrder(principal.clientId, ref);
}

export async function cancelAllOrders(
  call: TradingCall,
  args: { sessionId: string; exchange?: string | null; symbol?: string | null },
): Promise<Outcome<{ orders: Order[] }>> {
  const principal = requireScope(call.auth, 'trade');
  const result = await call.trading.service.cancelAllOrders(principal.clientId, args);
  return Array.isArray(result) ? { orders: result } : result;
}

/** One of the caller's orders, or ORDER_NOT_FOUND — the same answer for another client's order. */
export async function order(call: TradingCall, args: OrderRef): Promise<Order> {
  const principal = requireScope(call.auth, 'trade');
  const ref = parseArgs(RefSchema, args);
  const found = await call.trading.service.order(principal.clientId, ref);
  if (!found) throw orderNotFoundError(ref);
  return found;
}

export interface OrdersArgs {
  filter: {
    sessionId: string;
    status?: readonly OrderStatus[] | null;
    exchange?: string | null;
    symbol?: string | null;
    side?: 'BUY' | 'SELL' | null;
  };
  first: number;
  after?: string | null;
}

export interface OrderConnection {
  edges: { cursor: string; node: Order }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

const OrdersPageSchema = z.object({
  first: z.number().int().min(1).max(100),
  after: z.string().max(200).nullish(),
});

/** A page of a session's orders, newest first; `after` is the previous page's `endCursor`. */
export async function orders(call: TradingCall, args: OrdersArgs): Promise<OrderConnection> {
  const principal = requireScope(call.auth, 'trade');
  const { first, after } = parseArgs(OrdersPageSchema, args);
  const page = await call.trading.service.orders(principal.clientId, {
    ...args.filter,
    first,
    after: after ?? null,
  });
  if (!page) throw sessionNotFoundError(args.filter.sessionId);
  const edges = page.orders.map((node) => ({ cursor: node.id, node }));
  return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
}

/** The order's fills still kept in its session's fill stream, oldest first. */
export async function orderFills(call: TradingCall, o: Order): Promise<Fill[]> {
  const principal = requireScope(call.auth, 'trade');
  const all = await call.trading.service.store.readFills(principal.clientId, o.sessionId, 10_000);
  return all.filter((f) => f.orderId === o.id).reverse();
}

/** Every change of the session's orders from now on (or after `afterSeq`, from the kept ones). */
export async function orderUpdates(
  call: TradingCall,
  args: { sessionId: string; afterSeq?: number | null },
): Promise<Repeater<OrderUpdate>> {
  const principal = requireScope(call.auth, 'trade');
  const found = await call.trading.service.session(principal.clientId, args.sessionId);
  if (!found) throw sessionNotFoundError(args.sessionId);
  return call.trading.updates.stream(principal.clientId, args.sessionId, {
    afterSeq: args.afterSeq ?? null,
    queueMax: call.deps.limits.subscriberQueueMax,
    overflowError: () =>
      apiError(
        ErrorCode.SubscriberTooSlow,
        'The subscriber fell too far behind the order updates; resubscribe with afterSeq.',
      ),
  });
}
