import type { Repeater } from '@repeaterjs/repeater';
import { z } from 'zod';
import type { Trade } from '../marketdata/types.ts';
import { boundedStream } from '../pubsub/channel-fanout.ts';
import { followCopyChannel } from '../pubsub/copy-following.ts';
import { TRADES_MAXLEN } from '../redis/book-store.ts';
import { tradeChannel } from '../redis/keys.ts';
import type { ResolverDeps } from './deps.ts';
import { apiError, ErrorCode } from './errors.ts';
import { requireMarket } from './markets.ts';
import { parseArgs } from './orderbook.ts';

export interface TradesArgs {
  exchange: string;
  symbol: string;
  limit: number;
}

/**
 * A trade as the API serves it: from which region's copy, and whether it is the first one a
 * subscription got from that copy after the book's copy switched region.
 */
export interface RegionalTrade extends Trade {
  region: string;
  /**
   * The first trade of a subscription after it moved to another region's copy: the trades between
   * the previous copy's last one and this one may be missing or repeated (each copy is written by
   * its own ingester; the venue's `id` tells repeats apart). Absent: false.
   */
  regionSwitch?: boolean;
}

const TradesArgsSchema = z.object({
  exchange: z.string(),
  symbol: z.string(),
  limit: z
    .number()
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(TRADES_MAXLEN, `must be at most ${TRADES_MAXLEN}`),
});

/** The market's newest trades, newest first; `limit` is 1 to the stream's cap. */
export async function trades(deps: ResolverDeps, args: TradesArgs): Promise<RegionalTrade[]> {
  const { exchange, symbol, limit } = parseArgs(TradesArgsSchema, args);
  await requireMarket(deps, exchange, symbol);
  const region = await deps.hub.regionFor(exchange, symbol);
  const stored = await deps.hub.copies.store(region).readTrades(exchange, symbol, limit);
  return stored.map((trade) => ({ ...trade, region }));
}

/**
 * Every trade of the market from now on, in the order the ingester wrote them, from the copy the
 * book is served from: when the book switches region (copy-choice.ts), the stream moves with it
 * and marks the first trade from the new copy (`regionSwitch`), never mixing two copies' trades.
 */
export async function tradeStream(
  deps: ResolverDeps,
  args: { exchange: string; symbol: string },
): Promise<Repeater<RegionalTrade>> {
  const { exchange, symbol } = args;
  await requireMarket(deps, exchange, symbol);
  const fanout = deps.topics.trades;
  const metrics = deps.metrics;
  return boundedStream<RegionalTrade>(
    async (push, fail) => {
      const lease = await deps.hub.followCopy(exchange, symbol);
      let moved = false;
      const stop = await followCopyChannel<Trade>({
        lease,
        fanout,
        channelOf: (region) => tradeChannel(region, exchange, symbol),
        listener: (trade, region) => {
          push(moved ? { ...trade, region, regionSwitch: true } : { ...trade, region });
          moved = false;
        },
        onMove: () => {
          moved = true;
        },
        fail: () => fail(copyLostError()),
        log: deps.log,
      });
      metrics?.subscriptionsActive.inc({ field: 'trades' });
      return () => {
        stop();
        metrics?.subscriptionsActive.dec({ field: 'trades' });
      };
    },
    {
      queueMax: deps.limits.subscriberQueueMax,
      overflowError: () =>
        apiError(ErrorCode.SubscriberTooSlow, 'The subscriber fell too far behind the trades; resubscribe.'),
    },
  );
}

/** The error ending a trade or candle stream that could not follow its book's new copy. */
export function copyLostError(): Error {
  return apiError(
    ErrorCode.Unavailable,
    "Could not follow the market's data to another region's copy; resubscribe.",
  );
}
