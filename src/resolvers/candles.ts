import type { Repeater } from '@repeaterjs/repeater';
import { filter } from 'graphql-yoga';
import { z } from 'zod';
import {
  bucketStart,
  CANDLE_INTERVAL_MS,
  CANDLE_INTERVALS,
  CANDLE_RETENTION,
  type Candle,
  type CandleInterval,
} from '../marketdata/candles.ts';
import { boundedStream } from '../pubsub/channel-fanout.ts';
import { candleChannel } from '../redis/keys.ts';
import type { ResolverDeps } from './deps.ts';
import { requireMarket } from './markets.ts';
import { parseArgs } from './orderbook.ts';

export interface CandleArgs {
  exchange: string;
  symbol: string;
  interval: CandleInterval;
  from?: number | null;
  to?: number | null;
}

/** Candles a query answers at most: the retention of the interval. */
function maxCandles(interval: CandleInterval): number {
  return CANDLE_RETENTION[interval];
}

/**
 * Candles with `from <= start <= to`, oldest first. `to` defaults to now and `from` to 100
 * intervals before `to`; a range longer than the interval's retention is refused.
 */
export async function candles(deps: ResolverDeps, args: CandleArgs): Promise<Candle[]> {
  const parsed = parseArgs(
    z
      .object({
        exchange: z.string(),
        symbol: z.string(),
        interval: z.enum(CANDLE_INTERVALS),
        from: z.number().int().nonnegative('must not be negative').nullish(),
        to: z.number().int().nonnegative('must not be negative').nullish(),
      })
      .superRefine((a, ctx) => {
        const ms = CANDLE_INTERVAL_MS[a.interval];
        const to = a.to ?? deps.now();
        const from = a.from ?? to - 99 * ms;
        if (from > to) ctx.addIssue({ code: 'custom', path: ['from'], message: 'must not be after `to`' });
        else if ((to - from) / ms >= maxCandles(a.interval)) {
          ctx.addIssue({
            code: 'custom',
            path: ['from'],
            message: `covers more than ${maxCandles(a.interval)} candles of ${a.interval}`,
          });
        }
      }),
    args,
  );
  await requireMarket(deps, parsed.exchange, parsed.symbol);
  const ms = CANDLE_INTERVAL_MS[parsed.interval];
  const to = parsed.to ?? deps.now();
  const from = parsed.from ?? bucketStart(to, parsed.interval) - 99 * ms;
  const region = await deps.hub.regionFor(parsed.exchange, parsed.symbol);
  return deps.hub.copies.store(region).readCandles(parsed.exchange, parsed.symbol, parsed.interval, from, to);
}

/** Whether `next` is a later state than `last`: a later bucket, or more trades in the same one. */
function isNewer(next: Candle, last: Candle | undefined): boolean {
  return !last || next.start > last.start || (next.start === last.start && next.trades > last.trades);
}

/**
 * The live candle of one interval: the newest stored candle first, then every change to it and
 * each new candle as trades arrive. Listens before reading, and drops anything not newer than
 * what was sent, so the read and the stream join without a gap or a step back.
 */
export async function candleStream(
  deps: ResolverDeps,
  args: { exchange: string; symbol: string; interval: CandleInterval },
): Promise<Repeater<Candle>> {
  const { exchange, symbol, interval } = parseArgs(
    z.object({ exchange: z.string(), symbol: z.string(), interval: z.enum(CANDLE_INTERVALS) }),
    args,
  );
  await requireMarket(deps, exchange, symbol);
  // The copy chosen when the subscription starts: its candles only, never two writers' mixed.
  const region = await deps.hub.regionFor(exchange, symbol);
  const channel = candleChannel(region, exchange, symbol);
  const fanout = deps.topics.candles;
  let last: Candle | undefined;
  const stream = boundedStream<Candle>(
    (push) =>
      fanout.listen(channel, (message) => {
        for (const candle of message.candles) if (candle.interval === interval) push(candle);
      }),
    {
      queueMax: deps.limits.subscriberQueueMax,
      initial: async () => {
        const ms = CANDLE_INTERVAL_MS[interval];
        const now = deps.now();
        const stored = await deps.hub.copies
          .store(region)
          .readCandles(exchange, symbol, interval, 0, now + ms);
        const newest = stored.at(-1);
        return newest ? [newest] : [];
      },
    },
  );
  return filter((candle: Candle) => {
    if (!isNewer(candle, last)) return false;
    last = candle;
    return true;
  })(stream);
}
