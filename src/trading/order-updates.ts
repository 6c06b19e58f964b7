import { Repeater } from '@repeaterjs/repeater';
import type { Logger } from 'pino';
import { boundedStream, ChannelFanout } from '../pubsub/channel-fanout.ts';
import type { ChannelSubscriber } from '../pubsub/channel-subscriber.ts';
import type { Decoded } from '../pubsub/codec.ts';
import { sessionUpdatesChannel } from '../redis/keys.ts';
import type { TradingStore } from './trading-store.ts';
import type { OrderUpdate } from './types.ts';

function decodeUpdate(raw: string): Decoded<OrderUpdate> {
  try {
    const value = JSON.parse(raw) as OrderUpdate;
    if (typeof value?.seq !== 'number' || typeof value.sessionId !== 'string') {
      return { ok: false, error: 'not an order update' };
    }
    return { ok: true, value };
  } catch (error) {
    return { ok: false, error: String(error) };
  }
}

/**
 * Every session's updates channel through one fan-out on the process's ChannelSubscriber. A
 * stream listens first, then replays the kept updates above `afterSeq` (if asked), then sends
 * live ones; seq only ever grows, so anything already sent is dropped.
 */
export class OrderUpdateStreams {
  private readonly fanout: ChannelFanout<OrderUpdate>;

  constructor(
    channels: ChannelSubscriber,
    private readonly store: TradingStore,
    log: Logger,
  ) {
    this.fanout = new ChannelFanout(channels, decodeUpdate, log);
  }

  stream(
    clientId: string,
    sessionId: string,
    options: { afterSeq: number | null; queueMax: number; overflowError: () => Error },
  ): Repeater<OrderUpdate> {
    const channel = sessionUpdatesChannel(clientId, sessionId);
    const source = boundedStream<OrderUpdate>((push) => this.fanout.listen(channel, push), {
      queueMax: options.queueMax,
      overflowError: options.overflowError,
      initial: async () => {
        if (options.afterSeq === null) return [];
        const kept = await this.store.readUpdates(clientId, sessionId);
        return kept.filter((u) => u.seq > (options.afterSeq ?? 0));
      },
    });
    return new Repeater<OrderUpdate>(async (push, stop) => {
      let last = options.afterSeq ?? -1;
      const iterator = source[Symbol.asyncIterator]();
      void stop.then(() => iterator.return?.());
      try {
        for (;;) {
          const next = await Promise.race([iterator.next(), stop.then(() => null)]);
          if (!next || next.done) break;
          if (next.value.seq <= last) continue;
          last = next.value.seq;
          await push(next.value);
        }
      } finally {
        await iterator.return?.();
        stop();
      }
    });
  }
}
