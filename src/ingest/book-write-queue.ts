import type { RawBookUpdate } from '../marketdata/types.ts';
import { mergeBookUpdates } from '../marketdata/update-merge.ts';

/** An update that waits for its book's writes in flight, and the feed it came from. */
export interface WaitingUpdate {
  update: RawBookUpdate;
  feed: string;
}

/**
 * At most `cap` book writes in flight per book. While a book is at its cap (Redis slow but
 * connected), its further updates merge into one waiting update (last size per price wins; a
 * snapshot replaces), written when one of its writes settles: memory stays bounded, and the book
 * in Redis still ends exact.
 */
export class BookWriteQueue {
  private readonly inFlight = new Map<string, number>();
  private readonly waiting = new Map<string, WaitingUpdate>();
  /** The most writes one book had in flight at once. */
  maxInFlight = 0;

  constructor(readonly cap: number) {}

  /** True when the book may write now; false when the update was merged into the waiting one. */
  admit(id: string, update: RawBookUpdate, feed: string): boolean {
    if ((this.inFlight.get(id) ?? 0) < this.cap) return true;
    const queued = this.waiting.get(id);
    this.waiting.set(id, { update: queued ? mergeBookUpdates(queued.update, update) : update, feed });
    return false;
  }

  /** A write of the book was issued. */
  started(id: string): void {
    const n = (this.inFlight.get(id) ?? 0) + 1;
    this.inFlight.set(id, n);
    if (n > this.maxInFlight) this.maxInFlight = n;
  }

  /** A write of the book settled (either way): the waiting update to write next, if any. */
  settled(id: string): WaitingUpdate | undefined {
    const left = (this.inFlight.get(id) ?? 1) - 1;
    if (left > 0) this.inFlight.set(id, left);
    else this.inFlight.delete(id);
    const next = this.waiting.get(id);
    this.waiting.delete(id);
    return next;
  }
}
