import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BookEvent } from '../../src/marketdata/types.ts';
import { encodeBookEvent } from '../../src/wire/codec.ts';
import { ClientBook, checkClients, type WireBookUpdate } from '../helpers/book-checker.ts';
import {
  type Clients,
  followBook,
  type SubscriptionHandle,
  trackedClients,
} from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { lastWritten, publishToBook, type Stack, startStack } from '../helpers/stack.ts';

/**
 * Every discontinuity between the writer and a client is announced: RESET with its reason, then a
 * SNAPSHOT, then deltas that keep the client's book equal to the writer's again.
 */
const EXCHANGE = 'sim1';
const SYMBOL = 'BTC/USDT';
const DEPTH = 10;
/** Deltas a client must get after the repairing SNAPSHOT to count as live again. */
const DELTAS_AFTER = 5;

let redis: TestRedis;
let stack: Stack;
let clients: Clients;
let handle: SubscriptionHandle | undefined;

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startStack(redis, {
    simulator: { seed: 11, updatesPerSecond: 60, venues: [EXCHANGE], symbols: [SYMBOL, 'ETH/USDT'] },
  });
  clients = trackedClients();
});

afterEach(() => {
  handle?.unsubscribe();
  handle = undefined;
});

afterAll(async () => {
  await clients?.dispose();
  await stack?.stop();
  await redis?.stop();
});

/** A client following the book over graphql-ws, once it is live (snapshot plus a few deltas). */
async function liveClient(): Promise<ClientBook> {
  const book = new ClientBook(EXCHANGE, SYMBOL, DEPTH);
  handle = followBook(clients.ws(stack.wsUrl), book);
  await book.until(() => book.messages.filter((m) => m.type === 'DELTA').length >= 3);
  return book;
}

const isReset = (m: WireBookUpdate) => m.type === 'RESET';

/** Waits for RESET(reason) -> SNAPSHOT -> DELTA_AFTER deltas, then checks the whole stream. */
async function expectRepaired(book: ClientBook, reason: string, epoch?: () => string | undefined) {
  await book.until(
    () => {
      const resetAt = book.messages.findIndex((m) => m.type === 'RESET' && m.reason === reason);
      if (resetAt < 0) return false;
      const tail = book.after(isReset);
      return (
        book.messages.length > resetAt + 1 &&
        tail[0]?.type === 'SNAPSHOT' &&
        (!epoch || tail[0].epoch === epoch()) &&
        tail.filter((m) => m.type === 'DELTA').length >= DELTAS_AFTER
      );
    },
    60_000,
    `${reason} reset, a snapshot and ${DELTAS_AFTER} deltas`,
  );
  await book.untilCovered(stack.reference);
  expect(book.resets[0]).toBe(reason);
  expect(checkClients(stack.reference, [book])).toEqual([]);
}

const publish = (message: string) => publishToBook(stack, EXCHANGE, SYMBOL, message);

describe('discontinuities are announced and repaired', () => {
  it('a message far ahead of the replica: RESET GAP, SNAPSHOT, correct book', async () => {
    const book = await liveClient();
    const last = lastWritten(stack, EXCHANGE, SYMBOL);
    const forged: BookEvent = { ...last, kind: 'delta', seq: last.seq + 1_000, bids: [], asks: [] };
    expect(await publish(encodeBookEvent(forged))).toBe(1);
    await expectRepaired(book, 'GAP');
    // The forged seq was never shown to the client.
    expect(book.messages.some((m) => m.seq >= forged.seq)).toBe(false);
  });

  it('an undecodable message: RESET CORRUPT_MESSAGE, SNAPSHOT, correct book', async () => {
    const book = await liveClient();
    expect(await publish('{"v":1,"k":"d", not json')).toBe(1);
    await expectRepaired(book, 'CORRUPT_MESSAGE');
  });

  it('a writer restart opens a new epoch: RESET NEW_EPOCH, SNAPSHOT of the new epoch, correct book', async () => {
    const book = await liveClient();
    const oldEpoch = lastWritten(stack, EXCHANGE, SYMBOL).epoch;
    await stack.stopIngester();
    await stack.startIngester();
    const newEpoch = () => stack.reference.epochs(EXCHANGE, SYMBOL).at(-1);
    await stack.reference.until(() => newEpoch() !== oldEpoch, 60_000, 'the new epoch to be written');
    await expectRepaired(book, 'NEW_EPOCH', newEpoch);
    const firstOfNew = book.messages.findIndex((m) => m.epoch === newEpoch());
    expect(book.messages[firstOfNew - 1]?.type, 'the new epoch is announced').toBe('RESET');
  });

  it("the server's subscriber connection is killed: RESET RECONNECT, SNAPSHOT once reconnected, correct book", async () => {
    const book = await liveClient();
    const killed = await stack.redis.client('KILL', 'TYPE', 'pubsub');
    expect(killed).toBeGreaterThanOrEqual(1);
    await expectRepaired(book, 'RECONNECT');
  });
});
