/**
 * The book workload the live-book benchmarks share (bench/e2e.ts, bench/fanout.ts,
 * bench/capacity.ts): pre-generated simulator updates for a fixed set of books, the real Ingester
 * writing them to a private Redis at a constant open-loop rate, and graphql-ws subscribers that
 * check every message (prevSeq chain, every window-changing seq, the final window).
 */
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { Ingester } from '../src/ingest/ingester.ts';
import { createLogger } from '../src/log.ts';
import type { FeedSink } from '../src/marketdata/feed.ts';
import { diffLevels } from '../src/marketdata/level-diff.ts';
import { OrderBook } from '../src/marketdata/order-book.ts';
import { MarketSimulator, SIM_SYMBOLS, SIM_VENUES } from '../src/marketdata/simulator.ts';
import type { Level, Market, RawBookUpdate } from '../src/marketdata/types.ts';
import { BookStore } from '../src/redis/book-store.ts';
import { createRedis } from '../src/redis/connection.ts';
import type { LocalRedisServer } from '../src/redis/local-server.ts';
import { ReplayFeed, sleep, startPrivateRedis } from './lib.ts';

export const SEED = 42;
export const REGION = 'bench';
/** The simulator's books the latency benchmarks use. */
export const BOOKS = 10;

export interface Plan {
  markets: Market[];
  snapshots: RawBookUpdate[];
  /** Emission order: round-robin over the books, book = i % books, seq = floor(i / books) + 2. */
  deltas: RawBookUpdate[];
  /** Whether delta i changed its book's top-`depth` window (so a subscriber must receive it). */
  touches: Uint8Array;
  /** Each book's top-`depth` window after the last delta. */
  finalTop: { bids: Level[]; asks: Level[] }[];
  depth: number;
}

function simulator(): MarketSimulator {
  return new MarketSimulator({
    seed: SEED,
    venues: SIM_VENUES.map((v) => v.id),
    symbols: SIM_SYMBOLS,
    clock: () => 1_700_000_000_000,
  });
}

/** `total` deltas over the 10 books (3 venues × 4 symbols, less the two thin sim3 books). */
export function plan(total: number, depth: number): Plan {
  const sim = simulator();
  const keep = sim
    .markets()
    .map((m, i) => ({ m, i }))
    .filter(({ m }) => !(m.exchange === 'sim3' && (m.symbol === 'SOL/USDT' || m.symbol === 'KITE/USDT')));
  if (keep.length !== BOOKS) throw new Error(`expected ${BOOKS} books, got ${keep.length}`);
  const first = sim.round().books;
  const snapshots = keep.map(({ i }) => first[i]!);
  const models = snapshots.map((s) => OrderBook.from(s.bids, s.asks));
  const deltas: RawBookUpdate[] = [];
  const touches = new Uint8Array(total);
  while (deltas.length < total) {
    const books = sim.round().books;
    for (const [b, { i }] of keep.entries()) {
      if (deltas.length >= total) break;
      const update = books[i]!;
      const model = models[b]!;
      const before = model.top(depth);
      model.apply(update.bids, update.asks);
      const after = model.top(depth);
      touches[deltas.length] =
        diffLevels(before.bids, after.bids).length > 0 || diffLevels(before.asks, after.asks).length > 0
          ? 1
          : 0;
      deltas.push(update);
    }
  }
  return {
    markets: keep.map(({ m }) => m),
    snapshots,
    deltas,
    touches,
    finalTop: models.map((m) => m.top(depth)),
    depth,
  };
}

/**
 * `count` idle books for the memory figure: the simulator's 12 books, then copies of them under
 * venues `bench1`, `bench2`, … (same levels, another exchange name) until there are `count`.
 */
