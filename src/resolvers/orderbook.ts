import { z } from 'zod';
import type { Level } from '../marketdata/types.ts';
import type { ViewLease } from '../pubsub/book-hub.ts';
import { bookUpdateStream, throttledBookStream } from '../pubsub/book-streams.ts';
import type { BookUpdate } from '../pubsub/depth-view.ts';
import { PushUpdatesSink } from '../pubsub/push-book-updates.ts';
import type { PushTarget } from '../pubsub/push-sink.ts';
import { PushThrottledSink } from '../pubsub/push-throttled.ts';
import { SlowSubscriberGuard, type SubscriberTransport } from '../pubsub/slow-subscriber.ts';
import type { StoredBook } from '../redis/book-store.ts';
import type { ResolverDeps } from './deps.ts';
import { apiError, badInput, ErrorCode } from './errors.ts';
import { requireMarket } from './markets.ts';

/** A book as the API serves it, from a live replica or read from Redis. */
export interface OrderBookState extends Omit<StoredBook, 'bids' | 'asks'> {
  bids: readonly Level[];
  asks: readonly Level[];
  stale: boolean;
}

export interface BookArgs {
  exchange: string;
  symbol: string;
  depth: number;
}

export function parseArgs<T>(schema: z.ZodType<T>, args: unknown): T {
  const parsed = schema.safeParse(args);
  if (!parsed.success) throw badInput(parsed.error);
  return parsed.data;
}

/** A book depth argument: 1 to the configured maximum. */
export function depthSchema(deps: ResolverDeps) {
  return z
    .number()
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(deps.limits.maxDepth, `must be at most ${deps.limits.maxDepth}`);
}

/** A subscription's `throttleMs` argument, within the configured bounds. */
export function throttleMsSchema(deps: ResolverDeps) {
  return z
    .number()
    .int('must be an integer')
    .min(deps.limits.minThrottleMs, `must be at least ${deps.limits.minThrottleMs}`)
    .max(deps.limits.maxThrottleMs, `must be at most ${deps.limits.maxThrottleMs}`);
}

/** The staleness threshold of one book: its own override, its exchange's, or the default. */
export function staleAfterMs(deps: Pick<ResolverDeps, 'limits'>, exchange?: string, symbol?: string): number {
  const overrides = deps.limits.staleOverrides;
  if (overrides && exchange) {
    const specific = symbol === undefined ? undefined : overrides[`${exchange}:${symbol}`];
    return specific ?? overrides[exchange] ?? deps.limits.staleAfterMs;
  }
  return deps.limits.staleAfterMs;
}

export function isStale(
  deps: ResolverDeps,
  receiveTs: number,
  live = true,
  exchange?: string,
  symbol?: string,
): boolean {
  return !live || !deps.redisReady() || deps.now() - receiveTs > staleAfterMs(deps, exchange, symbol);
}

/**
 * One schema per limits object, built on first use: zod v4 compiles an object schema on its
 * first parse, so a schema built per request pays that compile on every request.
 */
export function schemaPerLimits<T>(build: (deps: ResolverDeps) => T): (deps: ResolverDeps) => T {
  const cache = new WeakMap<object, T>();
  return (deps) => {
    let schema = cache.get(deps.limits);
    if (schema === undefined) {
      schema = build(deps);
      cache.set(deps.limits, schema);
    }
    return schema;
  };
}

const orderBookArgs = schemaPerLimits((deps) =>
  z.object({ exchange: z.string(), symbol: z.string(), depth: depthSchema(deps) }),
);

const bookSubscriptionArgs = schemaPerLimits((deps) =>
  z.object({
    exchange: z.string(),
    symbol: z.string(),
    depth: depthSchema(deps),
    throttleMs: throttleMsSchema(deps).optional(),
  }),
);

export async function orderBook(deps: ResolverDeps, args: BookArgs): Promise<OrderBookState> {
  const { exchange, symbol, depth } = parseArgs(orderBookArgs(deps), args);
  // A live replica answers without Redis: the market was checked when the subscription holding
  // the book began, and markets are only ever added (writeMarkets), never removed.
  const replica = deps.hub.liveReplica(exchange, symbol);
  if (replica) {
    const top = replica.book.top(depth);
    return {
      exchange,
      symbol,
      region: replica.region,
      epoch: replica.epoch,
      seq: replica.seq,
      exchangeTs: replica.exchangeTs,
      receiveTs: replica.receiveTs,
      ...(replica.venueSeq === undefined ? {} : { venueSeq: replica.venueSeq }),
      bids: top.bids,
      asks: top.asks,
      stale: isStale(deps, replica.receiveTs, true, exchange, symbol),
    };
  }
  await requireMarket(deps, exchange, symbol);
  const region = await deps.hub.regionFor(exchange, symbol);
  const stored = await deps.hub.copies.store(region).readBook(exchange, symbol, depth);
  if (!stored) {
    throw apiError(ErrorCode.BookUnavailable, `No book for ${symbol} on ${exchange} has been written yet.`, {
      exchange,
      symbol,
    });
  }
  return { ...stored, stale: isStale(deps, stored.receiveTs, true, exchange, symbol) };
}

