import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import type { Feed, FeedHealthEvent, FeedSink } from './feed.ts';
import { normaliseBookUpdate, normaliseTrade } from './normaliser.ts';
import { OrderBook } from './order-book.ts';
import { Sequencer } from './sequencer.ts';
import { type BookEvent, bookId, type Market, type RawBookUpdate, type Trade } from './types.ts';

/**
 * The NDJSON recording format (one JSON object per line, optionally gzipped). `t` is ms since the
 * recording started. Book events are recorded after the normaliser and the sequencer, so a replay
 * through the Ingester can be checked seq by seq against what was recorded.
 */
export type RecordLine =
  | { type: 'header'; v: 1; startedAt: number }
  | { type: 'markets'; feed: string; markets: Market[] }
  | { type: 'book'; t: number; feed: string; event: BookEvent }
  | { type: 'trade'; t: number; feed: string; trade: Trade }
  | { type: 'health'; t: number; feed: string; event: FeedHealthEvent };

export interface RecordingStats {
  books: number;
  trades: number;
  health: number;
  rejected: number;
}

/** Opens `path` for NDJSON lines, gzipped when asked; `close` resolves once the file is flushed. */
export function openRecordingFile(path: string, gzip: boolean): { out: Writable; close(): Promise<void> } {
  const file = createWriteStream(path);
  const out: Writable = gzip ? createGzip() : file;
  if (gzip) out.pipe(file);
  return {
    out,
    close: () =>
      new Promise((resolve, reject) => {
        file.once('finish', () => resolve());
        file.once('error', reject);
        out.end();
      }),
  };
}

/**
 * A FeedSink that writes what the feeds produce, normalised and sequenced exactly as the
 * Ingester would (same normaliser, same Sequencer), without Redis.
 */
export class Recorder {
  readonly stats: RecordingStats = { books: 0, trades: 0, health: 0, rejected: 0 };
  private readonly sequencer: Sequencer;
  private readonly startedAt: number;

  constructor(
    private readonly out: Writable,
    region: string,
    private readonly now: () => number = Date.now,
  ) {
    this.sequencer = new Sequencer(region);
    this.startedAt = now();
    this.write({ type: 'header', v: 1, startedAt: this.startedAt });
  }

  markets(feed: Feed): void {
    this.write({ type: 'markets', feed: feed.name, markets: feed.markets() });
  }

  sinkFor(feed: Feed): FeedSink {
    return {
      book: (update) => this.book(update, feed),
      trade: (trade) => this.trade(trade, feed.name),
      health: (event) => {
        this.stats.health += 1;
        this.write({ type: 'health', t: this.now() - this.startedAt, feed: feed.name, event });
      },
    };
  }

  private book(update: RawBookUpdate, feed: Feed): void {
    let event: BookEvent;
    try {
      const normalised = normaliseBookUpdate(update);
      if (normalised.kind === 'delta' && !this.sequencer.has(normalised.exchange, normalised.symbol)) {
        const snapshot = feed.snapshot?.(normalised.exchange, normalised.symbol);
        if (snapshot) this.book(snapshot, feed);
        return;
      }
      event = this.sequencer.next(normalised);
    } catch {
      this.stats.rejected += 1;
      return;
    }
    this.stats.books += 1;
    this.write({ type: 'book', t: this.now() - this.startedAt, feed: feed.name, event });
  }

  private trade(trade: Trade, feed: string): void {
    let normalised: Trade;
    try {
      normalised = normaliseTrade(trade);
    } catch {
      this.stats.rejected += 1;
      return;
    }
    this.stats.trades += 1;
    this.write({ type: 'trade', t: this.now() - this.startedAt, feed, trade: normalised });
  }

  private write(line: RecordLine): void {
    this.out.write(`${JSON.stringify(line)}\n`);
  }
}

/** Every line of a recording (gzip detected by its magic bytes), in file order. */
export async function readRecording(path: string): Promise<RecordLine[]> {
  const head = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = createReadStream(path, { start: 0, end: 1 });
    s.on('data', (c) => chunks.push(Buffer.from(c)));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
  const file = createReadStream(path);
  const input = head[0] === 0x1f && head[1] === 0x8b ? file.pipe(createGunzip()) : file;
  const lines: RecordLine[] = [];
  let n = 0;
  for await (const text of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    n += 1;
    if (!text.trim()) continue;
    try {
      lines.push(JSON.parse(text) as RecordLine);
    } catch {
      throw new Error(`${path}:${n}: not a JSON line`);
    }
  }
  if (lines[0]?.type !== 'header') throw new Error(`${path}: not a bookgraph recording (no header line)`);
  return lines;
}

