import { Repeater } from '@repeaterjs/repeater';
import type { Logger } from 'pino';
import type { Decoded } from '../wire/codec.ts';
import type { ChannelSubscriber } from './channel-subscriber.ts';

interface Topic<T> {
  listeners: Set<(value: T) => void>;
  stop: Promise<() => void>;
}

/**
 * One listener per channel on the process's ChannelSubscriber, however many subscribers: each
 * message is decoded once and handed to every listener in JS. The channel is unsubscribed when
 * its last listener leaves.
 */
export class ChannelFanout<T> {
  private readonly topics = new Map<string, Topic<T>>();

  constructor(
    private readonly channels: ChannelSubscriber,
    private readonly decode: (raw: string) => Decoded<T>,
    private readonly log: Logger,
  ) {}

  /** Number of channels listened to (tests, metrics). */
  get size(): number {
    return this.topics.size;
  }

  /** Resolves once the channel is subscribed; returns the function that ends this listener. */
  async listen(channel: string, listener: (value: T) => void): Promise<() => void> {
    let topic = this.topics.get(channel);
    if (!topic) {
      const listeners = new Set<(value: T) => void>();
      const stop = this.channels.listen(channel, (raw) => {
        const decoded = this.decode(raw);
        if (!decoded.ok) {
          this.log.warn({ channel, error: decoded.error }, 'undecodable message');
          return;
        }
        for (const l of [...listeners]) l(decoded.value);
      });
      topic = { listeners, stop };
      this.topics.set(channel, topic);
    }
    const current = topic;
    current.listeners.add(listener);
    try {
      await current.stop;
    } catch (error) {
      this.remove(channel, current, listener);
      throw error;
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.remove(channel, current, listener);
    };
  }

  private remove(channel: string, topic: Topic<T>, listener: (value: T) => void): void {
    topic.listeners.delete(listener);
    if (topic.listeners.size > 0) return;
    if (this.topics.get(channel) === topic) this.topics.delete(channel);
    topic.stop.then(
      (stop) => stop(),
      () => {},
    );
  }
}

/** Thrown into a stream whose subscriber fell more than `queueMax` messages behind. */
export class SlowSubscriberError extends Error {
  override readonly name = 'SlowSubscriberError';
}

export interface BoundedStreamOptions<T> {
  /** Messages queued for the subscriber before it is cut off. @default 1000 */
  queueMax?: number;
  /** Messages to send first, once listening (a current state read after subscribing). */
  initial?: () => Promise<readonly T[]> | readonly T[];
  /** Runs when the stream ends, however it ends. */
  onEnd?: () => void;
  /** The error ending a stream whose queue overflowed. @default SlowSubscriberError */
  overflowError?: () => Error;
}

/**
 * A subscriber's stream over a listener registration: listen first, then send `initial`, then
 * every message in order. The queue is bounded; a subscriber that falls `queueMax` behind is
 * ended with an error rather than allowed to grow memory (a trade stream cannot be conflated).
 * `listen` may end the stream with an error of its own (`fail`), which drops what is queued.
 */
export function boundedStream<T>(
  listen: (push: (value: T) => void, fail: (error: Error) => void) => Promise<() => void>,
  options: BoundedStreamOptions<T> = {},
): Repeater<T> {
  const queueMax = options.queueMax ?? 1_000;
  return new Repeater<T>(async (push, stop) => {
    let queue: T[] = [];
    let wake: (() => void) | undefined;
    let stopped = false;
    let unlisten: (() => void) | undefined;
    /** Ends the stream with `error`, dropping what is queued. */
    const fail = (error: Error) => {
      if (stopped) return;
      stopped = true;
      queue = [];
      stop(error);
      wake?.();
    };
    try {
      unlisten = await listen((value) => {
        if (stopped) return;
        if (queue.length >= queueMax) {
          fail(options.overflowError?.() ?? new SlowSubscriberError('subscriber too slow'));
          return;
        }
        queue.push(value);
        wake?.();
      }, fail);
      const first = options.initial ? await options.initial() : [];
      queue = [...first, ...queue];
      void stop.then(() => {
        stopped = true;
        wake?.();
      });
      while (!stopped) {
        const next = queue.shift();
        if (next !== undefined) {
          await push(next);
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      unlisten?.();
      options.onEnd?.();
    }
  });
}
