import { compareDecimal } from './book/decimal.js';
import { Emitter } from './book/emitter.js';
import type { BookgraphClient } from './client.js';
import { BookgraphError } from './errors.js';
import {
  OrderUpdatesDocument,
  type OrderUpdatesSubscription,
  SessionDocument,
  type SessionQuery,
} from './generated/graphql.js';
import { backoffDelay, resolveRetry, sleep } from './retry.js';
import { isFinalStatus, listOrders, type TradingFill, type TradingOrder } from './trading.js';

/** One `orderUpdates` message as the SDK's operation selects it. */
export type OrderUpdate = OrderUpdatesSubscription['orderUpdates'];

/** An order held by the follower: its latest state and the fills seen for it, oldest first. */
export type FollowedOrder = TradingOrder & { fills: readonly TradingFill[] };

/** The session as `Query.session` returned it at the last resynchronisation. */
export type FollowedSession = Omit<SessionQuery['session'], 'orders' | 'fills'>;

/** Why the follower read the session again instead of applying updates. */
export type OrdersResyncReason =
  /** The first read, when the follower starts. */
  | 'START'
  /** A seq gap that a replay (`afterSeq`) could not fill: the updates are no longer kept. */
  | 'GAP';

export interface OrderFollowerEvents {
  /** Every update applied, in seq order (seq grows by one each time), with the order after it. */
  update: (update: OrderUpdate, order: FollowedOrder) => void;
  /** A message whose seq does not follow the last applied one; the follower recovers by itself. */
  gap: (gap: { expected: number; received: number }) => void;
  /** The orders were (re)read from `Query.session`; `seq` is its `lastSeq`. */
  resync: (reason: OrdersResyncReason, seq: number) => void;
  /** The follower ended with an error (e.g. SESSION_NOT_FOUND, or the connection lost for good). */
  error: (error: BookgraphError) => void;
}

export interface FollowOrdersOptions {
  sessionId: string;
  /** Orders per page when (re)reading the session. @default 100 */
  pageSize?: number;
  /** Fills read with the session when (re)reading it (the session keeps its last 10000). @default 1000 */
  fills?: number;
  /** Closes the follower when aborted. */
  signal?: AbortSignal;
}

export interface OrderFollower extends AsyncIterable<OrderUpdate> {
  readonly sessionId: string;
  /** The seq of the last update applied (or of the session read), 0 before the first read. */
  readonly seq: number;
  /** Seq gaps seen, and resynchronisations from `Query.session` after the first read. */
  readonly gaps: number;
  readonly resyncs: number;
  /** The session as last read (balances and positions are not updated by order updates). */
  session(): FollowedSession | undefined;
  /** Every order of the session, newest first. */
  orders(): FollowedOrder[];
  order(id: string): FollowedOrder | undefined;
  /** Every fill seen, oldest first. */
  fills(): TradingFill[];
  /**
   * Resolves once the session was read and `orderUpdates` was subscribed after its `lastSeq`: from
   * then on no update is missed (the server replays the kept ones after `afterSeq`). Rejects if the
   * first read fails (e.g. SESSION_NOT_FOUND).
   */
  ready(): Promise<void>;
  /**
   * Resolves with the order once `predicate` holds for it (checked now and after every update),
   * e.g. `(o) => o.status === 'FILLED'`. Rejects if the follower ends first or `signal` aborts.
   */
  waitForOrder(
    id: string,
    predicate: (order: FollowedOrder) => boolean,
    options?: { signal?: AbortSignal },
  ): Promise<FollowedOrder>;
  on<E extends keyof OrderFollowerEvents>(event: E, listener: OrderFollowerEvents[E]): () => void;
  /** Unsubscribes; iterators end. */
  close(): Promise<void>;
}

/**
 * Follows the orders of a session: reads `Query.session` (every order page, and its fills), then
 * subscribes to `orderUpdates(sessionId, afterSeq: lastSeq)` and applies every update in seq
 * order. `seq` grows by one per message of the session, so a message that does not follow the
 * last one applied is a gap: the follower resubscribes with `afterSeq` set to the last seq it
 * applied and the server replays the missed updates from the ones it keeps; if those no longer
 * reach back far enough, it reads the session again (`resync`) and resubscribes after its
 * `lastSeq`. A lost connection or an ended stream resubscribes the same way. Iterating the
 * follower yields every update applied from the moment the loop starts.
 */
