import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FeedHealthEvent } from '../../src/marketdata/feed.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { startFakeBinance } from '../fakes/fake-binance.ts';
import { startFakeBybit } from '../fakes/fake-bybit.ts';
import type { FakeVenue } from '../fakes/fake-market.ts';
import { ClientBook, checkClients } from '../helpers/book-checker.ts';
import {
  type CcxtStack,
  checkAgainstVenue,
  startCcxtStack,
  stopCcxtTest,
  untilFirstBooks,
  untilVenueBook,
} from '../helpers/ccxt-stack.ts';
import {
  type Clients,
  followBook,
  type SubscriptionHandle,
  trackedClients,
} from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';

/**
 * The periodic book audit (src/marketdata/book-audit.ts) through unmodified ccxt: each round
 * compares one book's top with the venue's REST book, on the fake Binance at the same
 * `lastUpdateId`, on the fake Bybit (whose REST `u` ccxt does not keep) by time: our book unchanged
 * during the request, the mismatch seen twice. A clean venue gives matches only; a venue whose
 * book changes without a message (its stream's sequence intact, so no sequence check can see it)
 * is caught by the audit, which announces it (RESET) and resynchronises the book (Bybit:
 * unsubscribing first), and the served book heals.
 */
const VENUES = [
  {
    name: 'binance',
    start: () => startFakeBinance(),
    rest: /^\/api\/v3\/depth\?symbol=BTCUSDT&limit=5$/,
    found: /^at sequence \d+: bids\[0\] ours /,
  },
  {
    name: 'bybit',
    start: () => startFakeBybit(),
    rest: /^\/v5\/market\/orderbook\?symbol=BTCUSDT&category=spot&limit=5$/,
    found: /^twice with the book unchanged: bids\[0\] ours /,
  },
];
const BTC = 'BTC/USDT';
const ETH = 'ETH/USDT';
const DEPTH = 100;

describe.each(VENUES)('book audit against the $name REST book', ({ name: EXCHANGE, start, rest, found }) => {
  let redis: TestRedis;
  let venue: FakeVenue;
  let stack: CcxtStack;
  let clients: Clients;
  const metrics = new Metrics({ defaultMetrics: false });
  const handles: SubscriptionHandle[] = [];

  beforeAll(async () => {
    redis = await startTestRedis();
    venue = await start();
    stack = await startCcxtStack(redis, venue, { auditIntervalMs: 100, trades: false, metrics });
    clients = trackedClients();
    await untilFirstBooks(stack, venue);
  });

  afterEach(() => {
    for (const h of handles.splice(0)) h.unsubscribe();
  });

  afterAll(() => stopCcxtTest({ clients, stack, venue, redis }));

  function audits(outcome: FeedHealthEvent['outcome'], symbol?: string): FeedHealthEvent[] {
    return stack.tap.health.filter(
      (e) => e.kind === 'audit' && e.outcome === outcome && (symbol === undefined || e.symbol === symbol),
    );
  }

  /** A counter's value by its labels, from the ingester's metrics. */
  async function counted(counter: 'venueAudits' | 'auditDivergences', labels: Record<string, string>) {
    const { values } = await metrics[counter].get();
    const match = values.find((v) =>
      Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l),
    );
    return match?.value ?? 0;
  }

  const auditResyncs = () => stack.tap.health.filter((e) => e.kind === 'resync' && e.check === 'audit');

  async function follow(symbol: string): Promise<ClientBook> {
    const book = new ClientBook(EXCHANGE, symbol, DEPTH);
    handles.push(followBook(clients.ws(stack.wsUrl), book));
    await book.until(() => book.hasBook, 60_000, `${symbol} snapshot`);
    return book;
  }

  it('a clean venue: every audit that compares matches, nothing is reset', async () => {
    const books = [await follow(BTC), await follow(ETH)];
    const matches = [BTC, ETH].map((s) => audits('match', s).length);
    for (let round = 0; round < 4; round++) {
      venue.step(5);
      for (const book of books) await untilVenueBook(stack.reference, venue, book);
      // Quiet books: the audit compares each at the venue's current lastUpdateId.
      await stack.tap.until(
        () => [BTC, ETH].every((s, i) => audits('match', s).length > matches[i]! + round),
        'an audit match of each book',
      );
    }
    expect(audits('divergence')).toEqual([]);
    expect(auditResyncs()).toEqual([]);
    for (const book of books) expect(book.resets).toEqual([]);
    for (const book of books) await book.untilCovered(stack.reference);
    expect(checkClients(stack.reference, books)).toEqual([]);
    expect(checkAgainstVenue(stack.reference, stack.written, venue)).toEqual([]);
    expect(venue.unknownRequests).toEqual([]);
    expect(await counted('venueAudits', { exchange: EXCHANGE, outcome: 'match' })).toBe(
      audits('match').length,
    );
    expect(await counted('auditDivergences', { exchange: EXCHANGE })).toBe(0);
    // The audit asked the venue's REST book, a few levels deep.
    expect(venue.requests.some((r) => rest.test(r))).toBe(true);
  });

  it('a level changed without a message: the audit announces it (RESET), resyncs, and the served book heals', async () => {
    const book = await follow(BTC);
    venue.step(3);
    await untilVenueBook(stack.reference, venue, book);
    const ethEpochs = stack.reference.epochs(EXCHANGE, ETH).length;
    const btcEpochs = stack.reference.epochs(EXCHANGE, BTC);

    venue.changeSilently(BTC);
    await stack.tap.until(() => auditResyncs().length > 0, 'the audit to resynchronise BTC');
    const divergences = audits('divergence');
    expect(divergences.map((e) => e.symbol)).toEqual([BTC]);
    expect(divergences[0]?.message).toMatch(found);
    expect(auditResyncs().map((e) => e.symbol)).toEqual([BTC]);
    expect(await counted('auditDivergences', { exchange: EXCHANGE })).toBe(1);
    expect(await counted('venueAudits', { exchange: EXCHANGE, outcome: 'divergence' })).toBe(1);

    await stack.reference.until(
      () => stack.reference.epochs(EXCHANGE, BTC).length > btcEpochs.length,
      60_000,
      'a new BTC epoch',
    );
    venue.step(3, BTC);
    await untilVenueBook(stack.reference, venue, book);
    expect(book.resets).toEqual(['NEW_EPOCH']);
    expect(book.after((m) => m.type === 'RESET')[0]?.type).toBe('SNAPSHOT');
    // Only the diverged book was rebuilt, and once.
    expect(stack.reference.epochs(EXCHANGE, ETH)).toHaveLength(ethEpochs);
    expect(audits('divergence', ETH)).toEqual([]);
    // Every book stored since the resync is the venue's at its sequence.
    const since = stack.written.filter((e) => e.symbol === BTC && !btcEpochs.includes(e.epoch));
    expect(since.length).toBeGreaterThan(0);
    expect(checkAgainstVenue(stack.reference, since, venue)).toEqual([]);
    await book.untilCovered(stack.reference);
    expect(checkClients(stack.reference, [book])).toEqual([]);
    // Later audits of the healed book match again.
    const matched = audits('match', BTC).length;
    await stack.tap.until(() => audits('match', BTC).length > matched, 'a BTC audit match after the resync');
    expect(auditResyncs()).toHaveLength(1);
  });
});
