import { OrderBook } from '../../src/marketdata/order-book.ts';
import { type BookEvent, bookId, type Level } from '../../src/marketdata/types.ts';

/**
 * The "nothing lost" contract, checked from the outside: a reference log of what the writer put
 * in Redis, and client books that apply the stream as a client would and record every violation.
 */

export interface TopOfBook {
  bids: Level[];
  asks: Level[];
}

interface Cursor {
  book: OrderBook;
  /** Seq of the last event applied; 0 before the snapshot. */
  seq: number;
}

/**
 * Every event the writer got Redis to accept, per book and epoch, in seq order. A write whose
 * reply was lost (a command timeout while Redis was unreachable) is not reported as written, yet
 * Redis may have applied it: the write script accepts a delta only on top of the seq before it,
 * so a later write of the same epoch that was accepted proves every one before it applied. Pass
 * `attempted` every event the writer sends, and those are filled in from the attempts. Several writers
 * (one per region, each with its own copy of a book) may record into one log: epochs are unique
 * per writer, and each epoch remembers the region that wrote it.
 */
export class ReferenceLog {
  private readonly books = new Map<string, Map<string, BookEvent[]>>();
  private readonly regions = new Map<string, string>();
  private readonly cursors = new Map<string, Cursor>();
  private readonly cache = new Map<string, TopOfBook>();
  private readonly wakeups = new Wakeups();
  /** Events sent but not (yet) reported written, by `epoch|seq`. */
  private readonly attempts = new Map<string, BookEvent>();
  /** Breaches of the writer's own contract (seq not +1, epoch not opened by a snapshot). */
  readonly violations: string[] = [];

  /** Pass as the ingester's `onWritten`. */
  readonly record = (event: BookEvent): void => {
    const id = bookId(event.exchange, event.symbol);
    let epochs = this.books.get(id);
    if (!epochs) {
      epochs = new Map();
      this.books.set(id, epochs);
    }
    let events = epochs.get(event.epoch);
    if (!events) {
      if (event.kind !== 'snapshot' || event.seq !== 1) {
        this.violations.push(`${id}: epoch ${event.epoch} opened by ${event.kind} seq ${event.seq}`);
      }
      events = [];
      epochs.set(event.epoch, events);
      this.regions.set(event.epoch, event.region);
    }
    this.attempts.delete(`${event.epoch}|${event.seq}`);
    // Writes before this one whose replies were lost: this one's acceptance proves them applied.
    for (let seq = events.length + 1; seq < event.seq; seq++) {
      const proven = this.attempts.get(`${event.epoch}|${seq}`);
      if (!proven) break;
      this.attempts.delete(`${event.epoch}|${seq}`);
      events.push(proven);
    }
    if (event.seq !== events.length + 1) {
      this.violations.push(`${id}@${event.epoch}: seq ${event.seq} after ${events.length}`);
    }
    events.push(event);
    this.wakeups.notify();
  };

  /** Pass every event the writer sends (before its outcome is known). */
  readonly attempted = (event: BookEvent): void => {
    this.attempts.set(`${event.epoch}|${event.seq}`, event);
  };

  /** Epochs of a book in the order they were opened. */
  epochs(exchange: string, symbol: string): string[] {
    return [...(this.books.get(bookId(exchange, symbol))?.keys() ?? [])];
  }

  /** The last event written for a book, across epochs (of `region`'s writer only, if given). */
  last(exchange: string, symbol: string, region?: string): BookEvent | undefined {
    const epochs = this.books.get(bookId(exchange, symbol));
    if (!epochs) return undefined;
    const events = [...epochs.entries()]
      .filter(([epoch]) => !region || this.regions.get(epoch) === region)
      .at(-1);
    return events?.[1].at(-1);
  }

  /** The region whose writer opened `epoch`; undefined if no writer did. */
  regionOf(epoch: string): string | undefined {
    return this.regions.get(epoch);
  }

  count(exchange: string, symbol: string): number {
    let n = 0;
    for (const events of this.books.get(bookId(exchange, symbol))?.values() ?? []) n += events.length;
    return n;
  }

