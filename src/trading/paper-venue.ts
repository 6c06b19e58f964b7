import type { Logger } from 'pino';
import { addDecimal, compareDecimal } from '../marketdata/decimal.ts';
import { bookId } from '../marketdata/types.ts';
import type { BookHub, ViewLease } from '../pubsub/book-hub.ts';
import { remaining } from './accounting.ts';
import { type Placement, placeAgainstBook, restingFill } from './matching.ts';
import type { Order } from './types.ts';
import {
  type ExecutionVenue,
  type FillReporter,
  type RestingOrder,
  StaleBookError,
  VenueUnavailableError,
} from './venue.ts';

/** When a book is too old to trade against: the rule that makes the API say `stale: true`. */
export interface BookFreshness {
  now: () => number;
  /** The book's staleness threshold (`BOOK_STALE_MS` and its overrides). */
  staleAfterMs: (exchange: string, symbol: string) => number;
}

/** Books older than this are stale when no threshold is given (`BOOK_STALE_MS`'s default). */
export const DEFAULT_STALE_AFTER_MS = 5_000;

interface Watched {
  lease: ViewLease;
  unsubscribe: () => void;
  orders: Map<string, RestingOrder>;
  running: boolean;
  dirty: boolean;
}

/**
 * Paper trading against the live books of this process (BookHub replicas): market orders and
 * crossing limits walk the book as takers; resting limits fill as makers when a later book state
 * crosses their price. Fees come from the order (market metadata, or the paper defaults).
 */
export class PaperVenue implements ExecutionVenue {
  readonly name = 'PAPER' as const;
  private readonly watched = new Map<string, Watched>();
  private closed = false;

  constructor(
    private readonly hub: BookHub,
    private readonly report: FillReporter,
    private readonly log: Logger,
    private readonly freshness: BookFreshness = {
      now: Date.now,
      staleAfterMs: () => DEFAULT_STALE_AFTER_MS,
    },
  ) {}

  place(order: Order): Promise<Placement> {
    return this.against(order, true);
  }

  estimate(order: Order): Promise<Placement> {
    return this.against(order, false);
  }

  private async against(order: Order, fills: boolean): Promise<Placement> {
    const lease = await this.hub.acquire(order.exchange, order.symbol, 1);
    try {
      const replica = lease.view.replica;
      if (!replica.live)
        throw new VenueUnavailableError(`no live book for ${order.symbol} on ${order.exchange}`);
      const placement = placeAgainstBook(order, replica.book);
      // Never fill against a book that stopped moving: its prices may be long gone. An order
      // that only rests (or expires, or is refused as post-only) does not trade on it.
      if (fills && placement.kind === 'execute' && placement.fills.length > 0) {
        const age = this.age(order.exchange, order.symbol, replica.receiveTs);
        if (age !== null) throw new StaleBookError(age.ageMs, age.staleAfterMs);
      }
      return placement;
    } finally {
      lease.release();
    }
  }

  async watch(resting: RestingOrder): Promise<void> {
    if (this.closed) return;
    const { exchange, symbol } = resting.order;
    const id = bookId(exchange, symbol);
    let watched = this.watched.get(id);
    if (!watched) {
      const lease = await this.hub.acquire(exchange, symbol, 1);
      watched = this.watched.get(id);
      if (this.closed) {
        lease.release();
        return;
      }
      if (watched) {
        lease.release();
      } else {
        const entry: Watched = {
          lease,
          unsubscribe: () => {},
          orders: new Map(),
          running: false,
          dirty: false,
        };
        entry.unsubscribe = lease.view.replica.subscribe((event) => {
          if (event.type !== 'reset') this.schedule(id, entry);
        });
        this.watched.set(id, entry);
        watched = entry;
      }
    }
    watched.orders.set(resting.order.id, resting);
    // The book may already cross the order (it moved while the order was being written).
    this.schedule(id, watched);
  }

  forget(order: Order): void {
    const id = bookId(order.exchange, order.symbol);
    const watched = this.watched.get(id);
    if (!watched) return;
    watched.orders.delete(order.id);
    this.releaseIfIdle(id, watched);
  }

  close(): void {
    this.closed = true;
    for (const [id, watched] of this.watched) {
      watched.orders.clear();
      this.releaseIfIdle(id, watched);
    }
  }

  /** Orders watched (tests, metrics). */
  get restingCount(): number {
    let n = 0;
    for (const w of this.watched.values()) n += w.orders.size;
    return n;
  }

  private releaseIfIdle(id: string, watched: Watched): void {
    if (watched.orders.size > 0 || watched.running) return;
    watched.unsubscribe();
    watched.lease.release();
    if (this.watched.get(id) === watched) this.watched.delete(id);
  }

  /** One matching pass at a time per book; changes during a pass cause one more pass. */
  private schedule(id: string, watched: Watched): void {
    if (watched.running) {
      watched.dirty = true;
      return;
    }
    watched.running = true;
    void (async () => {
      try {
        do {
          watched.dirty = false;
          await this.matchPass(watched);
        } while (watched.dirty && !this.closed);
      } catch (err) {
        this.log.error({ err, book: id }, 'paper matching pass failed');
      } finally {
        watched.running = false;
        this.releaseIfIdle(id, watched);
      }
    })();
  }

  /** How old the book is, if older than its threshold; null while it is fresh. */
  private age(
    exchange: string,
    symbol: string,
    receiveTs: number,
  ): { ageMs: number; staleAfterMs: number } | null {
    const staleAfterMs = this.freshness.staleAfterMs(exchange, symbol);
    const ageMs = this.freshness.now() - receiveTs;
    return ageMs > staleAfterMs ? { ageMs, staleAfterMs } : null;
  }

  private async matchPass(watched: Watched): Promise<void> {
    const replica = watched.lease.view.replica;
    if (!replica.live) return;
    // A stale book fills nothing; its next update (fresh by definition) runs the pass again.
    const { exchange, symbol } = replica;
    if (this.age(exchange, symbol, replica.receiveTs)) return;
    // Price priority: best bids and best asks first; each consumes the crossing size it takes.
    const orders = [...watched.orders.values()].sort((a, b) => {
      const c = compareDecimal(a.order.price ?? '0', b.order.price ?? '0');
      return a.order.side === 'BUY' ? -c : c;
    });
    const consumed = { BUY: '0', SELL: '0' };
    for (const resting of orders) {
      const fill = restingFill(resting.order, replica.book, consumed[resting.order.side]);
      if (!fill) continue;
      consumed[resting.order.side] = addDecimal(consumed[resting.order.side], fill.amount);
      const after = await this.report(resting, fill);
      if (
        !after ||
        compareDecimal(remaining(after), '0') <= 0 ||
        (after.status !== 'NEW' && after.status !== 'PARTIALLY_FILLED')
      ) {
        watched.orders.delete(resting.order.id);
      } else {
        resting.order = after;
      }
    }
  }
}
