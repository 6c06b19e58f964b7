import { expect } from 'vitest';
import type { FakeVenue, StreamFault } from '../fakes/fake-market.ts';
import { ClientBook, checkClients } from './book-checker.ts';
import { type CcxtStack, checkAgainstVenue, untilVenueBook } from './ccxt-stack.ts';
import { type Clients, followBook, type SubscriptionHandle, VENUE_BOOK_UPDATES } from './graphql-clients.ts';

/**
 * The fidelity check of issue 11 for one venue and one misbehaviour: bookgraph's served book
 * equals the venue's own at every event it wrote (each event's `venueSeq` names the venue's book
 * it must equal), and a broken stream is announced (RESET, a new epoch, a resync with the check
 * that found it), then healed: the clients' books equal the venue's again.
 */
export class VenueFidelity {
  private readonly handles: SubscriptionHandle[] = [];

  constructor(
    private readonly stack: CcxtStack,
    private readonly venue: FakeVenue,
    private readonly clients: Clients,
  ) {}

  async follow(symbol: string): Promise<ClientBook> {
    const book = new ClientBook(this.venue.id, symbol, 100);
    this.handles.push(followBook(this.clients.ws(this.stack.wsUrl), book, VENUE_BOOK_UPDATES));
    await book.until(() => book.hasBook, 60_000, `${symbol} snapshot`);
    return book;
  }

  unfollow(): void {
    for (const h of this.handles.splice(0)) h.unsubscribe();
  }

  /** Drives `count` updates of every market and waits until every client book equals the venue's. */
  async settle(books: readonly ClientBook[], count = 5): Promise<void> {
    this.venue.step(count);
    for (const book of books) await untilVenueBook(this.stack.reference, this.venue, book);
  }

  epochs(symbol: string): number {
    return this.stack.reference.epochs(this.venue.id, symbol).length;
  }

  /**
   * Runs one misbehaviour on `symbol` (the other market runs clean beside it) and checks the
   * outcome: `announced` = the break was seen by our own check (`check`) and announced as a new
   * epoch to `symbol`'s clients only. Returns the clients' books (of `symbol`, then `other`).
   */
  async run(
    symbol: string,
    other: string,
    misbehave: () => void,
    expected: { announced: false } | { announced: true; check: 'sequence' | 'checksum' | undefined },
  ): Promise<ClientBook[]> {
    const books = [await this.follow(symbol), await this.follow(other)];
    await this.settle(books);
    const epochs = [this.epochs(symbol), this.epochs(other)];
    const checks = this.stack.tap.health.length;
    misbehave();
    if (expected.announced) {
      this.venue.step(3);
      await this.stack.reference.until(
        () => this.epochs(symbol) > epochs[0]!,
        60_000,
        `a new ${symbol} epoch`,
      );
    }
    await this.settle(books);
    const [book, otherBook] = books as [ClientBook, ClientBook];
    if (expected.announced) {
      expect(book.resets).toContain('NEW_EPOCH');
      expect(book.after((m) => m.type === 'RESET')[0]?.type).toBe('SNAPSHOT');
      if (expected.check) {
        const found = this.stack.tap.health
          .slice(checks)
          .filter((e) => e.kind === 'resync' && e.symbol === symbol);
        expect(found.map((e) => e.check)).toContain(expected.check);
      }
    } else {
      expect(book.resets).toEqual([]);
      expect(this.epochs(symbol)).toBe(epochs[0]);
    }
    // Only the broken market was rebuilt (a disconnect rebuilds both: not run through here).
    expect(otherBook.resets).toEqual([]);
    expect(this.epochs(other)).toBe(epochs[1]);
    expect(checkClients(this.stack.reference, books)).toEqual([]);
    expect(checkAgainstVenue(this.stack.reference, this.stack.written, this.venue)).toEqual([]);
    expect(this.venue.unknownRequests).toEqual([]);
    this.unfollow();
    return books;
  }

  /** `run` with one planned fault of a venue that has them (`fault` of the Bybit and Kraken fakes). */
  runFault(
    venue: { fault(symbol: string, fault: StreamFault): void },
    symbol: string,
    other: string,
    fault: StreamFault,
    expected: Parameters<VenueFidelity['run']>[3],
  ): Promise<ClientBook[]> {
    return this.run(
      symbol,
      other,
      () => {
        venue.fault(symbol, fault);
        this.venue.step(3, symbol);
      },
      expected,
    );
  }

  /** Cuts every connection: every followed book must be announced (new epoch) and rebuilt. */
  async disconnect(symbols: readonly string[]): Promise<void> {
    const books = await Promise.all(symbols.map((s) => this.follow(s)));
    await this.settle(books);
    const connected = this.stack.tap.count('connected');
    this.venue.dropConnections();
    await this.stack.tap.until(() => this.stack.tap.count('connected') > connected, 'reconnected');
    for (const symbol of symbols) await this.venue.untilSubscribed(symbol, 'book');
    await this.settle(books);
    for (const book of books) expect(book.resets).toContain('NEW_EPOCH');
    expect(checkAgainstVenue(this.stack.reference, this.stack.written, this.venue)).toEqual([]);
    this.unfollow();
  }
}
