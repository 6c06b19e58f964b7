import { applyFill, releaseLock } from './accounting.ts';
import { newSessionId } from './ids.ts';
import type { PlannedFill } from './matching.ts';
import { transition } from './order-machine.ts';
import type { SessionWrite, TradingStore } from './trading-store.ts';
import type { Order, OrderUpdate, OrderUpdateType, Session } from './types.ts';

// One command's change of a session, as the single conditional write that records it. Every
// command reads the session, changes it with these, and writes; a write that finds the session
// moved on is read and decided again, up to MAX_ATTEMPTS times.

/** Conditional writes retried this many times against concurrent commands on one session. */
export const MAX_ATTEMPTS = 64;

/** The session and one of its orders as one attempt reads them; null if either is gone. */
export async function readSessionAndOrder(
  store: TradingStore,
  clientId: string,
  sessionId: string,
  orderId: string,
): Promise<{ session: Session; order: Order } | null> {
  const session = await store.readSession(clientId, sessionId);
  const order = session && (await store.readOrder(clientId, sessionId, orderId));
  return session && order ? { session, order } : null;
}

/** A new session of `region`, OPEN, holding `balances`. */
export function newSession(
  clientId: string,
  region: string,
  balances: ReadonlyMap<string, string>,
  now: number,
): Session {
  return {
    id: newSessionId(region, now),
    clientId,
    region,
    venue: 'PAPER',
    status: 'OPEN',
    createdAt: now,
    updatedAt: now,
    closedAt: null,
    version: 1,
    seq: 0,
    orderCount: 0,
    initialBalances: new Map(balances),
    totals: new Map(balances),
    locked: new Map(),
    positions: new Map(),
  };
}

/** The write that creates the session: it fails ('stale') if the session exists. */
export function createWrite(session: Session): SessionWrite {
  return { session, expectedVersion: null, orders: [], fills: [], events: [] };
}

/** The write of the session's next version: it succeeds only if the session is still at the one read. */
export function beginWrite(session: Session): SessionWrite {
  const expectedVersion = session.version;
  session.version += 1;
  return { session, expectedVersion, orders: [], fills: [], events: [] };
}

/** The order's state after a change, as the next update of the session's stream. */
export function recordUpdate(
  write: SessionWrite,
  session: Session,
  type: OrderUpdateType,
  order: Order,
  fill: OrderUpdate['fill'],
  now: number,
): void {
  session.seq += 1;
  write.events.push({
    sessionId: session.id,
    seq: session.seq,
    type,
    // A copy: the order object goes on changing within this command.
    order: { ...order },
    fill,
    ts: now,
  });
}

export function recordFill(
  write: SessionWrite,
  session: Session,
  order: Order,
  planned: PlannedFill,
  now: number,
): void {
  const fill = applyFill(session, order, { id: `${order.id}_${session.seq + 1}`, ...planned, ts: now });
  write.fills.push(fill);
  recordUpdate(write, session, 'FILL', order, fill, now);
}

export function recordCancel(write: SessionWrite, session: Session, order: Order, now: number): void {
  transition(order, 'CANCELED', now);
  releaseLock(session, order);
  recordUpdate(write, session, 'CANCELED', order, null, now);
}

export function recordExpiry(write: SessionWrite, session: Session, order: Order, now: number): void {
  transition(order, 'EXPIRED', now);
  releaseLock(session, order);
  recordUpdate(write, session, 'EXPIRED', order, null, now);
}
