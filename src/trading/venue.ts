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