  /** Resolves once `condition` holds, checked after every recorded event. */
  until(condition: () => boolean, timeoutMs = 60_000, what = 'reference condition'): Promise<void> {
    return this.wakeups.until(condition, timeoutMs, what);
  }

  /**
   * The writer's top-`depth` book right after (epoch, seq), or undefined if no such event was
   * written. Replays incrementally: in-order questions cost one event each.
   */
  top(exchange: string, symbol: string, epoch: string, seq: number, depth: number): TopOfBook | undefined {
    const id = bookId(exchange, symbol);
    const key = `${id}|${epoch}|${seq}|${depth}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    const events = this.books.get(id)?.get(epoch);
    if (!events || seq < 1 || seq > events.length) return undefined;
    const cursorKey = `${id}|${epoch}`;
    let cursor = this.cursors.get(cursorKey);
    if (!cursor || cursor.seq > seq) {
      cursor = { book: new OrderBook(), seq: 0 };
      this.cursors.set(cursorKey, cursor);
    }
    while (cursor.seq < seq) {
      const event = events[cursor.seq]!;
      if (event.kind === 'snapshot') cursor.book.replace(event.bids, event.asks);
      else cursor.book.apply(event.bids, event.asks);
      cursor.seq += 1;
    }
    const top = cursor.book.top(depth);
    this.cache.set(key, top);
    return top;
  }

  /** The highest seq in `epoch` at or below `seq` at which the top-`depth` window changed. */
  lastWindowChange(exchange: string, symbol: string, epoch: string, seq: number, depth: number): number {
    let at = seq;
    const here = this.top(exchange, symbol, epoch, seq, depth);
    if (!here) throw new Error(`(${epoch}, ${seq}) of ${exchange}:${symbol} was never written`);
    while (at > 1) {
      const before = this.top(exchange, symbol, epoch, at - 1, depth);
      if (!before || !sameTop(before, here)) break;
      at -= 1;
    }
    return at;
  }
}

export function sameTop(a: TopOfBook, b: TopOfBook): boolean {
  return sameLevels(a.bids, b.bids) && sameLevels(a.asks, b.asks);
}

function sameLevels(a: readonly Level[], b: readonly Level[]): boolean {
  return a.length === b.length && a.every((l, i) => l[0] === b[i]![0] && l[1] === b[i]![1]);
}

/** A level as the GraphQL API sends it. */
export interface WireLevel {
  price: string;
  size: string;
}

/** One `orderBookUpdates` message, with the fields the checker needs. */
export interface WireBookUpdate {
  type: 'SNAPSHOT' | 'DELTA' | 'RESET';
  epoch: string;
  seq: number;
  prevSeq: number | null;
  reason: string | null;
  bids: WireLevel[];
  asks: WireLevel[];
  /** The region whose copy the message says it is from, when the query asks for it. */
  region?: string;
  /** The venue's own sequence number, when the query asks for it (VENUE_BOOK_UPDATES). */
  venueSeq?: number | null;
}

export const BOOK_UPDATE_FIELDS = 'type epoch seq prevSeq reason bids { price size } asks { price size }';

/** The client's book after one message, kept to compare with the reference afterwards. */
interface Checkpoint {
  index: number;
  epoch: string;
  seq: number;
  region: string | undefined;
  venueSeq: number | null | undefined;
  top: TopOfBook;
}

const CANONICAL_DECIMAL = /^(0|[1-9]\d*)(\.\d*[1-9])?$/;

/**
 * Applies `orderBookUpdates` messages as the documented client algorithm does, and records each
 * breach of the stream contract: first message not a SNAPSHOT, DELTA without a book or whose
 * prevSeq is not the previous seq, seq going backwards, a new epoch without a RESET, a window
 * wider than `depth`, a malformed decimal. The book after each message is compared with the
 * reference by `verifyAgainst`, once the writer's log is complete.
 */
export class ClientBook {
  readonly messages: WireBookUpdate[] = [];
  readonly violations: string[] = [];
  readonly resets: string[] = [];
  private readonly checkpoints: Checkpoint[] = [];
  private bids: Map<string, string> | null = null;
  private asks: Map<string, string> | null = null;
  private last: WireBookUpdate | undefined;
  private epoch: string | undefined;
  private readonly wakeups = new Wakeups();

  constructor(
    readonly exchange: string,
    readonly symbol: string,
    readonly depth: number,
  ) {}

  get name(): string {
    return `${this.exchange}:${this.symbol}/${this.depth}`;
  }

  /** Whether the client holds a book (it has had a SNAPSHOT since the last RESET). */
  get hasBook(): boolean {
    return this.bids !== null;
  }

  get lastMessage(): WireBookUpdate | undefined {
    return this.last;
  }

  apply(message: WireBookUpdate): void {
    const index = this.messages.length;
    this.messages.push(message);
    const where = `${this.name} #${index} ${message.type} ${message.epoch}/${message.seq}`;
    const fail = (problem: string) => this.violations.push(`${where}: ${problem}`);
    const previous = this.last;
    this.last = message;

    if (index === 0 && message.type !== 'SNAPSHOT') fail('first message is not a SNAPSHOT');
    for (const level of [...message.bids, ...message.asks]) {
      if (!CANONICAL_DECIMAL.test(level.price) || !CANONICAL_DECIMAL.test(level.size)) {
        fail(`malformed level ${JSON.stringify(level)}`);
      }
    }

    if (message.type === 'RESET') {
      this.resets.push(message.reason ?? 'null');
      if (!message.reason) fail('RESET without a reason');
      this.bids = null;
      this.asks = null;
    } else if (message.type === 'SNAPSHOT') {
      if (previous && previous.type !== 'RESET') fail(`SNAPSHOT after ${previous.type} without a RESET`);
      if (message.prevSeq !== null) fail(`SNAPSHOT with prevSeq ${message.prevSeq}`);
      if (this.epoch === message.epoch && previous && message.seq < previous.seq) {
        fail(`SNAPSHOT goes back from seq ${previous.seq}`);
      }
      this.bids = new Map(message.bids.map((l) => [l.price, l.size]));
      this.asks = new Map(message.asks.map((l) => [l.price, l.size]));
      this.epoch = message.epoch;
    } else {
      if (!this.bids || !this.asks) {
        fail('DELTA without a book');
      } else if (message.epoch !== this.epoch) {
        fail(`DELTA of epoch ${message.epoch} on a book of epoch ${this.epoch}`);
      } else if (message.prevSeq !== previous?.seq) {
        fail(`prevSeq ${message.prevSeq} but the previous message had seq ${previous?.seq}`);
      } else if (message.seq <= message.prevSeq) {
        fail(`seq ${message.seq} not after prevSeq ${message.prevSeq}`);
      }
      if (this.bids && this.asks) {
        for (const l of message.bids) setLevel(this.bids, l);
        for (const l of message.asks) setLevel(this.asks, l);
      }
    }

    if (this.bids && this.asks) {
      const top = { bids: sorted(this.bids, true), asks: sorted(this.asks, false) };
      if (top.bids.length > this.depth || top.asks.length > this.depth) {
        fail(`window holds ${top.bids.length}/${top.asks.length} levels, depth ${this.depth}`);
      }
      this.checkpoints.push({
        index,
        epoch: message.epoch,
        seq: message.seq,
        region: message.region,
        venueSeq: message.venueSeq,
        top,
      });
    }
    this.wakeups.notify();
  }

