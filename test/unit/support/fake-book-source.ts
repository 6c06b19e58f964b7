import { OrderBook } from '../../../src/marketdata/order-book.ts';
import type { Level } from '../../../src/marketdata/types.ts';
import type { ReplicaEvent, ResetReason } from '../../../src/pubsub/book-replica.ts';
import type { BookSource } from '../../../src/pubsub/depth-view.ts';

/**
 * A BookSource without Redis: applies events to an OrderBook and announces them exactly as
 * BookReplica does (book and seq updated before the listeners run; a resync is a reset followed
 * by a snapshot of a new epoch at seq 1).
 */
export class FakeBookSource implements BookSource {
  readonly exchange = 'sim1';
  readonly symbol = 'BTC/USDT';
  readonly book = new OrderBook();
  epoch = 'e1';
  seq = 0;
  exchangeTs = 0;
  receiveTs = 0;
  live = false;
  private epochs = 1;
  private readonly listeners = new Set<(event: ReplicaEvent) => void>();

  subscribe(listener: (event: ReplicaEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The first snapshot read after start: live from now on. */
  snapshot(bids: readonly Level[], asks: readonly Level[], seq = 1): void {
    this.book.replace(bids, asks);
    this.seq = seq;
    this.tick();
    this.live = true;
    this.emit({ type: 'snapshot' });
  }

  delta(bids: readonly Level[], asks: readonly Level[]): void {
    this.book.apply(bids, asks);
    this.seq += 1;
    this.tick();
    this.emit({ type: 'delta', bids, asks });
  }

  /** A discontinuity repaired by a snapshot of a new epoch. */
  resync(reason: ResetReason, bids: readonly Level[], asks: readonly Level[]): void {
    this.emit({ type: 'reset', reason });
    this.epochs += 1;
    this.epoch = `e${this.epochs}`;
    this.book.replace(bids, asks);
    this.seq = 1;
    this.tick();
    this.emit({ type: 'snapshot' });
  }

  private tick(): void {
    this.exchangeTs += 1;
    this.receiveTs += 1;
  }

  private emit(event: ReplicaEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/** A price on a 0.5 grid, canonical ("0.5", "1", "1.5", ...). */
export function gridPrice(tick: number): string {
  const whole = Math.floor(tick / 2);
  return tick % 2 === 0 ? String(whole) : `${whole}.5`;
}
