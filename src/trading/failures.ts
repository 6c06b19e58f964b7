import type { Order } from './types.ts';

/**
 * Expected outcomes of a trading command that are not an order: returned as typed members of the
 * mutation's result union (never thrown), each with a stable `code` and a message for people.
 */
export type TradingFailure =
  | { kind: 'MarketNotFound'; code: 'MARKET_NOT_FOUND'; message: string; exchange: string; symbol: string }
  | { kind: 'SessionNotFound'; code: 'SESSION_NOT_FOUND'; message: string; sessionId: string }
  | { kind: 'OrderNotFound'; code: 'ORDER_NOT_FOUND'; message: string }
  | {
      kind: 'InvalidPrecision';
      code: 'INVALID_PRECISION';
      message: string;
      field: 'price' | 'amount';
      value: string;
      increment: string;
    }
  | {
      kind: 'BelowMinimum';
      code: 'BELOW_MINIMUM';
      message: string;
      field: 'amount' | 'notional';
      value: string;
      minimum: string;
    }
  | {
      kind: 'AboveMaximum';
      code: 'ABOVE_MAXIMUM';
      message: string;
      field: 'amount' | 'notional';
      value: string;
      maximum: string;
    }
  | {
      kind: 'InsufficientBalance';
      code: 'INSUFFICIENT_BALANCE';
      message: string;
      asset: string;
      required: string;
      available: string;
    }
  | {
      kind: 'OrderRejected';
      code: 'ORDER_REJECTED';
      message: string;
      reason: RejectReason;
      order: Order | null;
    }
  | {
      kind: 'WrongRegion';
      code: 'WRONG_REGION';
      message: string;
      /** The region that owns the session: the only one that accepts its writes. */
      homeRegion: string;
      /** This server's region. */
      region: string;
    }
  | {
      kind: 'IdempotencyConflict';
      code: 'IDEMPOTENCY_CONFLICT';
      message: string;
      clientOrderId: string;
      orderId: string;
    };

/** A command's result: what it made, or the typed failure. */
export type Outcome<T> = T | TradingFailure;

export type RejectReason =
  | 'POST_ONLY_WOULD_TAKE'
  | 'SESSION_CLOSED'
  | 'SESSION_ORDER_LIMIT'
  | 'MARKET_INACTIVE'
  | 'BOOK_UNAVAILABLE'
  | 'BOOK_STALE'
  | 'ORDER_NOT_OPEN'
  | 'VENUE_REJECTED';

/** The one text of "no such session" — the same for a missing id and another client's. */
export function sessionNotFoundMessage(sessionId: string): string {
  return `Session "${sessionId}" not found.`;
}

/** The one text of "no such order" — the same for a missing id and another client's. */
export function orderNotFoundMessage(ref: { id?: string | null; clientOrderId?: string | null }): string {
  return ref.id
    ? `Order "${ref.id}" not found.`
    : `Order with clientOrderId "${ref.clientOrderId ?? ''}" not found.`;
}

export function sessionNotFound(sessionId: string): TradingFailure {
  return {
    kind: 'SessionNotFound',
    code: 'SESSION_NOT_FOUND',
    message: sessionNotFoundMessage(sessionId),
    sessionId,
  };
}

export function orderNotFound(ref: { id?: string | null; clientOrderId?: string | null }): TradingFailure {
  return { kind: 'OrderNotFound', code: 'ORDER_NOT_FOUND', message: orderNotFoundMessage(ref) };
}

export function rejected(reason: RejectReason, message: string, order: Order | null = null): TradingFailure {
  return { kind: 'OrderRejected', code: 'ORDER_REJECTED', message, reason, order };
}

/** The typed answer for an order a venue refused (or that never reached it). */
export function venueRejected(order: Order): TradingFailure {
  return rejected(
    'VENUE_REJECTED',
    `${order.exchange} refused order ${order.id}: ${order.rejectMessage ?? 'rejected'}`,
    order,
  );
}

export function insufficientBalance(asset: string, required: string, free: string): TradingFailure {
  return {
    kind: 'InsufficientBalance',
    code: 'INSUFFICIENT_BALANCE',
    message: `${asset}: ${required} needed, ${free} available.`,
    asset,
    required,
    available: free,
  };
}

/**
 * A write on a session owned by another region: Active-Active keeps one writer per session, so
 * it is refused before anything is written, and names where to send it.
 */
export function wrongRegion(id: string, homeRegion: string, region: string): TradingFailure {
  return {
    kind: 'WrongRegion',
    code: 'WRONG_REGION',
    message: `${id} belongs to region ${homeRegion}; send writes to a server of ${homeRegion} (this is ${region}).`,
    homeRegion,
    region,
  };
}

/** The order's book is not live here (never written, or resynchronising): a retry may succeed. */
export function bookUnavailable(market: { exchange: string; symbol: string }): TradingFailure {
  return rejected('BOOK_UNAVAILABLE', `No live book for ${market.symbol} on ${market.exchange}; try again.`);
}

/** The order would fill on arrival against a book that stopped updating: a retry may succeed. */
export function bookStale(
  market: { exchange: string; symbol: string },
  ageMs: number,
  staleAfterMs: number,
): TradingFailure {
  return rejected(
    'BOOK_STALE',
    `The book of ${market.symbol} on ${market.exchange} is stale (last update ${ageMs} ms ago, more than ${staleAfterMs} ms): no fill against it. Try again when it updates.`,
  );
}

export function isFailure(value: object): value is TradingFailure {
  return 'kind' in value && 'code' in value;
}
