import { Ingester } from '../../src/ingest/ingester.ts';
import { CcxtFeed, type CcxtFeedOptions } from '../../src/marketdata/ccxt-feed.ts';
import type { Feed, FeedHealthEvent } from '../../src/marketdata/feed.ts';
import type { BookEvent, Trade } from '../../src/marketdata/types.ts';
import type { Metrics } from '../../src/observability/metrics.ts';
import { BookStore } from '../../src/redis/book-store.ts';
import { createRedis } from '../../src/redis/connection.ts';
import type { FakeVenue } from '../fakes/fake-market.ts';
import { type ClientBook, type ReferenceLog, sameTop, Wakeups } from './book-checker.ts';
import type { Clients } from './graphql-clients.ts';
import type { TestRedis } from './redis.ts';
import { REGION, type Stack, type StackOptions, silentLog, startStack } from './stack.ts';

/** Deeper than any fake venue's book, so "the whole book" is one window. */
export const WHOLE_BOOK = 1_000;

/** What the feed told the ingester, seen on the way (the ingester gets all of it unchanged). */
export class FeedTap {
  readonly health: FeedHealthEvent[] = [];
  readonly trades: Trade[] = [];
  private readonly wakeups = new Wakeups();

  wrap(feed: Feed): Feed {
    return {
      name: feed.name,
      markets: () => feed.markets(),
      prepare: () => feed.prepare?.() ?? Promise.resolve(),
      start: (sink) =>
        feed.start({
          book: (update) => sink.book(update),
          trade: (trade) => {
            this.trades.push(trade);
            sink.trade(trade);
            this.wakeups.notify();
          },
          health: (event) => {
            this.health.push(event);
            sink.health(event);
            this.wakeups.notify();
          },
        }),
      stop: () => feed.stop(),
      snapshot: (exchange, symbol) => feed.snapshot?.(exchange, symbol),
    };
  }

  count(kind: FeedHealthEvent['kind'], symbol?: string): number {
    return this.health.filter((e) => e.kind === kind && (symbol === undefined || e.symbol === symbol)).length;
  }

  until(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
    return this.wakeups.until(condition, timeoutMs, what);
  }
}

export interface CcxtStack extends Stack {
  feed: CcxtFeed;
  tap: FeedTap;
  /** Every book event Redis accepted, in order. */
  written: BookEvent[];
}

/**
 * The whole path against a fake venue: fake venue -> ccxt -> CcxtFeed -> Ingester -> Redis ->
 * server (GraphQL over HTTP and graphql-ws), with the writer's reference log for checks.
 */
export async function startCcxtStack(
  testRedis: TestRedis,
  venue: FakeVenue,
  /** The feed's options; `metrics` are the ingester's. */
  { metrics, ...options }: Partial<CcxtFeedOptions> & { metrics?: Metrics } = {},
  stackOptions: Omit<StackOptions, 'ingest'> = {},
): Promise<CcxtStack> {
  const stack = await startStack(testRedis, { ...stackOptions, ingest: false });
  const written: BookEvent[] = [];
  const tap = new FeedTap();
  const feed = new CcxtFeed({
    exchange: venue.id,
    symbols: venue.markets.map((m) => m.symbol),
    restUrl: venue.restUrl,
    wsUrl: venue.wsUrl,
    backoff: { initialDelayMs: 20, maxDelayMs: 200 },
    ...options,
  });
  const writer = createRedis(testRedis.url, 'writer');
  writer.on('error', () => {});
  const ingester = new Ingester({
    store: new BookStore(writer, REGION),
    feeds: [tap.wrap(feed)],
    log: silentLog,
    ...(metrics ? { metrics } : {}),
    onWritten: (event) => {
      written.push(event);
      stack.reference.record(event);
    },
  });
  stack.ingester = ingester;
  const stop = stack.stop;
  const ccxtStack: CcxtStack = {
    ...stack,
    feed,
    tap,
    written,
    async stop() {
      await stop();
      writer.disconnect();
    },
  };
  try {
    await ingester.start();
  } catch (error) {
    await ccxtStack.stop();
    throw error;
  }
  return ccxtStack;
}

