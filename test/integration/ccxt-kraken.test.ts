import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeKraken, startFakeKraken } from '../fakes/fake-kraken.ts';
import { type CcxtStack, startCcxtStack } from '../helpers/ccxt-stack.ts';
import { type Clients, trackedClients } from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { VenueFidelity } from '../helpers/venue-fidelity.ts';

/**
 * Kraken WS v2 through unmodified ccxt, against a fake that speaks it as the venue does (book kept
 * at the subscribed depth with no delete for a level pushed out, CRC32 of the best 10 on every
 * message, numbers on the wire). ccxt ships the checksum check off (and broken): a lost,
 * reordered or corrupted message used to be served silently (issue 11). Our own check on our own
 * copy of the book announces each with a RESET and heals it from a new subscription. Kraken has
 * no sequence number: events are placed in the venue's history by their venue time.
 */
const BTC = 'BTC/USDT';
const ETH = 'ETH/USDT';
/** Kraken's default, which ccxt subscribes at when given none; the fake's books are deeper. */
const DEPTH = 10;

let redis: TestRedis;
let venue: FakeKraken;
let stack: CcxtStack;
let clients: Clients;
let fidelity: VenueFidelity;

beforeAll(async () => {
  redis = await startTestRedis();
  venue = await startFakeKraken({ depth: DEPTH });
  stack = await startCcxtStack(redis, venue, { depth: DEPTH });
  clients = trackedClients();
  fidelity = new VenueFidelity(stack, venue, clients);
});

afterEach(() => fidelity.unfollow());

afterAll(async () => {
  await clients?.dispose();
  await stack?.stop();
  await venue?.close();
  await redis?.stop();
});

describe('ccxt kraken feed: every served book is the venue book at its depth, or announced', () => {
  it('clean: exact at every event, through levels entering and leaving the window', async () => {
    const books = await fidelity.run(BTC, ETH, () => venue.step(30), { announced: false });
    expect(stack.written.filter((e) => e.symbol === BTC).length).toBeGreaterThan(2);
    // Kraken v2 numbers nothing: venueSeq is null on every message, never a made-up number.
    for (const book of books) {
      expect(book.messages.length).toBeGreaterThan(0);
      expect(book.messages.every((m) => m.venueSeq === null)).toBe(true);
    }
  });

  it('duplicate: absolute sizes applied twice change nothing, and nothing is announced', async () => {
    await fidelity.runFault(venue, BTC, ETH, 'duplicate', { announced: false });
  });

  for (const fault of ['drop', 'reorder', 'corrupt'] as const) {
    it(`${fault}: the checksum fails, announced by RESET, healed from a new subscription`, async () => {
      await fidelity.runFault(venue, BTC, ETH, fault, { announced: true, check: 'checksum' });
      // The resync unsubscribed first: Kraken refuses a second subscription to a book.
      expect(venue.refusedSubscriptions).toEqual([]);
    });
  }

  it('disconnect: every book announced and rebuilt', () => fidelity.disconnect([BTC, ETH]));
});
