import type { Socket } from 'node:net';
import { type BackpressureLimits, SlowSubscriberGuard } from './slow-subscriber.ts';

/** What the push path needs of a ws WebSocket (the server side of one graphql-ws connection). */
export interface PushSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code: number, reason: string): void;
  once(event: 'close', listener: () => void): unknown;
}

/** ws's `WebSocket.OPEN`. */
const OPEN = 1;

/** How often a socket with unsent bytes or held messages is looked at. */
const WATCH_MS = 100;

/** One subscription of a connection as the connection sees it: its frames and its held queue. */
export interface PushSubscriber {
  /** Writes what the subscriber held while the socket was full (the socket has room again). */
  resume(): void;
  /** The connection was cut (slow subscriber): detach from the view, release, end the stream. */
  end(): void;
}

export interface PushConnectionOptions {
  limits: BackpressureLimits;
  now: () => number;
  /** Called once when the socket is closed for being too slow (1013). */
  onSlowDisconnect?: () => void;
  /** Called at each flush with the number of frames written, by message type. */
  onFlush?: (sentByType: Map<string, number>) => void;
}

/**
 * The write side of one WebSocket for every push-path subscription on it (see push-frames.ts in
 * src/server for the seam with graphql-ws). Frames written in one tick go out in one corked
 * write (one `writev`), after the view has handed its event to every subscriber. While the
 * socket holds more than `maxBufferedBytes` unsent, subscribers keep their messages in their own
 * conflating queues (`room()` says `hold`); the connection resumes them when the socket drains.
 * A socket that makes no progress for `disconnectAfterMs` is closed with 1013.
 * One timer per connection, and only while it has unsent bytes or held messages.
 */
export class PushConnection {
  private frames: string[] = [];
  private readonly sentByType = new Map<string, number>();
  private scheduled = false;
  /** `room()` of this tick, looked up once per tick. */
  private tickRoom: 'send' | 'hold' | 'closed' | undefined;
  private readonly subscribers = new Set<PushSubscriber>();
  private readonly waiting = new Set<PushSubscriber>();
  private readonly guard: SlowSubscriberGuard;
  private watchTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly flushNow = () => this.flush();
  private readonly onDrain = () => this.watch();

  constructor(
    private readonly socket: PushSocket,
    private readonly options: PushConnectionOptions,
  ) {
    this.guard = new SlowSubscriberGuard(
      {
        bufferedBytes: () => socket.bufferedAmount,
        close: (code, reason) => this.closeSlow(code, reason),
      },
      options.limits,
      options.now,
      options.onSlowDisconnect,
    );
    socket.once('close', () => this.dispose());
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  add(subscriber: PushSubscriber): void {
    this.subscribers.add(subscriber);
  }

  remove(subscriber: PushSubscriber): void {
    this.subscribers.delete(subscriber);
    this.waiting.delete(subscriber);
  }

  /** `send` when a frame may be written now, `hold` while the socket drains, `closed` once cut. */
  room(): 'send' | 'hold' | 'closed' {
    if (this.closed) return 'closed';
    if (this.tickRoom !== undefined) return this.tickRoom;
    const room = this.socket.readyState === OPEN ? this.guard.check() : 'closed';
    this.tickRoom = room;
    if (!this.scheduled) this.schedule();
    if (room === 'hold') this.startWatch();
    return room;
  }

  /** Queues a frame for this tick's write. Call only after `room()` said `send`. */
  write(frame: string, type: string): void {
    this.frames.push(frame);
    this.sentByType.set(type, (this.sentByType.get(type) ?? 0) + 1);
    if (!this.scheduled) this.schedule();
  }

  /** A subscriber holding messages until the socket drains. */
  wait(subscriber: PushSubscriber): void {
    this.waiting.add(subscriber);
    this.startWatch();
  }

  /** Writes what is queued now (a subscriber ending flushes first, so nothing of it follows its `complete`). */
  flush(): void {
    this.scheduled = false;
    this.tickRoom = undefined;
    const frames = this.frames;
    if (frames.length === 0) return;
    this.frames = [];
    if (this.socket.readyState !== OPEN) return;
    const raw = rawSocket(this.socket);
    raw?.cork();
    for (const frame of frames) this.socket.send(frame);
    raw?.uncork();
    this.options.onFlush?.(this.sentByType);
    this.sentByType.clear();
    if (this.socket.bufferedAmount > 0) this.startWatch();
  }

  private schedule(): void {
    this.scheduled = true;
    process.nextTick(this.flushNow);
  }

  private startWatch(): void {
    if (this.watchTimer || this.closed) return;
    this.watchTimer = setInterval(() => this.watch(), WATCH_MS);
    this.watchTimer.unref();
    // Resume as soon as Node's buffer empties, not at the next look.
    rawSocket(this.socket)?.once('drain', this.onDrain);
  }

  private stopWatch(): void {
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.watchTimer = undefined;
    rawSocket(this.socket)?.off('drain', this.onDrain);
  }

  private watch(): void {
    const room = this.room();
    if (room === 'closed') return;
    if (room === 'send' && this.waiting.size > 0) {
      const waiting = [...this.waiting];
      this.waiting.clear();
      for (const subscriber of waiting) subscriber.resume();
    }
    if (this.waiting.size === 0 && this.socket.bufferedAmount === 0) this.stopWatch();
  }

  /**
   * Closes a socket that stopped reading with 1013. What it holds unsent stays ahead of the close
   * frame (TCP is a stream; Node offers no way to drop queued writes), but the push path never
   * lets Node's share grow much past `maxBufferedBytes` (it holds instead of writing), so a client
   * that reads again soon gets the 1013 right after its kernel buffers. One that does not is cut
   * by ws when its close handshake times out (30 s), and then sees 1006.
   */
  private closeSlow(code: number, reason: string): boolean {
    if (this.closed || this.socket.readyState !== OPEN) return false;
    this.socket.close(code, reason);
    this.dispose();
    return true;
  }

  private dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopWatch();
    this.frames = [];
    this.waiting.clear();
    const subscribers = [...this.subscribers];
    this.subscribers.clear();
    for (const subscriber of subscribers) subscriber.end();
  }
}

function rawSocket(socket: PushSocket): Socket | undefined {
  return (socket as { _socket?: Socket })._socket ?? undefined;
}
