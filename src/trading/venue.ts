import type { Placement, PlannedFill } from './matching.ts';
import type { Order, VenueName } from './types.ts';

/** A resting order as a venue tracks it: enough to report fills back to its session. */
export interface RestingOrder {
  clientId: string;
  order: Order;
}

/**
 * Applies a venue's fill of a resting order to its session (through the same conditional write
 * as every other change); resolves with the order after it, or null once the order is no longer
 * open (canceled meanwhile, already filled), which tells the venue to stop watching it.
 */
export type FillReporter = (resting: RestingOrder, fill: PlannedFill) => Promise<Order | null>;

/**
 * Where orders execute. The trading service owns state (Redis, the state machine, balances);
 * a venue only decides fills: what a new order does now, and later fills of a resting order.
 */
export interface ExecutionVenue {
  readonly name: VenueName;
  /** What the order does against the venue now: fill, rest, expire or be rejected. */
  place(order: Order): Promise<Placement>;
  /**
   * What the order would take from the venue's book as it is, however old: a price estimate (a
   * real venue's market buy reserves by it), never a fill.
   */
  estimate(order: Order): Promise<Placement>;
  /** Watches a resting order, reporting fills until the reporter says it is no longer open. */
  watch(resting: RestingOrder): Promise<void>;
  /** Stops watching an order (canceled, expired). */
  forget(order: Order): void;
  close(): void;
}

/** The book of an order's market is not available (never written, or resynchronising). */
export class VenueUnavailableError extends Error {
  override readonly name = 'VenueUnavailableError';
}

/** The order would fill on arrival, but its book had no update within its staleness threshold. */
export class StaleBookError extends Error {
  override readonly name = 'StaleBookError';
  constructor(
    readonly ageMs: number,
    readonly staleAfterMs: number,
  ) {
    super(`the book's last update is ${ageMs} ms old (stale after ${staleAfterMs} ms)`);
  }
}

/**
 * An order's state at an external venue, cumulative (filled and quote value so far), so that a
 * report applied twice, late or out of order changes nothing the first did not.
 */
export interface VenueOrderReport {
  /** The id the venue knows the order by from us (Binance `newClientOrderId`, OKX `clOrdId`: ccxt's `clientOrderId`). */
  venueClientOrderId: string;
  venueOrderId: string | null;
  status: 'OPEN' | 'FILLED' | 'CANCELED' | 'REJECTED' | 'EXPIRED';
  /** Cumulative filled amount and quote value. */
  filled: string;
  cost: string;
  /** The last execution, when the report is about one (price, amount, maker or taker). */
  last: VenueExecution | null;
  /** Every execution so far, oldest first, when the venue listed them (Binance's FULL answer). */
  executions: VenueExecution[] | null;
}

export interface VenueExecution {
  price: string;
  amount: string;
  liquidity: 'MAKER' | 'TAKER';
}

/** What a venue said to a placement. `unknown`: no answer (timeout, cut connection). */
export type VenueSubmitResult =
  | { kind: 'accepted'; report: VenueOrderReport }
  | { kind: 'rejected'; message: string }
  | { kind: 'unknown'; message: string };

/**
 * A real exchange (through ccxt) for the orders of one exchange id. The trading service writes
 * each order first, then asks the venue, then records its answer; the venue only talks to the
 * exchange. Every order is known to the venue by `venueClientOrderId(order)`, a function of the
 * order id alone, so a retry can never place a second order for it.
 */
export interface ExternalVenue {
  readonly name: 'CCXT';
  readonly exchange: string;
  /**
   * How long after a placement was sent the exchange may still accept it (Binance refuses a
   * request older than `recvWindow`): past it, an order the exchange does not know never will be.
   */
  readonly acceptWindowMs: number;
  venueClientOrderId(order: Order): string;
  /**
   * Connects and follows the account's order updates (retrying), handing each to `onReport`.
   * `onConnected` runs each time the stream is (re)subscribed: what happened while it was not
   * is not on it, and is asked of the venue order by order.
   */
  start(onReport: (report: VenueOrderReport) => void, onConnected?: () => void): void;
  submit(order: Order): Promise<VenueSubmitResult>;
  /** The venue's answer to a cancel: the order's final state, `not-open`, or `unknown`. */
  cancel(order: Order): Promise<VenueOrderReport | 'not-open' | 'unknown'>;
  /** The order's state at the venue, null if the venue has no such order, `unknown` if unreachable. */
  lookup(order: Order): Promise<VenueOrderReport | null | 'unknown'>;
  close(): Promise<void>;
}
