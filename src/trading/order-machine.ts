import { homeRegion } from './ids.ts';
import type { Order, OrderStatus } from './types.ts';

/**
 * The order state machine, enforced here and nowhere else:
 * NEW -> PARTIALLY_FILLED -> FILLED | CANCELED | EXPIRED; NEW -> FILLED | CANCELED | REJECTED | EXPIRED.
 * Terminal states never change again.
 */
const NEXT: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  NEW: ['PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'REJECTED', 'EXPIRED'],
  PARTIALLY_FILLED: ['PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'EXPIRED'],
  FILLED: [],
  CANCELED: [],
  REJECTED: [],
  EXPIRED: [],
};

export class IllegalTransitionError extends Error {
  override readonly name = 'IllegalTransitionError';
}

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return NEXT[from].includes(to);
}

export function isTerminal(status: OrderStatus): boolean {
  return NEXT[status].length === 0;
}

/** Moves the order to `to` (at `now`), or throws if the machine does not allow it. */
export function transition(order: Order, to: OrderStatus, now: number): void {
  if (!canTransition(order.status, to)) {
    throw new IllegalTransitionError(`order ${order.id}: ${order.status} -> ${to} is not allowed`);
  }
  order.status = to;
  order.updatedAt = now;
}

/**
 * Active-Active keeps one writer per order: only the region named in the id may write its
 * transitions, so two regions' views of one order are never merged.
 */
export function assertHomeRegion(id: string, region: string): void {
  if (homeRegion(id) !== region) {
    throw new IllegalTransitionError(`${id} belongs to region ${homeRegion(id)}, not ${region}`);
  }
}
