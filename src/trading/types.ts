/** Trading models: sessions, orders, fills and the updates a session's subscribers receive. */

export type OrderSide = 'BUY' | 'SELL';
export type OrderType = 'LIMIT' | 'MARKET';
export type TimeInForce = 'GTC' | 'IOC' | 'FOK';
export type OrderStatus = 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'REJECTED' | 'EXPIRED';
export type Liquidity = 'MAKER' | 'TAKER';
/** Where an order executes: the paper matcher, or a real exchange through ccxt. */
export type VenueName = 'PAPER' | 'CCXT';

/** What a client asks for; validated before anything is written. */
export interface OrderRequest {
  sessionId: string;
  exchange: string;
  symbol: string;
  side: OrderSide;
  type: OrderType;
  /** Limit price; required for LIMIT, absent for MARKET. */
  price: string | null;
  amount: string;
  timeInForce: TimeInForce;
  postOnly: boolean;
  clientOrderId: string | null;
}

export interface Order {
  id: string;
  sessionId: string;
  clientOrderId: string | null;
  /** Region that owns the order: the only one that writes its transitions. */
  region: string;
  venue: VenueName;
  exchange: string;
  symbol: string;
  base: string;
  quote: string;
  side: OrderSide;
  type: OrderType;
  price: string | null;
  amount: string;
  timeInForce: TimeInForce;
  postOnly: boolean;
  status: OrderStatus;
  filled: string;
  /** Quote value of the fills (sum of price × amount). */
  cost: string;
  /** Fees paid, in `quote`. */
  fee: string;
  /** Asset reserved for the unfilled part (quote for buys, base for sells) and how much is left. */
  lockAsset: string;
  locked: string;
  /** Reserved per unit of amount: price × (1 + fee rate) for limit buys, 1 for sells. */
  lockPerUnit: string;
  makerFeeRate: string;
  takerFeeRate: string;
  rejectReason: string | null;
  /** The venue's reason when it refused the order (an external venue's message). */
  rejectMessage?: string | null;
  /** External venues: the venue's own order id, once it answered. */
  venueOrderId?: string | null;
  /**
   * External venues: when the placement was sent and no answer came yet (a timeout, a cut
   * connection). The order stays NEW until the venue's state is known (`fetchOrder` by
   * clientOrderId, or an update on the venue's order stream).
   */
  pendingSince?: number | null;
  /** Hash of the request, for idempotency: the same clientOrderId with another payload conflicts. */
  fingerprint: string;
  createdAt: number;
  updatedAt: number;
}

export interface Fill {
  id: string;
  orderId: string;
  sessionId: string;
  exchange: string;
  symbol: string;
  side: OrderSide;
  price: string;
  amount: string;
  fee: string;
  feeAsset: string;
  liquidity: Liquidity;
  ts: number;
}

/** One market's position in a session: signed base quantity and its cost in quote. */
export interface Position {
  exchange: string;
  symbol: string;
  base: string;
  quote: string;
  quantity: string;
  /** Signed quote cost of `quantity` (average cost × quantity). */
  cost: string;
  /** Closed gains minus fees, in quote. */
  realisedPnl: string;
  fees: string;
}

export interface Session {
  id: string;
  clientId: string;
  region: string;
  /** Sessions keep paper balances; each order's own `venue` says where it executes. */
  venue: 'PAPER';
  status: 'OPEN' | 'CLOSED';
  createdAt: number;
  updatedAt: number;
  closedAt: number | null;
  /** Bumped by every write; the compare-and-set token of the session's script. */
  version: number;
  /** Last orderUpdates seq. */
  seq: number;
  orderCount: number;
  initialBalances: Map<string, string>;
  totals: Map<string, string>;
  locked: Map<string, string>;
  positions: Map<string, Position>;
}

export type OrderUpdateType = 'NEW' | 'FILL' | 'CANCELED' | 'EXPIRED' | 'REJECTED';

/** One `orderUpdates` message: an order's state after a change, and the fill that made it. */
export interface OrderUpdate {
  sessionId: string;
  seq: number;
  type: OrderUpdateType;
  order: Order;
  fill: Fill | null;
  ts: number;
}

export function isOpen(status: OrderStatus): boolean {
  return status === 'NEW' || status === 'PARTIALLY_FILLED';
}