export function followOrders(client: BookgraphClient, options: FollowOrdersOptions): OrderFollower {
  return new Follower(client, options);
}

/** Pending items of one iterator over the updates. */
interface Queue {
  items: OrderUpdate[];
  wake: (() => void) | undefined;
}

class Follower implements OrderFollower {
  readonly sessionId: string;
  seq = 0;
  gaps = 0;
  resyncs = 0;
  private sessionState: FollowedSession | undefined;
  private readonly byId = new Map<string, FollowedOrder>();
  private readonly fillList: TradingFill[] = [];
  private readonly fillIds = new Set<string>();
  private readonly events = new Emitter<OrderFollowerEvents>();
  private readonly queues = new Set<Queue>();
  private readonly endListeners = new Set<() => void>();
  private closing = false;
  private failure: BookgraphError | undefined;
  private active: AsyncIterableIterator<OrderUpdatesSubscription> | undefined;
  private readonly opened: Promise<void>;
  private markOpened: () => void = () => {};
  private failOpened: (error: unknown) => void = () => {};
  private readonly done: Promise<void>;

  constructor(
    private readonly client: BookgraphClient,
    private readonly options: FollowOrdersOptions,
  ) {
    this.sessionId = options.sessionId;
    this.opened = new Promise<void>((resolve, reject) => {
      this.markOpened = resolve;
      this.failOpened = reject;
    });
    this.opened.catch(() => {});
    options.signal?.addEventListener('abort', () => void this.close(), { once: true });
    this.done = this.run();
  }

  session(): FollowedSession | undefined {
    return this.sessionState;
  }

