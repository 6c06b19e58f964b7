import type { Client } from 'graphql-ws';
import { expect } from 'vitest';
import { CcxtVenue, type CcxtVenueOptions } from '../../src/trading/ccxt-venue.ts';
import type { FakeVenue } from '../fakes/fake-market.ts';
import { type CcxtStack, startCcxtStack } from '../helpers/ccxt-stack.ts';
import { subscribe } from '../helpers/graphql-clients.ts';
import type { TestRedis } from '../helpers/redis.ts';
import { silentLog } from '../helpers/stack.ts';
import {
  createClientWithCli,
  OPEN_SESSION,
  ORDER_UPDATES,
  PLACE_ORDER,
  type PlaceResult,
  type UpdateView,
  waitFor,
  wsClient,
  wsRequest,
} from './support.ts';

/** A client's trading session on a stack with a real venue, following its orderUpdates. */
export interface VenueSession {
  ws: Client;
  sessionId: string;
  /** Every update of the session, as delivered (from seq 1). */
  updates: UpdateView[];
  /** placeOrder on the session's exchange and symbol (overridable in `input`). */
  place(input: Record<string, unknown>): Promise<PlaceResult>;
  updatesOf(orderId: string): UpdateView[];
  /** Resolves once `predicate` holds after an update (60 s bound). */
  until(predicate: () => boolean, what: string): Promise<void>;
}

export async function openVenueSession(options: {
  wsUrl: string;
  redisUrl: string;
  clientName: string;
  exchange: string;
  symbol: string;
  balances: { asset: string; amount: string }[];
}): Promise<VenueSession> {
  const updates: UpdateView[] = [];
  const wakes = new Set<() => void>();
  const client = await createClientWithCli(options.redisUrl, options.clientName);
  const ws = wsClient(options.wsUrl, client.key);
  const opened = await wsRequest<{ openSession: { id: string } }>(ws, OPEN_SESSION, {
    balances: options.balances,
  });
  expect(opened.errors).toBeUndefined();
  const sessionId = opened.data!.openSession.id;
  // afterSeq 0: whatever was published before the subscription is live is replayed first.
  const handle = subscribe<UpdateView>(ws, ORDER_UPDATES, { sessionId, afterSeq: 0 }, (u) => {
    updates.push(u);
    for (const wake of [...wakes]) wake();
  });
  expect(handle.errors).toEqual([]);
  return {
    ws,
    sessionId,
    updates,
    async place(input) {
      const result = await wsRequest<{ placeOrder: PlaceResult }>(ws, PLACE_ORDER, {
        input: { sessionId, exchange: options.exchange, symbol: options.symbol, ...input },
      });
      expect(result.errors).toBeUndefined();
      return result.data!.placeOrder;
    },
    updatesOf: (orderId) => updates.filter((u) => u.order.id === orderId),
    async until(predicate, what) {
      const waiter = waitFor(predicate, 60_000, what);
      wakes.add(waiter.check);
      try {
        await waiter.done;
      } finally {
        wakes.delete(waiter.check);
      }
    },
  };
}

/**
 * A fake venue's market data and trading through the whole stack: a CcxtVenue on the fake's
 * URLs, the stack once `symbol`'s first snapshot is in, the order stream subscribed
 * (`untilOrderStream`), and a session holding more than the venue account (the venue, not the
 * session, refuses a big order).
 */
export async function startVenueTrading(options: {
  redis: TestRedis;
  fake: FakeVenue;
  credentials: Pick<CcxtVenueOptions, 'apiKey' | 'secret' | 'password' | 'uid'>;
  symbol: string;
  untilOrderStream(): Promise<void>;
}): Promise<{ venue: CcxtVenue; stack: CcxtStack; session: VenueSession }> {
  const { fake, symbol } = options;
  const venue = new CcxtVenue({
    exchange: fake.id,
    ...options.credentials,
    restUrl: fake.restUrl,
    wsUrl: fake.wsUrl,
    backoff: { initialDelayMs: 20, maxDelayMs: 200 },
    log: silentLog,
  });
  const stack = await startCcxtStack(options.redis, fake, {}, { venues: [venue] });
  await stack.reference.until(() => stack.reference.count(fake.id, symbol) > 0, 60_000, 'the first snapshot');
  await options.untilOrderStream();
  const session = await openVenueSession({
    wsUrl: stack.wsUrl,
    redisUrl: options.redis.url,
    clientName: 'alice',
    exchange: fake.id,
    symbol,
    balances: [
      { asset: 'USDT', amount: '1000000' },
      { asset: 'BTC', amount: '1' },
    ],
  });
  return { venue, stack, session };
}