/**
 * "At each point": after every event the writer stored, its whole book equals the venue's own
 * book at the venue sequence number the event carries. Returns the problems found.
 */
export function checkAgainstVenue(
  reference: ReferenceLog,
  written: readonly BookEvent[],
  venue: FakeVenue,
): string[] {
  const problems: string[] = [];
  for (const event of written) {
    const at = `${event.exchange}:${event.symbol} (${event.epoch}, ${event.seq}) venueSeq ${event.venueSeq}`;
    const position = venue.positionOf ? venue.positionOf(event) : event.venueSeq;
    if (position === undefined) {
      problems.push(`${at}: no venue sequence number`);
      continue;
    }
    const expected = venue.bookAt(event.symbol, position);
    const actual = reference.top(event.exchange, event.symbol, event.epoch, event.seq, WHOLE_BOOK);
    if (!expected || !actual) problems.push(`${at}: venue book ${expected ? 'found' : 'missing'}`);
    else if (!sameTop(actual, expected)) {
      problems.push(`${at}: ours ${JSON.stringify(actual)} != venue ${JSON.stringify(expected)}`);
    }
    if (problems.length >= 5) break;
  }
  return problems;
}

/**
 * The served venue sequence against the venue's own: after every SNAPSHOT or DELTA a client
 * received, its book must be the venue's book at the `venueSeq` that message carried (the client
 * holds the whole book: its depth is deeper than the venue's). Returns the problems (at most 5).
 */
export function checkServedVenueSeq(book: ClientBook, venue: FakeVenue): string[] {
  const problems: string[] = [];
  const checkpoints = book.venueSeqCheckpoints();
  if (checkpoints.length === 0) problems.push(`${book.name}: no book received`);
  for (const { index, venueSeq, top } of checkpoints) {
    const at = `${book.name} #${index} venueSeq ${venueSeq}`;
    if (typeof venueSeq !== 'number') problems.push(`${at}: no venue sequence served`);
    else {
      const expected = venue.bookAt(book.symbol, venueSeq);
      if (!expected) problems.push(`${at}: the venue never had this sequence`);
      else if (!sameTop(top, expected)) {
        problems.push(`${at}: served ${JSON.stringify(top)} != venue ${JSON.stringify(expected)}`);
      }
    }
    if (problems.length >= 5) break;
  }
  return problems;
}

/** Resolves once the client's book equals the venue's current one, in the epoch the writer is in now. */
export function untilVenueBook(reference: ReferenceLog, venue: FakeVenue, book: ClientBook): Promise<void> {
  return book.until(
    () => {
      const current = book.current();
      return (
        current !== undefined &&
        book.lastMessage?.epoch === reference.last(venue.id, book.symbol)?.epoch &&
        sameTop(current, venue.book(book.symbol))
      );
    },
    60_000,
    `${venue.id} ${book.symbol} to equal the venue's book`,
  );
}

/** Resolves once the writer stored a first book of every market the venue lists. */
export function untilFirstBooks(stack: CcxtStack, venue: FakeVenue): Promise<void> {
  return stack.reference.until(
    () => venue.markets.every((m) => stack.reference.count(venue.id, m.symbol) > 0),
    60_000,
    'the first snapshots',
  );
}

/** Stops what a ccxt test started, the clients first; whatever did not start is skipped. */
export async function stopCcxtTest(parts: {
  clients: Clients | undefined;
  stack: CcxtStack | undefined;
  venue: FakeVenue | undefined;
  redis: TestRedis | undefined;
}): Promise<void> {
  await parts.clients?.dispose();
  await parts.stack?.stop();
  await parts.venue?.close();
  await parts.redis?.stop();
}
