import type { Logger } from 'pino';
import type { FeedStatus } from '../marketdata/feed-health.ts';
import type { Trade } from '../marketdata/types.ts';
import { decodeTrade } from '../wire/codec.ts';
import { type CandlesMessage, decodeCandles, decodeFeedStatuses } from '../wire/market-codec.ts';
import { ChannelFanout } from './channel-fanout.ts';
import type { ChannelSubscriber } from './channel-subscriber.ts';

/** The non-book channels a server follows, each through one fan-out on the process's subscriber. */
export interface MarketTopics {
  trades: ChannelFanout<Trade>;
  candles: ChannelFanout<CandlesMessage>;
  feeds: ChannelFanout<FeedStatus[]>;
}

/** One set of fan-outs per process, made where the subscriber connection is (runtime wiring). */
export function createMarketTopics(channels: ChannelSubscriber, log: Logger): MarketTopics {
  return {
    trades: new ChannelFanout(channels, decodeTrade, log),
    candles: new ChannelFanout(channels, decodeCandles, log),
    feeds: new ChannelFanout(channels, decodeFeedStatuses, log),
  };
}