export function idleBooks(count: number): { markets: Market[]; snapshots: RawBookUpdate[] } {
  const sim = simulator();
  const base = sim.markets();
  const first = sim.round().books;
  const markets: Market[] = [];
  const snapshots: RawBookUpdate[] = [];
  for (let k = 0; k < count; k++) {
    const copy = Math.floor(k / base.length);
    const exchange = copy === 0 ? base[k]!.exchange : `bench${copy}`;
    markets.push({ ...base[k % base.length]!, exchange });
    snapshots.push({ ...first[k % base.length]!, exchange });
  }
  return { markets, snapshots };
}

export interface Source {
  redis: LocalRedisServer;
  url: string;
  ingester: Ingester;
  feed: ReplayFeed;
  /** Events the sequencer numbered otherwise than the plan assumes, and updates merged (must stay 0). */
  readonly seqErrors: number;
  close(): Promise<void>;
}

/** A private Redis and the real Ingester, with every book's snapshot written. */
export async function startSource(
  markets: readonly Market[],
  snapshots: readonly RawBookUpdate[],
): Promise<Source> {
  const { server: redis, url } = await startPrivateRedis();
  const writer = createRedis(url, 'writer');
  const feed = new ReplayFeed([...markets]);
  const bookIndex = new Map(markets.map((m, b) => [`${m.exchange} ${m.symbol}`, b]));
  const nextSeq = new Array<number>(markets.length).fill(1);
  let seqErrors = 0;
  const source: Source = {
    redis,
    url,
    feed,
    get seqErrors() {
      return seqErrors + source.ingester.stats.merged;
    },
    ingester: new Ingester({
      store: new BookStore(writer, REGION),
      feeds: [feed],
      log: createLogger('silent'),
      // Every planned update becomes one event: on a loaded machine Redis can fall 64 writes
      // behind a book, and the default cap would merge updates into fewer seqs than planned.
      maxInFlightPerBook: 1_000_000,
      // The sequencer must number the deltas exactly as the plan assumes.
      onWritten: (event) => {
        const b = bookIndex.get(`${event.exchange} ${event.symbol}`);
        if (b === undefined || event.seq !== nextSeq[b]) seqErrors += 1;
        nextSeq[b ?? 0] = event.seq + 1;
      },
    }),
    async close() {
      await source.ingester.stop();
      writer.disconnect();
      await redis.stop();
    },
  };
  await source.ingester.start();
  for (const s of snapshots) feed.sink?.book(s);
  await source.ingester.drain();
  return source;
}

export interface Emission {
  /** performance.now() at which delta i was handed to the Ingester; filled in as it goes. */
  emittedAt: Float64Array;
  /** Resolves after the last delta, with the scheduler lag (ms) of each measured delta. */
  done: Promise<number[]>;
}

/** Open loop: delta i is due at t0 + i/rate; whatever is due is emitted, however late. */
export function emit(
  p: Plan,
  sink: FeedSink,
  rate: number,
  warmCount: number,
  onMeasureStart: () => void,
): Emission {
  const total = p.deltas.length;
  const emittedAt = new Float64Array(total);
  const lag: number[] = [];
  const interval = 1000 / rate;
  const t0 = performance.now() + 5;
  let i = 0;
  const done = new Promise<number[]>((resolve) => {
    const tick = () => {
      while (i < total && t0 + i * interval <= performance.now()) {
        if (i === warmCount) onMeasureStart();
        const now = performance.now();
        emittedAt[i] = now;
        if (i >= warmCount) lag.push(now - (t0 + i * interval));
        sink.book(p.deltas[i]!);
        i += 1;
      }
      if (i < total) setTimeout(tick, Math.max(0, t0 + i * interval - performance.now()));
      else resolve(lag);
    };
    setTimeout(tick, 5);
  });
  return { emittedAt, done };
}

export const BOOK_SUBSCRIPTION = /* GraphQL */ `
  subscription Book($exchange: String!, $symbol: String!, $depth: Int!) {
    orderBookUpdates(exchange: $exchange, symbol: $symbol, depth: $depth) {
      type
      seq
      prevSeq
      bids { price size }
      asks { price size }
      receiveTimestamp
    }
  }
`;

