import type { BookgraphClient } from '../client.js';
import { BookgraphError, describeError } from '../errors.js';
import { backoffDelay, resolveRetry, sleep } from '../retry.js';
import { Emitter } from './emitter.js';
import { Latest } from './latest.js';

/**
 * What one message did to the watch: `healthy` shows the stream works (the backoff starts over),
 * `applied` is taken without saying so, and `gap` means the message does not continue the book:
 * the stream is left and subscribed again.
 */
export type MessageOutcome = 'healthy' | 'applied' | 'gap';

/** Every watch can end with an error. */
export interface WatchErrorEvents {
  error: (error: BookgraphError) => void;
}

/**
 * The plumbing of a watch over one subscription: subscribes, hands every message to the watch,
 * subscribes again with backoff when the stream ends or the watch sees a gap, tracks the
 * connection, and serves `current`, `ready`, `on`, iteration (the latest value) and `close`.
 * A subclass sets its own fields, then calls `start`.
 */
export abstract class SubscriptionWatch<
  Value,
  Message,
  Events extends WatchErrorEvents & { [E in keyof Events]: (...args: never[]) => void },
> implements AsyncIterable<Value>
{
  /** The value now; undefined before the first one (or after the watch dropped it). */
  protected value: Value | undefined;
  /** False while the subscription connection is down. */
  protected connected = true;
  protected readonly latest = new Latest<Value>();
  protected readonly events = new Emitter<Events>();
  /** Times the stream ended (or showed a gap) and the watch subscribed again. */
  resubscriptions = 0;
  private closing = false;
  private active: AsyncIterableIterator<Message> | undefined;
  private stopListening: () => void = () => {};
  private done: Promise<void> = Promise.resolve();

  constructor(protected readonly client: BookgraphClient) {}

  /** Opens the subscription, the first time and every time again. */
  protected abstract subscribe(): AsyncIterableIterator<Message>;

  /** Takes one message of the stream. */
  protected abstract handle(message: Message): MessageOutcome;

  /** The subscription connection went down or came back (`connected` is already updated). */
  protected connectionChanged(_connected: boolean): void {}

  /** The stream ended without a gap; the watch is about to subscribe again. */
  protected streamEnded(): void {}

  /** Follows the subscription until closed, aborted or failed. */
  protected start(signal: AbortSignal | undefined): void {
    this.stopListening = this.client.onConnectionChange((connected) => {
      // Changes only: each failed reconnection try closes again, which is no news.
      if (connected === this.connected) return;
      this.connected = connected;
      this.connectionChanged(connected);
    });
    signal?.addEventListener('abort', () => void this.close(), { once: true });
    this.done = this.run();
  }

  current(): Value | undefined {
    return this.value;
  }

  ready(): Promise<Value> {
    if (this.value) return Promise.resolve(this.value);
    const iterator = this.latest.iterate();
    return iterator.next().then((result) => {
      void iterator.return?.();
      if (result.done) {
        throw new BookgraphError('the watch closed before a book arrived', { code: 'CONNECTION_CLOSED' });
      }
      return result.value;
    });
  }

  on<E extends keyof Events>(event: E, listener: Events[E]): () => void {
    return this.events.on(event, listener);
  }

  [Symbol.asyncIterator](): AsyncIterator<Value> {
    return this.latest.iterate();
  }

  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      this.stopListening();
      await this.active?.return?.();
    }
    await this.done;
  }

  private async run(): Promise<void> {
    const backoff = resolveRetry();
    let failures = 0;
    while (!this.closing) {
      const stream = this.subscribe();
      this.active = stream;
      let gap = false;
      try {
        for await (const message of stream) {
          if (this.closing) break;
          const outcome = this.handle(message);
          if (outcome === 'gap') {
            gap = true;
            break;
          }
          if (outcome === 'healthy') failures = 0;
        }
      } catch (error) {
        if (this.closing) break;
        const failure =
          error instanceof BookgraphError
            ? error
            : new BookgraphError(describeError(error), { code: 'UNEXPECTED', cause: error });
        // The server could not reach its Redis just then: a passing condition, subscribe again.
        if (failure.code === 'UNAVAILABLE') {
          this.resubscriptions += 1;
          this.streamEnded();
          await sleep(backoffDelay(backoff, failures));
          failures += 1;
          continue;
        }
        // Events has this `error` (the constraint says so); TypeScript cannot see it through a generic.
        (this.events as unknown as Emitter<WatchErrorEvents>).emit('error', failure);
        this.latest.end(failure);
        this.stopListening();
        this.closing = true;
        return;
      }
      if (this.closing) break;
      // The server ended the stream (a drain without graphql-ws retry, say), or the watch saw a
      // gap: subscribe again. A first gap resubscribes at once; gaps or ends in a row back off.
      this.resubscriptions += 1;
      if (!gap) this.streamEnded();
      if (!gap || failures > 0) await sleep(backoffDelay(backoff, failures));
      failures += 1;
    }
    this.latest.end();
  }
}
