import { RedisPubSub } from 'graphql-redis-subscriptions';
import type { Redis } from 'ioredis';

/**
 * The process's single Redis subscriber connection, through graphql-redis-subscriptions: channels
 * are ref-counted (SUBSCRIBE on the first listener, UNSUBSCRIBE after the last) and concurrent
 * subscribes to one channel share the in-flight SUBSCRIBE. Payloads are handed over raw; each
 * consumer decodes once (one listener per book, however many GraphQL subscribers it has).
 */
export class ChannelSubscriber {
  private readonly pubsub: RedisPubSub;

  constructor(
    readonly subscriber: Redis,
    publisher: Redis,
  ) {
    this.pubsub = new RedisPubSub({
      subscriber,
      publisher,
      deserializer: (raw: string | Buffer) => (typeof raw === 'string' ? raw : raw.toString('utf8')),
    });
  }

  /** Resolves once Redis confirmed the SUBSCRIBE; returns the function that ends the listening. */
  async listen(channel: string, onMessage: (raw: string) => void): Promise<() => void> {
    const id = await this.pubsub.subscribe<string>(channel, onMessage);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.pubsub.unsubscribe(id);
    };
  }
}
