import type { Repeater } from '@repeaterjs/repeater';
import { z } from 'zod';
import type { Trade } from '../marketdata/types.ts';
import { boundedStream } from '../pubsub/channel-fanout.ts';
import { type StoredTrade, TRADES_MAXLEN } from '../redis/book-store.ts';
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

/** The market's newest trades, newest first; `limit` is 1 to the stream's cap. */
export async function trades(deps: ResolverDeps, args: TradesArgs): Promise<StoredTrade[]> {
  const { exchange, symbol, limit } = parseArgs(
    z.object({
      exchange: z.string(),
      symbol: z.string(),
      limit: z
        .number()
        .int('must be an integer')
        .min(1, 'must be at least 1')
        .max(TRADES_MAXLEN, `must be at most ${TRADES_MAXLEN}`),
    }),
    args,
  );
  await requireMarket(deps, exchange, symbol);
  const region = await deps.hub.regionFor(exchange, symbol);
  return deps.hub.copies.store(region).readTrades(exchange, symbol, limit);
}

/**
 * Every trade of the market from now on, in the order the ingester wrote them: those of the copy
 * chosen when the subscription starts (a trade stream stays with its copy).
 */
export async function tradeStream(
  deps: ResolverDeps,
  args: { exchange: string; symbol: string },
): Promise<Repeater<Trade>> {
  await requireMarket(deps, args.exchange, args.symbol);
  const region = await deps.hub.regionFor(args.exchange, args.symbol);
  const channel = tradeChannel(region, args.exchange, args.symbol);
  const fanout = deps.topics.trades;
  const metrics = deps.metrics;
  return boundedStream<Trade>(
    (push) => {
      metrics?.subscriptionsActive.inc({ field: 'trades' });
      return fanout.listen(channel, push);
    },
    {
      queueMax: deps.limits.subscriberQueueMax,
      overflowError: () =>
        apiError(ErrorCode.SubscriberTooSlow, 'The subscriber fell too far behind the trades; resubscribe.'),
      onEnd: () => metrics?.subscriptionsActive.dec({ field: 'trades' }),
    },
  );
}