  /** The client's book after each SNAPSHOT or DELTA, with the venue sequence that message carried. */
  venueSeqCheckpoints(): { index: number; venueSeq: number | null | undefined; top: TopOfBook }[] {
    return this.checkpoints.map(({ index, venueSeq, top }) => ({ index, venueSeq, top }));
  }

  /** The client's current top book, or undefined without a book. */
  current(): TopOfBook | undefined {
    if (!this.bids || !this.asks) return undefined;
    return { bids: sorted(this.bids, true), asks: sorted(this.asks, false) };
  }

  /** Resolves once `condition` holds, checked now and after every message. */
  until(condition: () => boolean, timeoutMs = 60_000, what = `${this.name} condition`): Promise<void> {
    return this.wakeups.until(condition, timeoutMs, what);
  }

  /** Resolves once the client's book equals the reference's latest top-`depth` book (of `region`'s writer). */
  untilCaughtUp(reference: ReferenceLog, timeoutMs = 60_000, region?: string): Promise<void> {
    return this.until(
      () => {
        const last = reference.last(this.exchange, this.symbol, region);
        const current = this.current();
        if (!last || !current || this.epoch !== last.epoch) return false;
        return sameTop(current, reference.top(this.exchange, this.symbol, last.epoch, last.seq, this.depth)!);
      },
      timeoutMs,
      `${this.name} to catch up with the writer`,
    );
  }