async function subscriptionArgs(deps: ResolverDeps, args: BookArgs & { throttleMs?: number }) {
  const parsed = parseArgs(bookSubscriptionArgs(deps), args);
  await requireMarket(deps, parsed.exchange, parsed.symbol);
  return parsed;
}

/** Counts the subscription in `bookgraph_subscriptions_active` until its lease is released. */
function tracked(deps: ResolverDeps, field: string, lease: ViewLease): ViewLease {
  const metrics = deps.metrics;
  if (!metrics) return lease;
  metrics.subscriptionsActive.inc({ field });
  let released = false;
  return {
    view: lease.view,
    release() {
      if (!released) {
        released = true;
        metrics.subscriptionsActive.dec({ field });
      }
      lease.release();
    },
  };
}

/** SNAPSHOT, then DELTAs of the top-`depth` window; RESET + SNAPSHOT on any discontinuity. */
export async function orderBookUpdates(
  deps: ResolverDeps,
  args: BookArgs & { staleNotices?: boolean | null },
  transport?: SubscriberTransport,
  push?: PushTarget,
): Promise<AsyncIterable<BookUpdate>> {
  const { exchange, symbol, depth } = await subscriptionArgs(deps, args);
  const lease = tracked(deps, 'orderBookUpdates', await deps.hub.acquire(exchange, symbol, depth));
  const metrics = deps.metrics;
  if (push) {
    return new PushUpdatesSink(lease, push, {
      queueMax: deps.limits.subscriberQueueMax,
      staleAfterMs: args.staleNotices ? staleAfterMs(deps, exchange, symbol) : undefined,
      now: deps.now,
      onConflate: metrics && (() => metrics.conflations.inc()),
    });
  }
  return bookUpdateStream(lease, {
    queueMax: deps.limits.subscriberQueueMax,
    staleNotices: args.staleNotices ?? false,
    staleAfterMs: staleAfterMs(deps, exchange, symbol),
    now: deps.now,
    onConflate: metrics && (() => metrics.conflations.inc()),
    onSent: metrics && ((update) => metrics.messagesSent.inc({ type: update.type })),
    guard: slowSubscriberGuard(deps, transport),
  });
}

/** The whole top-`depth` book, conflated to at most one message per `throttleMs`. */
export async function throttledOrderBook(
  deps: ResolverDeps,
  args: BookArgs & { throttleMs: number },
  transport?: SubscriberTransport,
  push?: PushTarget,
): Promise<AsyncIterable<BookUpdate>> {
  const { exchange, symbol, depth, throttleMs } = await subscriptionArgs(deps, args);
  const lease = tracked(deps, 'orderBook', await deps.hub.acquire(exchange, symbol, depth));
  const metrics = deps.metrics;
  if (push) {
    return new PushThrottledSink(lease, push, {
      throttleMs: throttleMs ?? deps.limits.minThrottleMs,
      staleAfterMs: staleAfterMs(deps, exchange, symbol),
      now: deps.now,
    });
  }
  return throttledBookStream(
    lease,
    throttleMs ?? deps.limits.minThrottleMs,
    metrics && (() => metrics.messagesSent.inc({ type: 'BOOK' })),
    staleAfterMs(deps, exchange, symbol),
    deps.now,
    slowSubscriberGuard(deps, transport),
  );
}

/** Over a socket that reports its send buffer (graphql-ws), the second slow-subscriber bound. */
function slowSubscriberGuard(deps: ResolverDeps, transport: SubscriberTransport | undefined) {
  if (!transport) return undefined;
  const limits = deps.limits.backpressure ?? { maxBufferedBytes: 1024 * 1024, disconnectAfterMs: 10_000 };
  const metrics = deps.metrics;
  return new SlowSubscriberGuard(
    transport,
    limits,
    deps.now,
    metrics && (() => metrics.slowSubscriberDisconnects.inc()),
  );
}

/** A view message as the OrderBook type: the throttled stream sends whole books. */
export function bookFromUpdate(deps: ResolverDeps, update: BookUpdate): OrderBookState {
  return {
    exchange: update.exchange,
    symbol: update.symbol,
    region: update.region,
    epoch: update.epoch,
    seq: update.seq,
    exchangeTs: update.exchangeTs,
    receiveTs: update.receiveTs,
    ...(update.venueSeq === null ? {} : { venueSeq: update.venueSeq }),
    bids: update.bids,
    asks: update.asks,
    stale: isStale(deps, update.receiveTs, true, update.exchange, update.symbol),
  };
}
