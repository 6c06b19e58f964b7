import type { Repeater } from '@repeaterjs/repeater';
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
import { followCopyChannel } from '../pubsub/copy-following.ts';
import { candleChannel } from '../redis/keys.ts';
import type { ResolverDeps } from './deps.ts';
import { requireMarket } from './markets.ts';
import { parseArgs } from './orderbook.ts';
import { copyLostError } from './trades.ts';

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
/** A candle as the API serves it: which region's copy built it; `regionSwitch` as on RegionalTrade. */
export interface RegionalCandle extends Candle {
  region: string;
  /** The first candle of a subscription from another region's copy than the one before. */
  regionSwitch?: boolean;
}

export async function candles(deps: ResolverDeps, args: CandleArgs): Promise<RegionalCandle[]> {
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
  const stored = await deps.hub.copies
    .store(region)
    .readCandles(parsed.exchange, parsed.symbol, parsed.interval, from, to);
  return stored.map((candle) => ({ ...candle, region }));
}

const CandleStreamArgs = z.object({
  exchange: z.string(),
  symbol: z.string(),
  interval: z.enum(CANDLE_INTERVALS),
});

/** Whether `next` is a later state than `last`: a later bucket, or more trades in the same one. */
function isNewer(next: Candle, last: Candle | undefined): boolean {
  return !last || next.start > last.start || (next.start === last.start && next.trades > last.trades);
}

/**
 * The live candle of one interval: the newest stored candle first, then every change to it and
 * each new candle as trades arrive. Listens before reading, and drops anything not newer than
 * what was sent, so the read and the stream join without a gap or a step back. Follows the copy
 * the book is served from: at a switch of region it sends the new copy's newest candle (marked
 * `regionSwitch`, even if it is not newer: two copies count trades apart) and goes on from there.
 */
export async function candleStream(
  deps: ResolverDeps,
  args: { exchange: string; symbol: string; interval: CandleInterval },
): Promise<Repeater<RegionalCandle>> {
  const { exchange, symbol, interval } = parseArgs(CandleStreamArgs, args);
  await requireMarket(deps, exchange, symbol);
  const fanout = deps.topics.candles;
  return boundedStream<RegionalCandle>(
    async (push, fail) => {
      let last: Candle | undefined;
      let moved = false;
      /** The copy followed now: a read of the copy left behind is dropped. */
      let following = '';
      const send = (candle: Candle, region: string) => {
        if (!isNewer(candle, last)) return;
        last = candle;
        push(moved ? { ...candle, region, regionSwitch: true } : { ...candle, region });
        moved = false;
      };
      const newestStored = async (region: string) => {
        const now = deps.now();
        const stored = await deps.hub.copies
          .store(region)
          .readCandles(exchange, symbol, interval, 0, now + CANDLE_INTERVAL_MS[interval]);
        const newest = stored.at(-1);
        if (newest && region === following) send(newest, region);
      };
      const lease = await deps.hub.followCopy(exchange, symbol);
      following = lease.region;
      const stop = await followCopyChannel({
        lease,
        fanout,
        channelOf: (region) => candleChannel(region, exchange, symbol),
        listener: (message, region) => {
          for (const candle of message.candles) if (candle.interval === interval) send(candle, region);
        },
        onMove: (region) => {
          moved = true;
          last = undefined;
          following = region;
        },
        onMoved: newestStored,
        fail: () => fail(copyLostError()),
        log: deps.log,
      });
      try {
        await newestStored(following);
      } catch (error) {
        stop();
        throw error;
      }
      return stop;
    },
    { queueMax: deps.limits.subscriberQueueMax },
  );
}
