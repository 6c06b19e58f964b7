/** The socket a subscription is sent on, as far as back-pressure needs it. */
export interface SubscriberTransport {
  /** Bytes accepted for sending but not yet written to the network (ws `bufferedAmount`). */
  bufferedBytes(): number;
  /** Closes the socket; false if it was already closing (another stream on it got there first). */
  close(code: number, reason: string): boolean;
}

export interface BackpressureLimits {
  /** Bytes a socket may hold unsent before its book streams hold their messages. @default 1 MiB */
  maxBufferedBytes: number;
  /** How long a socket may go without draining before it is closed. @default 10000 */
  disconnectAfterMs: number;
}

/** RFC 6455 "Try Again Later": the client should reconnect, after a pause. */
export const SLOW_SUBSCRIBER_CLOSE_CODE = 1013;

/** How often a watched socket is looked at. */
const WATCH_MS = 100;

/**
 * The second bound on a slow subscriber (the first is each stream's conflating queue). graphql-ws
 * waits for each message to be handed to the network before it takes the next, so a client that
 * stops reading stalls its subscriptions (their queues conflate, memory stays bounded) but keeps
 * its socket and its server-side state forever. A socket whose send buffer makes no progress
 * (neither empties nor shrinks) for `disconnectAfterMs` is closed with 1013, so the client
 * reconnects and starts from a fresh snapshot. While the buffer is over `maxBufferedBytes`,
 * streams hold their messages.
 */
export class SlowSubscriberGuard {
  private lastProgressAt: number;
  private lastBuffered = 0;
  private closed = false;

  constructor(
    private readonly transport: SubscriberTransport,
    private readonly limits: BackpressureLimits,
    private readonly now: () => number = Date.now,
    private readonly onDisconnect?: () => void,
  ) {
    this.lastProgressAt = now();
  }

  /** `send` when the socket has room, `hold` while it drains, `closed` once it was cut. */
  check(): 'send' | 'hold' | 'closed' {
    if (this.closed) return 'closed';
    const buffered = this.transport.bufferedBytes();
    const now = this.now();
    // Progress: the buffer emptied or shrank. And the stall clock starts when bytes first wait
    // (`lastBuffered` 0): a guard made long before its first write (an SSE stream whose
    // subscription took seconds to start on a busy server) must not count that time as a stall.
    if (buffered === 0 || buffered < this.lastBuffered || this.lastBuffered === 0) this.lastProgressAt = now;
    this.lastBuffered = buffered;
    if (now - this.lastProgressAt >= this.limits.disconnectAfterMs) {
      this.closed = true;
      if (this.transport.close(SLOW_SUBSCRIBER_CLOSE_CODE, 'Subscriber too slow: reconnect'))
        this.onDisconnect?.();
      return 'closed';
    }
    return buffered > this.limits.maxBufferedBytes ? 'hold' : 'send';
  }

  /** Looks at the socket periodically while a stream is open; returns the function that stops. */
  watch(): () => void {
    const timer = setInterval(() => {
      if (this.check() === 'closed') clearInterval(timer);
    }, WATCH_MS);
    timer.unref();
    return () => clearInterval(timer);
  }
}