export interface ReplayOptions {
  /** Playback speed factor: 1 = as recorded, 10 = ten times faster, 0 = as fast as possible. @default 1 */
  speed?: number;
  /** Called as events are played: done out of total. */
  onProgress?: (done: number, total: number) => void;
}

type Playable = Extract<RecordLine, { type: 'book' | 'trade' | 'health' }>;

/**
 * Plays a recording into a FeedSink (the Ingester) as a feed: book updates as the feed produced
 * them (the Ingester sequences them again, so the same seq means the same book), trades and
 * health events, paced by the recorded times over `speed`. Venue times are kept; receive times
 * are the replay's own, so replayed books are fresh.
 */
export class ReplayFeed implements Feed {
  readonly name = 'replay';
  private readonly events: Playable[];
  private readonly marketList: Market[];
  private readonly books = new Map<string, OrderBook>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private index = 0;
  private resolveDone: () => void = () => {};
  /** Resolves once every event was handed to the sink (or the feed was stopped). */
  readonly done: Promise<void>;

  constructor(
    lines: readonly RecordLine[],
    private readonly options: ReplayOptions = {},
  ) {
    this.events = lines.filter(
      (l): l is Playable => l.type === 'book' || l.type === 'trade' || l.type === 'health',
    );
    const markets = new Map<string, Market>();
    for (const line of lines) {
      if (line.type === 'markets') for (const m of line.markets) markets.set(bookId(m.exchange, m.symbol), m);
    }
    this.marketList = [...markets.values()];
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  static async fromFile(path: string, options: ReplayOptions = {}): Promise<ReplayFeed> {
    return new ReplayFeed(await readRecording(path), options);
  }

  get total(): number {
    return this.events.length;
  }

  markets(): Market[] {
    return this.marketList;
  }

  async start(sink: FeedSink): Promise<void> {
    if (this.running) return;
    this.running = true;
    const speed = this.options.speed ?? 1;
    const startedAt = performance.now();
    const tick = () => {
      if (!this.running) return;
      const elapsed = (performance.now() - startedAt) * speed;
      let played = 0;
      while (this.index < this.events.length && this.running) {
        const next = this.events[this.index]!;
        if (speed > 0 && next.t > elapsed) break;
        // As fast as possible still yields now and then, so timers and I/O run.
        if (speed === 0 && played >= 500) break;
        this.play(next, sink);
        this.index += 1;
        played += 1;
      }
      if (played > 0) this.options.onProgress?.(this.index, this.events.length);
      if (this.index >= this.events.length) {
        this.running = false;
        this.resolveDone();
        return;
      }
      const wait =
        speed > 0 ? Math.max(0, this.events[this.index]!.t / speed - (performance.now() - startedAt)) : 0;
      this.timer = setTimeout(tick, wait);
    };
    tick();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.resolveDone();
  }

  /** The replayed book so far, to reopen a chain after a failed write. */
  snapshot(exchange: string, symbol: string): RawBookUpdate | undefined {
    const book = this.books.get(bookId(exchange, symbol));
    if (!book) return undefined;
    const all = book.top(Number.MAX_SAFE_INTEGER);
    const now = Date.now();
    return {
      kind: 'snapshot',
      exchange,
      symbol,
      bids: all.bids,
      asks: all.asks,
      exchangeTs: now,
      receiveTs: now,
    };
  }

  private play(line: Playable, sink: FeedSink): void {
    const now = Date.now();
    if (line.type === 'book') {
      const { kind, exchange, symbol, bids, asks, exchangeTs } = line.event;
      const id = bookId(exchange, symbol);
      let book = this.books.get(id);
      if (!book) {
        book = new OrderBook();
        this.books.set(id, book);
      }
      if (kind === 'snapshot') book.replace(bids, asks);
      else book.apply(bids, asks);
      sink.book({ kind, exchange, symbol, bids, asks, exchangeTs, receiveTs: now });
    } else if (line.type === 'trade') {
      sink.trade({ ...line.trade, receiveTs: now });
    } else {
      sink.health({ ...line.event, at: now });
    }
  }
}