interface WireLevel {
  price: string;
  size: string;
}
export interface BookUpdateMessage {
  type: 'SNAPSHOT' | 'DELTA' | 'RESET';
  seq: number;
  prevSeq: number | null;
  bids: WireLevel[];
  asks: WireLevel[];
  receiveTimestamp: number;
}
interface UpdateData {
  orderBookUpdates: BookUpdateMessage;
}

/** One subscriber's view of its stream: continuity, the seqs it got and the window it holds. */
export class Subscriber {
  snapshotSeq = -1;
  lastSeq = -1;
  gaps = 0;
  resets = 0;
  errors = 0;
  readonly received: Uint8Array;
  readonly bids = new Map<string, string>();
  readonly asks = new Map<string, string>();
  constructor(
    readonly book: number,
    rounds: number,
  ) {
    this.received = new Uint8Array(rounds + 2);
  }

  /** Applies one message; true for a DELTA (whose latency the caller may record). */
  receive(u: BookUpdateMessage): boolean {
    if (u.type === 'RESET') {
      this.resets += 1;
      return false;
    }
    if (u.type === 'SNAPSHOT') {
      if (this.snapshotSeq >= 0) this.resets += 1; // a second snapshot is a discontinuity
      this.snapshotSeq = u.seq;
      this.lastSeq = u.seq;
      this.bids.clear();
      this.asks.clear();
      for (const l of u.bids) this.bids.set(l.price, l.size);
      for (const l of u.asks) this.asks.set(l.price, l.size);
      return false;
    }
    if (u.prevSeq !== this.lastSeq) this.gaps += 1;
    this.lastSeq = u.seq;
    if (u.seq < this.received.length) this.received[u.seq] = 1;
    for (const l of u.bids) {
      if (l.size === '0') this.bids.delete(l.price);
      else this.bids.set(l.price, l.size);
    }
    for (const l of u.asks) {
      if (l.size === '0') this.asks.delete(l.price);
      else this.asks.set(l.price, l.size);
    }
    return true;
  }

  window(): { bids: Level[]; asks: Level[] } {
    const sorted = (m: Map<string, string>, desc: boolean): Level[] =>
      [...m].sort((a, b) => (desc ? Number(b[0]) - Number(a[0]) : Number(a[0]) - Number(b[0])));
    return { bids: sorted(this.bids, true), asks: sorted(this.asks, false) };
  }
}

export interface SubscriberSet {
  subs: Subscriber[];
  clients: Client[];
  /** Subscribers that got no SNAPSHOT within the wait. */
  notReady: number;
  dispose(): Promise<void>;
}

export interface SubscribeOptions {
  url: string;
  markets: readonly Market[];
  depth: number;
  subscribers: number;
  subsPerConn: number;
  /** Length of each subscriber's seq record (deltas per book + 2). */
  rounds: number;
  /** Called on every DELTA with its receipt time, after the subscriber applied it. */
  onDelta?: (sub: Subscriber, u: BookUpdateMessage, t: number) => void;
  /** Called with every message's data as received, for payload comparisons. */
  onMessage?: (sub: Subscriber, index: number, data: UpdateData) => void;
  /** Called with what a subscription failed with (a GraphQL error, a close event, an Error). */
  onError?: (sub: Subscriber, error: unknown) => void;
  /** How long to wait for every SNAPSHOT (or failure). @default 60 s */
  readyTimeoutMs?: number;
}

/**
 * `subscribers` graphql-ws subscriptions spread over the books, `subsPerConn` per WebSocket:
 * subscriber s watches book floor(s / (subscribers / books)) with one per socket, s % books when
 * several share a socket (so each socket carries different books). Resolves once every subscriber
 * has its SNAPSHOT (or the wait ran out: `notReady`).
 */
