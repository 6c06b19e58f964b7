import type { Repeater } from '@repeaterjs/repeater';
import type { FeedStatus } from '../marketdata/feed-health.ts';
import { boundedStream } from '../pubsub/channel-fanout.ts';
import { decodeFeedStatus } from '../pubsub/market-codec.ts';
import { marketTopics } from '../pubsub/market-topics.ts';
import { feedStatusChannel } from '../redis/keys.ts';
import type { ResolverDeps } from './deps.ts';
import { staleAfterMs } from './orderbook.ts';

export type FeedState = 'CONNECTED' | 'DISCONNECTED' | 'STALE' | 'UNKNOWN';

/** A feed's health as served: the state derived now, and the last status its ingester wrote. */
export interface FeedHealth {
  exchange: string;
  /** Null when nothing is known about the exchange's feeds (no ingester wrote, or it expired). */
  feed: string | null;
  state: FeedState;
  status: FeedStatus | null;
}

/**
 * UNKNOWN: no status, or its ingester stopped renewing it. DISCONNECTED: the feed says so.
 * STALE: connected, but nothing arrived within the exchange's book staleness threshold.
 */
export function feedState(deps: ResolverDeps, status: FeedStatus | null, now = deps.now()): FeedState {
  if (!status || now - status.updatedAt > status.expiresAfterMs) return 'UNKNOWN';
  if (!status.connected) return 'DISCONNECTED';
  if (status.lastMessageTs === null || now - status.lastMessageTs > staleAfterMs(deps, status.exchange)) {
    return 'STALE';
  }
  return 'CONNECTED';
}

function health(deps: ResolverDeps, exchange: string, status: FeedStatus | null): FeedHealth {
  return { exchange, feed: status?.feed ?? null, state: feedState(deps, status), status };
}

/** Every feed of every exchange in the region (or of `exchange`), sorted. */
export async function feeds(deps: ResolverDeps, args: { exchange?: string | null }): Promise<FeedHealth[]> {
  const exchanges = args.exchange ? [args.exchange] : await deps.store.readExchanges();
  const out: FeedHealth[] = [];
  for (const exchange of exchanges) {
    const raw = await deps.store.readFeedStatus(exchange);
    const statuses = Object.values(raw)
      .map(decodeFeedStatus)
      .flatMap((d) => (d.ok ? [d.value] : []))
      .sort((a, b) => a.feed.localeCompare(b.feed));
    if (statuses.length === 0) out.push(health(deps, exchange, null));
    for (const status of statuses) out.push(health(deps, exchange, status));
  }
  return out;
}

/** How often a feedStatus stream looks for statuses whose ingester went quiet. @default 250 */
const EXPIRY_CHECK_MS = 250;

/**
 * The current health of the feeds, then every published status, and an UNKNOWN when a status
 * expires unrenewed (an ingester that died cannot say so itself).
 */
export async function feedStatusStream(
  deps: ResolverDeps,
  args: { exchange?: string | null },
): Promise<Repeater<FeedHealth>> {
  const fanout = marketTopics(deps.hub).feeds;
  const last = new Map<string, FeedHealth>();
  const wanted = (exchange: string) => !args.exchange || args.exchange === exchange;
  const remember = (h: FeedHealth) => {
    last.set(`${h.exchange}\u0000${h.feed ?? ''}`, h);
    return h;
  };
  return boundedStream<FeedHealth>(
    async (push) => {
      const unlisten = await fanout.listen(feedStatusChannel(deps.region), (statuses) => {
        for (const status of statuses)
          if (wanted(status.exchange)) push(remember(health(deps, status.exchange, status)));
      });
      const timer = setInterval(() => {
        for (const h of [...last.values()]) {
          if (h.state !== 'UNKNOWN' && h.status && feedState(deps, h.status) === 'UNKNOWN') {
            push(remember({ ...h, state: 'UNKNOWN' }));
          }
        }
      }, EXPIRY_CHECK_MS);
      timer.unref();
      return () => {
        clearInterval(timer);
        unlisten();
      };
    },
    {
      queueMax: deps.limits.subscriberQueueMax,
      initial: async () => (await feeds(deps, args)).map(remember),
    },
  );
}
