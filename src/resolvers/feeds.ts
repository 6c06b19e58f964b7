import type { Repeater } from '@repeaterjs/repeater';
import type { FeedStatus } from '../marketdata/feed-health.ts';
import { boundedStream } from '../pubsub/channel-fanout.ts';
import { feedStatusChannel } from '../redis/keys.ts';
import { decodeFeedStatus } from '../wire/market-codec.ts';
import type { ResolverDeps } from './deps.ts';
import { staleAfterMs } from './orderbook.ts';

export type FeedState = 'CONNECTED' | 'DISCONNECTED' | 'STALE' | 'UNKNOWN';

/** A feed's health as served: the state derived now, and the last status its ingester wrote. */
export interface FeedHealth {
  /** The region whose ingester reports (or would report) this feed. */
  region: string;
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

function health(deps: ResolverDeps, region: string, exchange: string, status: FeedStatus | null): FeedHealth {
  return { region, exchange, feed: status?.feed ?? null, state: feedState(deps, status), status };
}

/**
 * Every feed of every exchange of every region (or of `exchange`), by region (this one first),
 * then exchange and feed. Health is per (region, venue): each region's ingester reports its own.
 * A region lists an exchange it ingests (or was asked for) with no status as UNKNOWN.
 */
export async function feeds(deps: ResolverDeps, args: { exchange?: string | null }): Promise<FeedHealth[]> {
  const { copies } = deps.hub;
  const out: FeedHealth[] = [];
  for (const region of copies.regions) {
    const store = copies.store(region);
    const exchanges = await store.readExchanges();
    const wanted = args.exchange ? [args.exchange] : exchanges;
    for (const exchange of wanted) {
      const raw = await store.readFeedStatus(exchange);
      const statuses = Object.values(raw)
        .map(decodeFeedStatus)
        .flatMap((d) => (d.ok ? [d.value] : []))
        .sort((a, b) => a.feed.localeCompare(b.feed));
      // Another region that neither ingests nor reports the asked exchange says nothing of it.
      if (statuses.length === 0 && (region === deps.region || exchanges.includes(exchange))) {
        out.push(health(deps, region, exchange, null));
      }
      for (const status of statuses) out.push(health(deps, region, exchange, status));
    }
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
  const fanout = deps.topics.feeds;
  const last = new Map<string, FeedHealth>();
  const wanted = (exchange: string) => !args.exchange || args.exchange === exchange;
  const remember = (h: FeedHealth) => {
    last.set(`${h.region}\u0000${h.exchange}\u0000${h.feed ?? ''}`, h);
    return h;
  };
  return boundedStream<FeedHealth>(
    async (push) => {
      // Every region's feed channel: health is per (region, venue).
      const unlistens: Array<() => void> = [];
      try {
        for (const region of deps.hub.copies.regions) {
          unlistens.push(
            await fanout.listen(feedStatusChannel(region), (statuses) => {
              for (const status of statuses)
                if (wanted(status.exchange)) push(remember(health(deps, region, status.exchange, status)));
            }),
          );
        }
      } catch (error) {
        for (const unlisten of unlistens) unlisten();
        throw error;
      }
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
        for (const unlisten of unlistens) unlisten();
      };
    },
    {
      queueMax: deps.limits.subscriberQueueMax,
      initial: async () => (await feeds(deps, args)).map(remember),
    },
  );
}
