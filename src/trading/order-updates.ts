import { Repeater } from '@repeaterjs/repeater';
import type { Logger } from 'pino';
import { boundedStream, ChannelFanout } from '../pubsub/channel-fanout.ts';
import type { ChannelSubscriber } from '../pubsub/channel-subscriber.ts';
import { sessionUpdatesChannel } from '../redis/keys.ts';
import type { Decoded } from '../wire/codec.ts';
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

/** What a stream consumes, in order: a live update, or "look for missed ones" after a reconnect. */
type StreamItem = { update: OrderUpdate } | { repair: true };

/**
 * Every session's updates channel through one fan-out on the process's ChannelSubscriber. A
 * stream listens first, then replays the kept updates above `afterSeq` (if asked), then sends
 * live ones. Pub/sub loses what is published while the subscriber connection is down, so the
 * seq chain is checked: a live update past the next seq, and every reconnect of the subscriber
 * connection, make the stream read what it missed from the session's kept updates (the events
 * stream, written in the same script call as each publish) and send it first, in order. Seq only
 * ever grows, so anything already sent is dropped: no gap, no duplicate.
 */
export class OrderUpdateStreams {
  private readonly fanout: ChannelFanout<OrderUpdate>;
  /** One per open stream: queues a repair behind what the stream has already received. */
  private readonly repairs = new Set<() => void>();
  private readonly onReady = () => {
    // ioredis resubscribes right after 'ready'; a PING on the same connection answers once those
    // SUBSCRIBEs are done, so the read of kept updates cannot miss a message published between.
    setImmediate(() => {
      this.channels.subscriber
        .ping()
        .then(() => {
          for (const repair of this.repairs) repair();
        })
        .catch((err: unknown) => this.log.warn({ err }, 'order update streams not repaired after reconnect'));
    });
  };

  constructor(
    private readonly channels: ChannelSubscriber,
    private readonly store: TradingStore,
    private readonly log: Logger,
  ) {
    this.fanout = new ChannelFanout(channels, decodeUpdate, log);
    channels.subscriber.on('ready', this.onReady);
  }

  close(): void {
    this.channels.subscriber.off('ready', this.onReady);
  }

  stream(
    clientId: string,
    sessionId: string,
    options: { afterSeq: number | null; queueMax: number; overflowError: () => Error },
  ): Repeater<OrderUpdate> {
    const channel = sessionUpdatesChannel(clientId, sessionId);
    // Seqs at or below it came before the stream: the client's afterSeq, else the session's
    // seq when the stream started listening.
    let floor = options.afterSeq ?? 0;
    const source = boundedStream<StreamItem>(
      async (push) => {
        const repair = () => push({ repair: true });
        this.repairs.add(repair);
        try {
          const unlisten = await this.fanout.listen(channel, (update) => push({ update }));
          return () => {
            this.repairs.delete(repair);
            unlisten();
          };
        } catch (error) {
          this.repairs.delete(repair);
          throw error;
        }
      },
      {
        queueMax: options.queueMax,
        overflowError: options.overflowError,
        initial: async () => {
          if (options.afterSeq === null) {
            floor = (await this.store.readSession(clientId, sessionId))?.seq ?? 0;
            return [];
          }
          const kept = await this.store.readUpdatesAfter(clientId, sessionId, options.afterSeq);
          return kept.map((update) => ({ update }));
        },
      },
    );
    return new Repeater<OrderUpdate>(async (push, stop) => {
      /** The last seq sent; null until the first (when the client gave no afterSeq). */
      let last: number | null = options.afterSeq;
      const send = async (update: OrderUpdate) => {
        if (last !== null && update.seq <= last) return;
        last = update.seq;
        await push(update);
      };
      /** Sends the kept updates after the last one sent (or after the floor). */
      const catchUp = async () => {
        const after = last ?? floor;
        const kept = await this.store.readUpdatesAfter(clientId, sessionId, after);
        if (kept.length > 0 && kept[0]!.seq > after + 1) {
          this.log.warn(
            { sessionId, after, first: kept[0]!.seq },
            'order updates no longer kept: gap not repaired',
          );
        }
        for (const update of kept) await send(update);
      };
      const iterator = source[Symbol.asyncIterator]();
      void stop.then(() => iterator.return?.());
      try {
        for (;;) {
          const next = await Promise.race([iterator.next(), stop.then(() => null)]);
          if (!next || next.done) break;
          const item = next.value;
          if ('repair' in item) {
            await catchUp();
            continue;
          }
          // Past the next seq: something was published that never arrived here.
          if (item.update.seq > (last ?? floor) + 1) await catchUp();
          await send(item.update);
        }
      } finally {
        await iterator.return?.();
        stop();
      }
    });
  }
}