export async function openSubscribers(o: SubscribeOptions): Promise<SubscriberSet> {
  const books = o.markets.length;
  const perBook = Math.max(1, Math.ceil(o.subscribers / books));
  const subs: Subscriber[] = [];
  const clients: Client[] = [];
  let client: Client | undefined;
  let pending = 0;
  let wake: (() => void) | undefined;
  for (let s = 0; s < o.subscribers; s++) {
    if (s % o.subsPerConn === 0) {
      client = createClient({ url: o.url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
      clients.push(client);
    }
    const book = o.subsPerConn > 1 ? s % books : Math.floor(s / perBook) % books;
    const sub = new Subscriber(book, o.rounds);
    subs.push(sub);
    const m = o.markets[book]!;
    pending += 1;
    let first = true;
    // The first message, an error or the end settles a subscriber's wait for its SNAPSHOT.
    const settle = () => {
      if (!first) return;
      first = false;
      pending -= 1;
      if (pending === 0) wake?.();
    };
    client!.subscribe<UpdateData>(
      { query: BOOK_SUBSCRIPTION, variables: { exchange: m.exchange, symbol: m.symbol, depth: o.depth } },
      {
        next: (result) => {
          const t = performance.now();
          const u = result.data?.orderBookUpdates;
          if (!u) {
            sub.errors += 1;
            o.onError?.(sub, result.errors);
            settle();
            return;
          }
          o.onMessage?.(sub, s, result.data!);
          if (sub.receive(u)) o.onDelta?.(sub, u, t);
          settle();
        },
        error: (error) => {
          sub.errors += 1;
          o.onError?.(sub, error);
          settle();
        },
        complete: settle,
      },
    );
  }
  if (pending > 0) {
    await Promise.race([
      new Promise<void>((resolve) => {
        wake = resolve;
      }),
      sleep(o.readyTimeoutMs ?? 60_000),
    ]);
  }
  return {
    subs,
    clients,
    notReady: subs.filter((s) => s.snapshotSeq < 0).length,
    dispose: async () => {
      await Promise.all(clients.map((c) => c.dispose()));
    },
  };
}

/** Waits (up to `maxMs`) until every subscriber saw the last seq that changed its book's window. */
export async function awaitLastTouches(p: Plan, subs: readonly Subscriber[], maxMs: number): Promise<void> {
  const books = p.markets.length;
  const lastTouch = new Array<number>(books).fill(0);
  p.touches.forEach((t, i) => {
    if (t) lastTouch[i % books] = Math.floor(i / books) + 2;
  });
  const until = performance.now() + maxMs;
  while (performance.now() < until && subs.some((s) => s.lastSeq < lastTouch[s.book]!)) await sleep(20);
}

export interface LossCheck {
  /** Window-changing seqs after each subscriber's snapshot, from delta `fromIndex` on. */
  expected: number;
  delivered: number;
  missing: number;
  gaps: number;
  /** RESETs, second SNAPSHOTs and errors. */
  resets: number;
  /** Subscribers whose final window differs from the source's. */
  contentMismatches: number;
}

export function checkLoss(p: Plan, subs: readonly Subscriber[], fromIndex: number): LossCheck {
  const books = p.markets.length;
  let expected = 0;
  let delivered = 0;
  let contentMismatches = 0;
  for (const sub of subs) {
    for (let i = Math.max(fromIndex, 0); i < p.deltas.length; i++) {
      if (i % books !== sub.book || !p.touches[i]) continue;
      const seq = Math.floor(i / books) + 2;
      if (seq <= sub.snapshotSeq) continue;
      expected += 1;
      if (sub.received[seq]) delivered += 1;
    }
    if (JSON.stringify(sub.window()) !== JSON.stringify(p.finalTop[sub.book]!)) contentMismatches += 1;
  }
  return {
    expected,
    delivered,
    missing: expected - delivered,
    gaps: subs.reduce((a, s) => a + s.gaps, 0),
    resets: subs.reduce((a, s) => a + s.resets + s.errors, 0),
    contentMismatches,
  };
}
