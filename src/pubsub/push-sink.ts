import type { ViewLease } from './book-hub.ts';
import type { BookUpdate } from './depth-view.ts';
import type { PushConnection, PushSubscriber } from './push-connection.ts';

/** Where a push-path subscription's messages go: its connection, and its graphql-ws frame. */
export interface PushTarget {
  readonly connection: PushConnection;
  /**
   * The whole graphql-ws `next` message of this subscription for one view message: the shared
   * execution result of (event, operation), serialised once, between this id's prefix and `}`.
   */
  frame(update: BookUpdate): string;
  /** The resolver serves the subscription through this target (a PushSink was made for it). */
  claim(): void;
  /** Whether `claim()` was called: the transport writes this subscription's frames itself. */
  readonly claimed: boolean;
}

const DONE: IteratorResult<never> = { done: true, value: undefined };
const IDLE = 0;
const STARTED = 1;
const ENDED = 2;

/**
 * One push-path subscription, as graphql-ws sees it: an async iterator that yields nothing and
 * ends when the subscription does. graphql-ws keeps owning the operation (its id, `complete` from
 * either side, duplicate ids, the socket's close), while the messages go from the view straight
 * to the socket. The sink starts on the first `next()` (graphql-ws's `for await` begins once the
 * operation is registered under its id), and `return()` (client `complete`, socket closed) or a
 * cut connection detach it from its view and release its lease, once.
 */
export abstract class PushSink implements AsyncIterableIterator<never>, PushSubscriber {
  private state = IDLE;
  private wake: ((result: IteratorResult<never>) => void) | undefined;
  private onEnd: (() => void) | undefined;

  constructor(
    protected readonly lease: ViewLease,
    protected readonly target: PushTarget,
  ) {
    target.claim();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<never>> {
    if (this.state === ENDED) return Promise.resolve(DONE);
    if (this.state === IDLE) {
      this.state = STARTED;
      this.target.connection.add(this);
      this.start();
    }
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  return(): Promise<IteratorResult<never>> {
    this.end();
    return Promise.resolve(DONE);
  }

  throw(error: unknown): Promise<IteratorResult<never>> {
    this.end();
    return Promise.reject(error);
  }

  end(): void {
    if (this.state === ENDED) return;
    const started = this.state === STARTED;
    this.state = ENDED;
    if (started) {
      this.stop();
      this.target.connection.remove(this);
      // Whatever this subscription queued goes out before graphql-ws can say `complete`.
      this.target.connection.flush();
    }
    this.lease.release();
    const onEnd = this.onEnd;
    this.onEnd = undefined;
    onEnd?.();
    const wake = this.wake;
    this.wake = undefined;
    wake?.(DONE);
  }

  /** Runs `callback` once when the subscription ends (now, if it has). One per sink. */
  whenEnded(callback: () => void): void {
    if (this.state === ENDED) callback();
    else this.onEnd = callback;
  }

  get ended(): boolean {
    return this.state === ENDED;
  }

  /** Attaches to the view and sends the first message. */
  protected abstract start(): void;
  /** Detaches from the view. */
  protected abstract stop(): void;
  abstract resume(): void;

  /**
   * Writes one message in this tick's write if the socket has room; says whether it did (`send`)
   * or why not. `type` labels the message in `bookgraph_messages_sent_total`.
   */
  protected write(update: BookUpdate, type: string = update.type): 'send' | 'hold' | 'closed' {
    const connection = this.target.connection;
    const room = connection.room();
    if (room === 'send') connection.write(this.target.frame(update), type);
    return room;
  }
}