  /** Resolves once the writer's log holds the (epoch, seq) of the client's last message. */
  untilCovered(reference: ReferenceLog, timeoutMs = 60_000): Promise<void> {
    return reference.until(
      () => {
        const last = this.last;
        return (
          !last || reference.top(this.exchange, this.symbol, last.epoch, last.seq, this.depth) !== undefined
        );
      },
      timeoutMs,
      `the writer's log to reach ${this.name}'s last message`,
    );
  }

  /** Messages after the last one matching `predicate` (all messages if none matches). */
  after(predicate: (m: WireBookUpdate) => boolean): WireBookUpdate[] {
    for (let i = this.messages.length - 1; i >= 0; i--) {
      if (predicate(this.messages[i]!)) return this.messages.slice(i + 1);
    }
    return [...this.messages];
  }

  /** Every message's resulting book against the reference book at its (epoch, seq). */
  verifyAgainst(reference: ReferenceLog): string[] {
    const problems: string[] = [];
    for (const c of this.checkpoints) {
      const expected = reference.top(this.exchange, this.symbol, c.epoch, c.seq, this.depth);
      const writer = reference.regionOf(c.epoch);
      if (c.region !== undefined && writer !== undefined && c.region !== writer) {
        problems.push(
          `${this.name} #${c.index}: says region ${c.region}, but ${writer} wrote epoch ${c.epoch}`,
        );
      }
      if (!expected) {
        problems.push(`${this.name} #${c.index}: (${c.epoch}, ${c.seq}) was never written`);
      } else if (!sameTop(c.top, expected)) {
        problems.push(
          `${this.name} #${c.index} at (${c.epoch}, ${c.seq}): client ${JSON.stringify(c.top)} != reference ${JSON.stringify(expected)}`,
        );
      }
      if (problems.length >= 5) break;
    }
    return problems;
  }
}

/** All breaches of several clients: stream contract plus book equality with the reference. */
export function checkClients(reference: ReferenceLog, clients: readonly ClientBook[]): string[] {
  const problems = [...reference.violations];
  // Each client asks in seq order, so the reference replays each book about once per client.
  for (const client of clients) problems.push(...client.violations, ...client.verifyAgainst(reference));
  return problems;
}

function setLevel(side: Map<string, string>, level: WireLevel): void {
  if (/^0+(\.0*)?$/.test(level.size)) side.delete(level.price);
  else side.set(level.price, level.size);
}

function sorted(side: Map<string, string>, descending: boolean): Level[] {
  const levels = [...side.entries()] as [string, string][];
  levels.sort((a, b) => (descending ? Number(b[0]) - Number(a[0]) : Number(a[0]) - Number(b[0])));
  return levels;
}

/** Waits on a wake-up source instead of a timer; the timeout only bounds a broken run. */
export function waitForCondition(
  condition: () => boolean,
  listen: (wake: () => void) => () => void,
  timeoutMs: number,
  what: string,
): Promise<void> {
  if (condition()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unlisten();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const unlisten = listen(() => {
      if (!condition()) return;
      clearTimeout(timer);
      unlisten();
      resolve();
    });
  });
}

/** Wake-ups for tests waiting on something that changes: `notify` after every change. */
export class Wakeups {
  private readonly waiters = new Set<() => void>();

  notify(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolves once `condition` holds, checked now and after every `notify`. */
  until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return waitForCondition(
      condition,
      (wake) => {
        this.waiters.add(wake);
        return () => this.waiters.delete(wake);
      },
      timeoutMs,
      what,
    );
  }
}
