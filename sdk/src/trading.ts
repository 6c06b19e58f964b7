import type { BookgraphClient, RequestOptions } from './client.js';
import {
  type BalanceInput,
  CancelAllOrdersDocument,
  type CancelAllOrdersMutation,
  CancelOrderDocument,
  type CancelOrderMutation,
  CloseSessionDocument,
  type CloseSessionMutation,
  type FillFieldsFragment,
  OpenSessionDocument,
  type OpenSessionMutation,
  type OrderFieldsFragment,
  type OrderFilter,
  type OrderStatus,
  OrdersDocument,
  PlaceOrderDocument,
  type PlaceOrderInput,
  type PlaceOrderMutation,
} from './generated/graphql.js';

/** An order as the SDK's operations select it. */
export type TradingOrder = OrderFieldsFragment;
/** A fill as the SDK's operations select it. */
export type TradingFill = FillFieldsFragment;
/** A session (balances, positions, `lastSeq`) as the SDK's operations select it. */
export type TradingSession = OpenSessionMutation['openSession'];

/** Every member of `PlaceOrderResult`: the order, or one of the typed trading errors. */
export type PlaceOrderResult = PlaceOrderMutation['placeOrder'];
export type CancelOrderResult = CancelOrderMutation['cancelOrder'];
export type CancelAllOrdersResult = CancelAllOrdersMutation['cancelAllOrders'];
export type CloseSessionResult = CloseSessionMutation['closeSession'];

/** A result that is an expected trading error (`InsufficientBalance`, `OrderRejected`, …). */
export type TradingErrorResult<T extends { __typename: string }> = Exclude<
  T,
  { __typename: 'Order' | 'Session' | 'CanceledOrders' }
>;

/** The order states that never change again. */
export const FINAL_ORDER_STATUSES: readonly OrderStatus[] = ['FILLED', 'CANCELED', 'EXPIRED', 'REJECTED'];

export function isFinalStatus(status: OrderStatus): boolean {
  return FINAL_ORDER_STATUSES.includes(status);
}

/** Whether a trading mutation's result is an order (narrows the union). */
export function isOrder<T extends { __typename: string }>(
  result: T,
): result is Extract<T, { __typename: 'Order' }> {
  return result.__typename === 'Order';
}

/** Whether a trading mutation's result is one of the typed errors: it has `code` and `message`. */
export function isTradingError<T extends { __typename: string }>(result: T): result is TradingErrorResult<T> {
  return (
    result.__typename !== 'Order' && result.__typename !== 'Session' && result.__typename !== 'CanceledOrders'
  );
}

/** Opens a paper session with the given balances (needs the `trade` scope). */
export async function openSession(
  client: BookgraphClient,
  balances: readonly BalanceInput[],
  options?: RequestOptions,
): Promise<TradingSession> {
  const { openSession } = await client.mutate(OpenSessionDocument, { balances: [...balances] }, options);
  return openSession;
}

/** Cancels the session's open orders and closes it. */
export async function closeSession(
  client: BookgraphClient,
  id: string,
  options?: RequestOptions,
): Promise<CloseSessionResult> {
  return (await client.mutate(CloseSessionDocument, { id }, options)).closeSession;
}

/**
 * Places an order. Expected failures are results, not exceptions: switch on `__typename` (or use
 * {@link isOrder} / {@link isTradingError}). Give a `clientOrderId` to make a retry safe: the same
 * id and payload return the same order.
 */
export async function placeOrder(
  client: BookgraphClient,
  input: PlaceOrderInput,
  options?: RequestOptions,
): Promise<PlaceOrderResult> {
  return (await client.mutate(PlaceOrderDocument, { input }, options)).placeOrder;
}

/** Cancels one open order, named by its id or its clientOrderId. */
export async function cancelOrder(
  client: BookgraphClient,
  order: { id: string } | { clientOrderId: string },
  options?: RequestOptions,
): Promise<CancelOrderResult> {
  return (await client.mutate(CancelOrderDocument, order, options)).cancelOrder;
}

/** Cancels every open order of a session (optionally of one exchange and symbol). */
export async function cancelAllOrders(
  client: BookgraphClient,
  args: { sessionId: string; exchange?: string; symbol?: string },
  options?: RequestOptions,
): Promise<CancelAllOrdersResult> {
  return (await client.mutate(CancelAllOrdersDocument, args, options)).cancelAllOrders;
}

/**
 * Every order matching `filter`, newest first, page by page (`pageSize` per request, following
 * `pageInfo.endCursor`; `after` starts after a cursor). Break out of the loop to stop.
 */
export async function* listOrders(
  client: BookgraphClient,
  filter: OrderFilter,
  options: { pageSize?: number; after?: string; signal?: AbortSignal } = {},
): AsyncGenerator<TradingOrder, void, undefined> {
  let after: string | null = options.after ?? null;
  for (;;) {
    const page = await client.query(
      OrdersDocument,
      { filter, first: options.pageSize ?? 100, after },
      options.signal ? { signal: options.signal } : undefined,
    );
    for (const edge of page.orders.edges) yield edge.node;
    if (!page.orders.pageInfo.hasNextPage || !page.orders.pageInfo.endCursor) return;
    after = page.orders.pageInfo.endCursor;
  }
}
