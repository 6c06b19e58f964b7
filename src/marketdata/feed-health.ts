import type { FeedHealthEvent } from './feed.ts';

/**
 * What one ingester knows about one feed of one exchange, as written to Redis and served by
 * `Query.feeds`. Counters are totals since the ingester started.
 */
export interface FeedStatus {
  exchange: string;
  feed: string;
  region: string;
  /** From the feed's connected/disconnected events; a feed that never reports one is connected once data flows. */
  connected: boolean;
  /** When the last book update or trade arrived (ms), null before the first. */
  lastMessageTs: number | null;
  /** Book updates and trades per second over the last status interval. */
  messagesPerSec: number;
  messages: number;
  /** Discontinuities the ingester saw: a delta with no open chain, a failed write that broke one. */
  gaps: number;
  resyncs: number;
  errors: number;
  /** Updates the normaliser refused. */
  rejected: number;
  lastError: string | null;
  startedAt: number;
  /** When the ingester wrote this status (ms). */
  updatedAt: number;
  /** How long the status stays valid unrenewed (the key's TTL): past it, the ingester is presumed gone. */
  expiresAfterMs: number;
}

interface Counters {
  status: FeedStatus;
  /** `messages` at the last snapshot, for the rate. */
  messagesAtLast: number;
  lastAt: number;
  /** Whether a connected/disconnected event was ever seen. */
  reported: boolean;
  /** Changed since the last snapshot in a way worth announcing at once (not just counts). */
  changed: boolean;
}

/** Per (exchange, feed) health counters, folded from every update and health event the ingester sees. */
export class FeedHealthTracker {
  private readonly feeds = new Map<string, Counters>();

  constructor(
    private readonly region: string,
    private readonly now: () => number = Date.now,
  ) {}

  private entry(exchange: string, feed: string): Counters {
    const id = `${exchange}\u0000${feed}`;
    let c = this.feeds.get(id);
    if (!c) {
      const at = this.now();
      c = {
        status: {
          exchange,
          feed,
          region: this.region,
          connected: false,
          lastMessageTs: null,
          messagesPerSec: 0,
          messages: 0,
          gaps: 0,
          resyncs: 0,
          errors: 0,
          rejected: 0,
          lastError: null,
          startedAt: at,
          updatedAt: at,
          expiresAfterMs: 0,
        },
        messagesAtLast: 0,
        lastAt: at,
        reported: false,
        changed: true,
      };
      this.feeds.set(id, c);
    }
    return c;
  }

  /** Registers a feed's exchanges before any data, so a silent feed still shows up. */
  register(exchange: string, feed: string): void {
    this.entry(exchange, feed);
  }

  message(exchange: string, feed: string): void {
    const c = this.entry(exchange, feed);
    c.status.messages += 1;
    c.status.lastMessageTs = this.now();
    if (!c.reported && !c.status.connected) {
      c.status.connected = true;
      c.changed = true;
    }
  }

  gap(exchange: string, feed: string): void {
    this.entry(exchange, feed).status.gaps += 1;
  }

  rejected(exchange: string, feed: string): void {
    this.entry(exchange, feed).status.rejected += 1;
  }

  health(event: FeedHealthEvent, feed: string): void {
    const c = this.entry(event.exchange, feed);
    c.changed = true;
    switch (event.kind) {
      case 'connected':
        c.reported = true;
        c.status.connected = true;
        break;
      case 'disconnected':
        c.reported = true;
        c.status.connected = false;
        break;
      case 'resync':
        c.status.resyncs += 1;
        break;
      case 'error':
        c.status.errors += 1;
        c.status.lastError = event.message ?? 'error';
        break;
    }
  }

  /** Marks every feed disconnected (the ingester is stopping). */
  stopped(): void {
    for (const c of this.feeds.values()) {
      c.status.connected = false;
      c.changed = true;
    }
  }

  /** Every feed's status as it stands, without touching the rates (metrics read this). */
  statuses(): FeedStatus[] {
    return [...this.feeds.values()].map((c) => ({ ...c.status }));
  }

  /** Whether something other than counters changed since the last snapshot. */
  get urgent(): boolean {
    for (const c of this.feeds.values()) if (c.changed) return true;
    return false;
  }

  /** Every feed's status now, rates over the time since the previous snapshot; grouped by exchange. */
  snapshot(expiresAfterMs: number): Map<string, FeedStatus[]> {
    const at = this.now();
    const byExchange = new Map<string, FeedStatus[]>();
    for (const c of this.feeds.values()) {
      const elapsed = at - c.lastAt;
      if (elapsed > 0) {
        c.status.messagesPerSec =
          Math.round(((c.status.messages - c.messagesAtLast) * 100_000) / elapsed) / 100;
        c.messagesAtLast = c.status.messages;
        c.lastAt = at;
      }
      c.status.updatedAt = at;
      c.status.expiresAfterMs = expiresAfterMs;
      c.changed = false;
      const list = byExchange.get(c.status.exchange) ?? [];
      list.push({ ...c.status });
      byExchange.set(c.status.exchange, list);
    }
    return byExchange;
  }
}
