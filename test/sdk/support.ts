import type { BookDropReason, LocalOrderBook, OrderBookWatch } from '../../sdk/src/index.ts';
import { type ReferenceLog, sameTop, type TopOfBook } from '../helpers/book-checker.ts';

/** The local book after one applied message, kept to compare with the writer's book afterwards. */
interface Checkpoint {
  epoch: string;
  seq: number;
  type: string;
  top: TopOfBook;
}

/**
 * Hooks a watch's `change` and `reset` events and records the book it reports at every seq, so
 * the test can hold it against the writer's reference book at the same (epoch, seq).
 */
export class WatchRecorder {
  readonly checkpoints: Checkpoint[] = [];
  readonly drops: BookDropReason[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly watch: OrderBookWatch,
    readonly exchange: string,
    readonly symbol: string,
    readonly depth: number,
  ) {
    watch.on('change', (book, update) => {
      this.checkpoints.push({ epoch: book.epoch, seq: book.seq, type: update.type, top: topOf(book) });
      this.wake();
    });
    watch.on('reset', (reason) => {
      this.drops.push(reason);
      this.dropAt = this.checkpoints.length;
      this.wake();
    });
  }

  count(type: string): number {
    return this.checkpoints.filter((c) => c.type === type).length;
  }

  /** Checkpoints after the last drop (all if none). */
  sinceLastDrop(): Checkpoint[] {
    return this.checkpoints.slice(this.dropAt);
  }

  private dropAt = 0;

  /** Resolves once `condition` holds, checked now and after every event. */
  until(condition: () => boolean, timeoutMs = 15_000, what = 'watch condition'): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }

  /** Resolves once the writer's log holds the (epoch, seq) of the last checkpoint. */
  untilCovered(reference: ReferenceLog): Promise<void> {
    return reference.until(() => {
      const last = this.checkpoints.at(-1);
      return (
        !last || reference.top(this.exchange, this.symbol, last.epoch, last.seq, this.depth) !== undefined
      );
    });
  }

  /** Every checkpoint against the writer's top-`depth` book at its (epoch, seq). */
  verifyAgainst(reference: ReferenceLog): string[] {
    const problems: string[] = [];
    for (const [i, c] of this.checkpoints.entries()) {
      const expected = reference.top(this.exchange, this.symbol, c.epoch, c.seq, this.depth);
      if (!expected) problems.push(`#${i} (${c.epoch}, ${c.seq}) was never written`);
      else if (!sameTop(c.top, expected)) {
        problems.push(
          `#${i} ${c.type} at (${c.epoch}, ${c.seq}): local ${JSON.stringify(c.top)} != writer ${JSON.stringify(expected)}`,
        );
      }
      if (problems.length >= 5) break;
    }
    return problems;
  }

  private wake(): void {
    for (const wake of [...this.waiters]) wake();
  }
}

export function topOf(book: LocalOrderBook): TopOfBook {
  return {
    bids: book.bids.map((l) => [l.price, l.size] as const),
    asks: book.asks.map((l) => [l.price, l.size] as const),
  };
}
