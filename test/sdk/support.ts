import type { BookDropReason, LocalOrderBook, OrderBookWatch } from '../../sdk/src/index.ts';
import { type ReferenceLog, sameTop, type TopOfBook, Wakeups } from '../helpers/book-checker.ts';
import { units } from '../helpers/exact.ts';
import { type MergedLevel, mergeBooks } from '../helpers/merged-book.ts';

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
  private readonly wakeups = new Wakeups();

  constructor(
    readonly watch: OrderBookWatch,
    readonly exchange: string,
    readonly symbol: string,
    readonly depth: number,
  ) {
    watch.on('change', (book, update) => {
      this.checkpoints.push({ epoch: book.epoch, seq: book.seq, type: update.type, top: topOf(book) });
      this.wakeups.notify();
    });
    watch.on('reset', (reason) => {
      this.drops.push(reason);
      this.dropAt = this.checkpoints.length;
      this.wakeups.notify();
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
  until(condition: () => boolean, timeoutMs = 60_000, what = 'watch condition'): Promise<void> {
    return this.wakeups.until(condition, timeoutMs, what);
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
}

export function topOf(book: LocalOrderBook): TopOfBook {
  return {
    bids: book.bids.map((l) => [l.price, l.size] as const),
    asks: book.asks.map((l) => [l.price, l.size] as const),
  };
}

/**
 * The merge of venues' books computed here (`mergeBooks`), of the writer's top `depth` of each
 * venue at the (epoch, seq) named.
 */
export function mergeReference(
  reference: ReferenceLog,
  symbol: string,
  venues: readonly { exchange: string; epoch: string; seq: number }[],
  depth: number,
): { bids: MergedLevel[]; asks: MergedLevel[] } {
  const books = venues.map((v) => {
    const top = reference.top(v.exchange, symbol, v.epoch, v.seq, depth);
    if (!top) throw new Error(`${v.exchange} (${v.epoch}, ${v.seq}) was never written`);
    return { exchange: v.exchange, ...top };
  });
  return mergeBooks(books, depth);
}

/** Whether some venue's best bid is above another venue's best ask. */
export function crossedReference(
  reference: ReferenceLog,
  symbol: string,
  venues: readonly { exchange: string; epoch: string; seq: number }[],
): boolean {
  const tops = venues.map((v) => ({
    exchange: v.exchange,
    ...reference.top(v.exchange, symbol, v.epoch, v.seq, 1)!,
  }));
  return tops.some((a) =>
    tops.some(
      (b) =>
        a.exchange !== b.exchange &&
        a.bids[0] !== undefined &&
        b.asks[0] !== undefined &&
        units(a.bids[0][0]) > units(b.asks[0][0]),
    ),
  );
}
