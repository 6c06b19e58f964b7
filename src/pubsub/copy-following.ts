import type { Logger } from 'pino';
import type { CopyLease } from './book-hub.ts';
import type { ChannelFanout } from './channel-fanout.ts';

export interface CopyFollowing<T> {
  lease: CopyLease;
  fanout: ChannelFanout<T>;
  /** The channel of a region's copy (tradeChannel, candleChannel). */
  channelOf: (region: string) => string;
  /** Each message of the copy served, with the region of the channel it came from. */
  listener: (value: T, region: string) => void;
  /**
   * Runs at each switch of copy, after the old copy's channel was left and before the new one is
   * listened to: nothing of the old copy arrives after it, nothing of the new one before it.
   */
  onMove: (region: string) => void;
  /** Runs once the new copy's channel is subscribed (to read its current state). */
  onMoved?: (region: string) => Promise<void> | void;
  /**
   * The new copy's channel could not be subscribed (or its state read): the stream must end
   * (with a retryable error) rather than go on silently with no copy.
   */
  fail: (error: Error) => void;
  log: Logger;
}

/**
 * Listens to the channel of the copy a book is served from, and moves to the new copy's channel
 * when the book switches region (its own copy went stale, or came back): a trade or candle stream
 * then never stops silently with a dead copy, and never mixes two copies' messages. Moves run one
 * at a time, in order. Returns the function that stops listening and releases the lease.
 */
export async function followCopyChannel<T>(options: CopyFollowing<T>): Promise<() => void> {
  const { lease, fanout, channelOf, listener, onMove, onMoved, fail, log } = options;
  const listen = (region: string) => fanout.listen(channelOf(region), (value) => listener(value, region));
  let region = lease.region;
  let stop: () => void = () => {};
  let ended = false;
  // Listening to the first copy and each move are one chain, the switch listener registered
  // before anything is awaited: a switch while the first SUBSCRIBE is in flight is not missed.
  let moves = listen(region).then((first) => {
    stop = first;
  });
  const offSwitch = lease.onSwitch((next) => {
    moves = moves.then(async () => {
      if (ended || next === region) return;
      stop();
      stop = () => {};
      region = next;
      onMove(next);
      try {
        const stopNext = await listen(next);
        if (ended) {
          stopNext();
          return;
        }
        stop = stopNext;
        await onMoved?.(next);
      } catch (err) {
        log.warn({ err, channel: channelOf(next) }, 'could not follow the new copy');
        fail(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
  try {
    await moves;
  } catch (error) {
    offSwitch();
    lease.release();
    throw error;
  }
  return () => {
    if (ended) return;
    ended = true;
    offSwitch();
    stop();
    lease.release();
  };
}
