import type { OrderBook as CcxtOrderBook, Exchange } from 'ccxt';
import type { Logger } from 'pino';

/** The book a feed last emitted for a symbol, as the audit compares it. */
export interface AuditedBook {
  /** The venue's sequence of the emitted book (Binance `lastUpdateId`/`u`), when it has one. */
  nonce: number | undefined;
  bids: ReadonlyMap<number, number>;
  asks: ReadonlyMap<number, number>;
  /** Grows with every change emitted; a different value means the book moved. */
  version: number;
}

export type AuditOutcome = 'match' | 'divergence' | 'skipped';

export interface BookAuditOptions {
  exchange: Exchange;
  symbols: readonly string[];
  /** Time between two audits (one book each, round-robin); ccxt's `rateLimit` is the floor. */
  intervalMs: number;
  /** Levels per side compared (and asked of the REST endpoint). @default 5 */
  levels?: number;
  /** How long to wait for the stream to reach the REST snapshot's sequence. @default 3000 */
  catchUpMs?: number;
  /** The feed's emitted book of a symbol, undefined while it has none (resynchronising). */
  book(symbol: string): AuditedBook | undefined;
  /** Every audit's outcome; on a divergence the feed resynchronises the book. */
  onOutcome(symbol: string, outcome: AuditOutcome, detail: string): void;
  log?: Logger;
}

/**
 * The periodic audit of a ccxt feed's books against the venue's REST order book (ccxt's
 * `fetchOrderBook`, unmodified): what a venue with no sequence numbers or checksums, or a stream
 * that silently dropped a change, would hide. A comparison counts only where both books are the
 * same state of the venue: at the same sequence (the stream waited for up to `catchUpMs` to reach
 * the snapshot's; past it, skipped), or for a venue without one, with our book unchanged from
 * before the request to after the answer, and then a mismatch must show twice in a row (a change
 * the stream has not delivered yet looks like one once).
 */
export class BookAudit {
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private next = 0;
  /** Symbols whose last unsequenced comparison mismatched, with the book version it was at. */
  private readonly suspect = new Map<string, number>();

  constructor(private readonly options: BookAuditOptions) {}

  get intervalMs(): number {
    return Math.max(this.options.intervalMs, Number(this.options.exchange.rateLimit) || 0);
  }

  start(): void {
    if (this.running || this.options.symbols.length === 0) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      await this.pause(this.intervalMs);
      if (!this.running) return;
      const symbol = this.options.symbols[this.next % this.options.symbols.length]!;
      this.next += 1;
      try {
        const [outcome, detail] = await this.auditOne(symbol);
        if (this.running) this.options.onOutcome(symbol, outcome, detail);
      } catch (error) {
        if (!this.running) return;
        // A failed REST call is no finding: the next round tries again.
        const message = error instanceof Error ? error.message : String(error);
        this.options.log?.warn({ symbol, err: message }, `book audit of ${symbol} failed: ${message}`);
        this.options.onOutcome(symbol, 'skipped', `REST order book failed: ${message}`);
      }
    }
  }

  /** One comparison of one book: its outcome and why. */
  async auditOne(symbol: string): Promise<[AuditOutcome, string]> {
    const before = this.options.book(symbol);
    if (!before) return ['skipped', 'no book yet'];
    const levels = this.options.levels ?? 5;
    const venue = await this.options.exchange.fetchOrderBook(symbol, levels);
    const restNonce = typeof venue.nonce === 'number' ? venue.nonce : undefined;
    if (restNonce !== undefined && before.nonce !== undefined) {
      const ours = await this.catchUp(symbol, restNonce);
      if (!ours) return ['skipped', 'no book'];
      if (ours.nonce !== restNonce) {
        return ['skipped', `stream at sequence ${ours.nonce}, snapshot at ${restNonce}`];
      }
      const problem = difference(ours, venue, levels);
      return problem
        ? ['divergence', `at sequence ${restNonce}: ${problem}`]
        : ['match', `sequence ${restNonce}`];
    }
    const after = this.options.book(symbol);
    if (!after || after.version !== before.version) return ['skipped', 'the book moved during the request'];
    const problem = difference(after, venue, levels);
    if (!problem) {
      this.suspect.delete(symbol);
      return ['match', 'book unchanged during the request'];
    }
    if (this.suspect.get(symbol) === after.version) {
      this.suspect.delete(symbol);
      return ['divergence', `twice with the book unchanged: ${problem}`];
    }
    this.suspect.set(symbol, after.version);
    return ['skipped', `mismatch to confirm: ${problem}`];
  }

  /** Our book once its sequence reaches `nonce` (or after `catchUpMs`). */
  private async catchUp(symbol: string, nonce: number): Promise<AuditedBook | undefined> {
    const deadline = Date.now() + (this.options.catchUpMs ?? 3_000);
    for (;;) {
      const book = this.options.book(symbol);
      if (!book || book.nonce === undefined || book.nonce >= nonce || Date.now() >= deadline) return book;
      if (!this.running) return book;
      await this.pause(25);
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }
}

/** The first difference between the best `levels` of our book and the venue's, or undefined. */
export function difference(ours: AuditedBook, venue: CcxtOrderBook, levels: number): string | undefined {
  for (const side of ['bids', 'asks'] as const) {
    const mine = [...ours[side]].sort(side === 'bids' ? (a, b) => b[0] - a[0] : (a, b) => a[0] - b[0]);
    const theirs = venue[side].slice(0, levels);
    const count = Math.min(levels, Math.max(mine.length, theirs.length));
    for (let i = 0; i < count; i++) {
      const [price, size] = mine[i] ?? [];
      const [vPrice, vSize] = theirs[i] ?? [];
      if (price !== vPrice || size !== vSize) {
        return `${side}[${i}] ours ${price ?? 'none'} x ${size ?? 'none'}, venue ${vPrice ?? 'none'} x ${vSize ?? 'none'}`;
      }
    }
  }
  return undefined;
}
