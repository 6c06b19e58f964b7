import { type BookEvent, bookId, type RawBookUpdate } from './types.ts';

export class SequenceError extends Error {
  override readonly name = 'SequenceError';
}

let epochCounter = 0;

/** Unique per process start and per resynchronisation, ordered by time of creation. */
export function newEpoch(now = Date.now()): string {
  epochCounter += 1;
  return `${now.toString(36)}-${process.pid.toString(36)}-${epochCounter.toString(36)}`;
}

/**
 * Stamps each book update with (epoch, seq). Every snapshot opens a new epoch at seq 1; each delta
 * is the previous seq + 1. A delta before the book's first snapshot cannot be placed and is refused.
 */
export class Sequencer {
  private readonly books = new Map<string, { epoch: string; seq: number }>();

  constructor(private readonly region: string) {}

  next(update: RawBookUpdate): BookEvent {
    const id = bookId(update.exchange, update.symbol);
    if (update.kind === 'snapshot') {
      const state = { epoch: newEpoch(), seq: 1 };
      this.books.set(id, state);
      return { ...update, region: this.region, ...state };
    }
    const state = this.books.get(id);
    if (!state) throw new SequenceError(`${id}: delta before the first snapshot`);
    state.seq += 1;
    return { ...update, region: this.region, epoch: state.epoch, seq: state.seq };
  }

  /** Forget a book, so its next event must be a snapshot (after a failed write, say). */
  invalidate(exchange: string, symbol: string): void {
    this.books.delete(bookId(exchange, symbol));
  }

  epochOf(exchange: string, symbol: string): string | undefined {
    return this.books.get(bookId(exchange, symbol))?.epoch;
  }

  has(exchange: string, symbol: string): boolean {
    return this.books.has(bookId(exchange, symbol));
  }
}