  orders(): FollowedOrder[] {
    return [...this.byId.values()].sort(
      (a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
    );
  }

  order(id: string): FollowedOrder | undefined {
    return this.byId.get(id);
  }

  fills(): TradingFill[] {
    return [...this.fillList];
  }

  ready(): Promise<void> {
    return this.opened;
  }

  on<E extends keyof OrderFollowerEvents>(event: E, listener: OrderFollowerEvents[E]): () => void {
    return this.events.on(event, listener);
  }

  waitForOrder(
    id: string,
    predicate: (order: FollowedOrder) => boolean,
    options: { signal?: AbortSignal } = {},
  ): Promise<FollowedOrder> {
    return new Promise((resolve, reject) => {
      const cleanups: (() => void)[] = [];
      const finish = (fn: () => void) => {
        for (const cleanup of cleanups) cleanup();
        fn();
      };
      const check = () => {
        const order = this.byId.get(id);
        if (order && predicate(order)) finish(() => resolve(order));
      };
      const ended = () =>
        finish(() =>
          reject(
            this.failure ??
              new BookgraphError('the follower closed before the order got there', {
                code: 'CONNECTION_CLOSED',
              }),
          ),
        );
      check();
      if (this.closing) return ended();
      cleanups.push(this.events.on('update', check), this.events.on('resync', check));
      this.endListeners.add(ended);
      cleanups.push(() => this.endListeners.delete(ended));
      if (options.signal) {
        const signal = options.signal;
        const onAbort = () => finish(() => reject(signal.reason));
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        cleanups.push(() => signal.removeEventListener('abort', onAbort));
      }
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<OrderUpdate> {
    const queue: Queue = { items: [], wake: undefined };
    this.queues.add(queue);
    const iterator: AsyncIterableIterator<OrderUpdate> = {
      next: async () => {
        for (;;) {
          const item = queue.items.shift();
          if (item) return { done: false, value: item };
          if (this.closing || !this.queues.has(queue)) {
            this.queues.delete(queue);
            if (this.failure) throw this.failure;
            return { done: true, value: undefined };
          }
          await new Promise<void>((resolve) => {
            queue.wake = resolve;
          });
        }
      },
      return: async () => {
        this.queues.delete(queue);
        queue.wake?.();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      await this.active?.return?.();
    }
    await this.done;
  }

  private async run(): Promise<void> {
    const backoff = resolveRetry();
    let failures = 0;
    try {
      await this.resync('START');
      // Set when the stream was opened to replay a gap: another gap right away means the server no
      // longer keeps the missing updates.
      let replaying = false;
      while (!this.closing) {
        const stream = this.client.subscribe(OrderUpdatesDocument, {
          sessionId: this.sessionId,
          afterSeq: this.seq,
        });
        this.active = stream;
        this.markOpened();
        let gap = false;
        try {
          for await (const { orderUpdates: update } of stream) {
            if (this.closing) break;
            if (update.seq <= this.seq) continue; // already applied (a replay overlaps the read)
            if (update.seq !== this.seq + 1) {
              this.gaps += 1;
              this.events.emit('gap', { expected: this.seq + 1, received: update.seq });
              gap = true;
              break;
            }
            replaying = false;
            failures = 0;
            this.apply(update);
          }
        } catch (error) {
          if (this.closing) break;
          // Too slow for the server's queue: resubscribe after the last applied seq, which replays.
          if (!BookgraphError.is(error, 'SUBSCRIBER_TOO_SLOW')) throw error;
        } finally {
          await stream.return?.();
        }
        if (this.closing) break;
        if (gap) {
          if (replaying) {
            await this.resync('GAP');
            replaying = false;
          } else {
            replaying = true;
          }
          continue;
        }
        // The stream ended without a gap (the server drained, say): subscribe again after a pause.
        await sleep(backoffDelay(backoff, failures));
        failures += 1;
      }
    } catch (error) {
      if (!this.closing) {
        const failure =
          error instanceof BookgraphError
            ? error
            : new BookgraphError(String(error), { code: 'UNEXPECTED', cause: error });
        this.failure = failure;
        this.failOpened(failure);
        this.events.emit('error', failure);
      }
    } finally {
      this.closing = true;
      this.failOpened(
        this.failure ?? new BookgraphError('the follower closed', { code: 'CONNECTION_CLOSED' }),
      );
      for (const queue of [...this.queues]) queue.wake?.();
      for (const ended of [...this.endListeners]) ended();
    }
  }

  /** Reads the session and every order page; the follower's state becomes what they say. */
  private async resync(reason: OrdersResyncReason): Promise<void> {
    const { session } = await this.client.query(SessionDocument, {
      id: this.sessionId,
      first: this.options.pageSize ?? 100,
      fills: this.options.fills ?? 1_000,
    });
    const { orders, fills, ...rest } = session;
    const all: TradingOrder[] = orders.edges.map((e) => e.node);
    if (orders.pageInfo.hasNextPage && orders.pageInfo.endCursor) {
      // Later pages through Query.orders, after the first page's cursor.
      for await (const order of listOrders(
        this.client,
        { sessionId: this.sessionId },
        { pageSize: this.options.pageSize ?? 100, after: orders.pageInfo.endCursor },
      )) {
        all.push(order);
      }
    }
    this.sessionState = rest;
    this.byId.clear();
    this.fillList.length = 0;
    this.fillIds.clear();
    const oldestFirst = [...fills].reverse();
    for (const order of all) this.byId.set(order.id, { ...order, fills: [] });
    for (const fill of oldestFirst) this.addFill(fill);
    this.seq = session.lastSeq;
    if (reason !== 'START') this.resyncs += 1;
    this.events.emit('resync', reason, this.seq);
  }

  private addFill(fill: TradingFill): void {
    if (this.fillIds.has(fill.id)) return;
    this.fillIds.add(fill.id);
    this.fillList.push(fill);
    const order = this.byId.get(fill.orderId);
    if (order) this.byId.set(order.id, { ...order, fills: [...order.fills, fill] });
  }

  private apply(update: OrderUpdate): void {
    const held = this.byId.get(update.order.id);
    // A replay after a read can carry a state older than the one read: keep the newer one.
    const older =
      held !== undefined &&
      ((isFinalStatus(held.status) && !isFinalStatus(update.order.status)) ||
        compareDecimal(update.order.filled, held.filled) < 0);
    const state: TradingOrder = older ? held : update.order;
    this.byId.set(update.order.id, { ...state, fills: held?.fills ?? [] });
    if (update.fill) this.addFill(update.fill);
    this.seq = update.seq;
    const order = this.byId.get(update.order.id)!;
    for (const queue of this.queues) {
      queue.items.push(update);
      queue.wake?.();
    }
    this.events.emit('update', update, order);
  }
}
