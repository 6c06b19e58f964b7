import type { FeedStatus } from '../marketdata/feed-health.ts';
import type { Trade } from '../marketdata/types.ts';
import { decodeTrade } from '../wire/codec.ts';
import { type CandlesMessage, decodeCandles, decodeFeedStatuses } from '../wire/market-codec.ts';
import type { BookHub } from './book-hub.ts';
import { ChannelFanout } from './channel-fanout.ts';

/** The non-book channels a server follows, each through one fan-out on the process's subscriber. */
export interface MarketTopics {
  trades: ChannelFanout<Trade>;
  candles: ChannelFanout<CandlesMessage>;
  feeds: ChannelFanout<FeedStatus[]>;
}

const byHub = new WeakMap<BookHub, MarketTopics>();

/** One set of fan-outs per process (per BookHub, which owns the subscriber connection). */
export function marketTopics(hub: BookHub): MarketTopics {
  let topics = byHub.get(hub);
  if (!topics) {
    topics = {
      trades: new ChannelFanout(hub.channels, decodeTrade, hub.log),
      candles: new ChannelFanout(hub.channels, decodeCandles, hub.log),
      feeds: new ChannelFanout(hub.channels, decodeFeedStatuses, hub.log),
    };
    byHub.set(hub, topics);
  }
  return topics;
}
