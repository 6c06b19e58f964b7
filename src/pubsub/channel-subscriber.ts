import { RedisPubSub } from 'graphql-redis-subscriptions';
import { isCluster, type RedisClient } from '../redis/connection.ts';

interface ShardChannel {
  listeners: Set<(raw: string) => void>;
  /** The SSUBSCRIBE (or, after the last listener left, the SUNSUBSCRIBE) in flight. */
  pending: Promise<unknown>;
}

/**
 * The process's single Redis subscriber connection, through graphql-redis-subscriptions: channels
 * are ref-counted (SUBSCRIBE on the first listener, UNSUBSCRIBE after the last) and concurrent
 * subscribes to one channel share the in-flight SUBSCRIBE. Payloads are handed over raw; each
 * consumer decodes once (one listener per book, however many GraphQL subscribers it has).
 *
 * On a Redis Cluster, book channels are sharded (`listenSharded`): SSUBSCRIBE on the shard that
 * owns the book's hash tag, matching the SPUBLISH of the write script, so book traffic does not
 * cross the cluster bus. Elsewhere (one server, Sentinel, Active-Active) they are plain channels.
 */
export class ChannelSubscriber {
  private readonly pubsub: RedisPubSub;
  private readonly shardChannels = new Map<string, ShardChannel>();
  /** Set by `close()`: the connection is about to close, and takes its subscriptions with it. */
  private closed = false;
  /** Whether book channels are sharded: the writer SPUBLISHes exactly when it talks to a Cluster too. */
  readonly sharded: boolean;

  constructor(
    readonly subscriber: RedisClient,
    publisher: RedisClient,
  ) {
    this.pubsub = new RedisPubSub({
      subscriber,
      publisher,
      deserializer: (raw: string | Buffer) => (typeof raw === 'string' ? raw : raw.toString('utf8')),
    });
    this.sharded = isCluster(subscriber);
    if (this.sharded) {
      subscriber.on('smessage', (channel: string, message: string) => {
        for (const listener of this.shardChannels.get(channel)?.listeners ?? []) listener(message);
      });
    }
  }

  /** Resolves once Redis confirmed the SUBSCRIBE; returns the function that ends the listening. */
  async listen(channel: string, onMessage: (raw: string) => void): Promise<() => void> {
    // graphql-redis-subscriptions leaves a failed SUBSCRIBE's shared promise unhandled too: on a
    // connection that is closed (or closing, after `close()`) nothing is sent; the caller gets
    // the error ioredis would give (a retryable outage for isRedisUnavailable).
    if (this.closed || this.subscriber.status === 'end') throw new Error('Connection is closed.');
    const id = await this.pubsub.subscribe<string>(channel, onMessage);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      // graphql-redis-subscriptions sends UNSUBSCRIBE and PUNSUBSCRIBE without handling their
      // promises: after shutdown closed the connection they reject ("Connection is closed."),
      // unhandled. A closed connection holds no subscriptions: nothing to send then.
      if (this.closed || this.subscriber.status === 'end') return;
      this.pubsub.unsubscribe(id);
    };
  }

  /**
   * Called by shutdown before the connections close: listeners ending later (streams finishing
   * after the drain) send nothing more on a connection that is going away.
   */
  close(): void {
    this.closed = true;
  }

  /**
   * `listen` for a channel that is sharded on a Cluster (a book's channel, carrying its hash tag):
   * SSUBSCRIBE on its shard there, a plain SUBSCRIBE elsewhere. Ref-counted like `listen`.
   */
  async listenSharded(channel: string, onMessage: (raw: string) => void): Promise<() => void> {
    if (!this.sharded) return this.listen(channel, onMessage);
    const subscriber = this.subscriber;
    let entry = this.shardChannels.get(channel);
    if (!entry) {
      entry = { listeners: new Set(), pending: Promise.resolve() };
      this.shardChannels.set(channel, entry);
    }
    const current = entry;
    const first = current.listeners.size === 0;
    current.listeners.add(onMessage);
    // Chained after an UNSUBSCRIBE of the same channel still in flight, so the two cannot cross.
    if (first) current.pending = current.pending.catch(() => {}).then(() => subscriber.ssubscribe(channel));
    try {
      await current.pending;
    } catch (error) {
      current.listeners.delete(onMessage);
      throw error;
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      current.listeners.delete(onMessage);
      if (current.listeners.size > 0) return;
      current.pending = current.pending
        .catch(() => {})
        .then(() => (current.listeners.size === 0 ? subscriber.sunsubscribe(channel) : undefined))
        .catch(() => {})
        .then(() => {
          if (current.listeners.size === 0 && this.shardChannels.get(channel) === current) {
            this.shardChannels.delete(channel);
          }
        });
    };
  }
}
