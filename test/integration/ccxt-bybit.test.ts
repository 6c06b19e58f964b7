import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeBybit, startFakeBybit } from '../fakes/fake-bybit.ts';
import { type CcxtStack, checkServedVenueSeq, startCcxtStack } from '../helpers/ccxt-stack.ts';
import { type Clients, trackedClients } from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { VenueFidelity } from '../helpers/venue-fidelity.ts';

/**
 * Bybit v5 spot through unmodified ccxt, against a fake that speaks it as the venue does (snapshot
 * + deltas with `u` + 1, perpetuals listed under the spot ids, a second subscription refused).
 * ccxt reads no `u`: a lost, repeated or reordered delta used to be served silently (issue 11);
 * our own check announces each with a RESET and heals it from a fresh snapshot.
 */
const BTC = 'BTC/USDT';
const ETH = 'ETH/USDT';

let redis: TestRedis;
let venue: FakeBybit;
let stack: CcxtStack;
let clients: Clients;
let fidelity: VenueFidelity;

beforeAll(async () => {
  redis = await startTestRedis();
  venue = await startFakeBybit();
  stack = await startCcxtStack(redis, venue);
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

describe('ccxt bybit feed: every served book is the venue book, or announced', () => {
  it('clean: exact, with the venue sequence (u) on every event and every served message', async () => {
    const books = await fidelity.run(BTC, ETH, () => venue.step(20), { announced: false });
    expect(stack.written.every((e) => typeof e.venueSeq === 'number')).toBe(true);
    for (const book of books) expect(checkServedVenueSeq(book, venue)).toEqual([]);
  });

  for (const fault of ['drop', 'duplicate', 'reorder'] as const) {
    it(`${fault}: announced by RESET, healed from a new snapshot`, async () => {
      const books = await fidelity.runFault(venue, BTC, ETH, fault, { announced: true, check: 'sequence' });
      // Before and after the RESET, each served venueSeq names the venue book the client holds.
      for (const book of books) expect(checkServedVenueSeq(book, venue)).toEqual([]);
      // The resync unsubscribed first: Bybit refuses a second subscription to a topic.
      expect(venue.refusedSubscriptions).toEqual([]);
    });
  }

  it('disconnect: every book announced and rebuilt', () => fidelity.disconnect([BTC, ETH]));
});
