import { Counter, Gauge, type Registry } from 'prom-client';
import type { AuthState } from '../../auth/access.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { apiError, ErrorCode } from '../../resolvers/errors.ts';
import type { Quotas } from './limits.ts';

/** graphql-ws close code for a connection refused by a quota: like HTTP 429; not 44xx (4429 is graphql-ws's own, and clients give up on 44xx). */
export const CLOSE_RATE_LIMITED = 4029;

/** Who a quota counts against: the key's client, or the source address of a caller without one. */
export function quotaSubject(auth: AuthState | undefined, address: string | undefined): string {
  return auth?.principal ? `key:${auth.principal.clientId}` : `addr:${address ?? 'unknown'}`;
}

/** A refusal: which quota, and when to try again. */
export interface QuotaRefusal {
  quota: 'requests' | 'connections' | 'sse_streams' | 'subscriptions' | 'sse_reservations';
  retryAfterSeconds: number;
}

export function rateLimited(refusal: QuotaRefusal) {
  return apiError(ErrorCode.RateLimited, `Quota exceeded (${refusal.quota}); retry later.`, {
    quota: refusal.quota,
    retryAfterSeconds: refusal.retryAfterSeconds,
    http: { status: 429, headers: { 'retry-after': String(refusal.retryAfterSeconds) } },
  });
}

/** A token bucket: `rate` tokens a second up to `burst`. Idle buckets are dropped. */
class Buckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number,
  ) {}

  /** Takes one token; null when taken, else the seconds until one is there. */
  take(subject: string): number | null {
    const now = this.now();
    const bucket = this.buckets.get(subject) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
    bucket.at = now;
    this.buckets.set(subject, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return null;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.rate));
  }

  /** Forgets buckets that are full again (called periodically). */
  sweep(): void {
    const now = this.now();
    for (const [subject, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * this.rate >= this.burst) this.buckets.delete(subject);
    }
  }
}

/** Open things per subject (connections, streams, subscriptions): acquired, then released once. */
class Counts {
  private readonly counts = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** The release function, or null when the subject is at its maximum. */
  acquire(subject: string): (() => void) | null {
    const n = this.counts.get(subject) ?? 0;
    if (n >= this.max) return null;
    this.counts.set(subject, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.counts.get(subject) ?? 1) - 1;
      if (left <= 0) this.counts.delete(subject);
      else this.counts.set(subject, left);
    };
  }

  get total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }
}

function counter(registry: Registry, name: string, help: string): Counter<'quota'> {
  return (
    (registry.getSingleMetric(name) as Counter<'quota'> | undefined) ??
    new Counter({ name, help, labelNames: ['quota'], registers: [registry] })
  );
}

/**
 * Every per-key (per-address without a key) quota of the process. One instance per server; the
 * limits are per server process (docs/OPERATIONS.md: a key's share of a region is the quota times
 * the number of servers).
 */
export class QuotaBook {
  private readonly requests: Buckets;
  private readonly connections: Counts;
  private readonly sseStreams: Counts;
  private readonly subscriptionsByKey: Counts;
  private readonly subscriptionsByConnection: Counts;
  readonly reservations: Counts;
  private readonly rejections: Counter<'quota'>;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    readonly quotas: Quotas,
    metrics: Metrics,
    now: () => number = Date.now,
  ) {
    this.requests = new Buckets(quotas.requestsPerSecond, quotas.requestBurst, now);
    this.connections = new Counts(quotas.connections);
    this.sseStreams = new Counts(quotas.sseStreams);
    this.subscriptionsByKey = new Counts(quotas.subscriptionsPerKey);
    this.subscriptionsByConnection = new Counts(quotas.subscriptionsPerConnection);
    this.reservations = new Counts(quotas.sseReservations);
    this.rejections = counter(
      metrics.registry,
      'bookgraph_quota_rejections_total',
      'Requests, connections, streams and subscriptions refused by a per-key (or per-address) quota, by quota.',
    );
    const name = 'bookgraph_quota_open';
    if (!metrics.registry.getSingleMetric(name)) {
      const self = this;
      new Gauge({
        name,
        help: 'What the quotas count right now, by kind (connections, SSE streams, subscriptions, reservations).',
        labelNames: ['quota'],
        registers: [metrics.registry],
        collect() {
          this.set({ quota: 'connections' }, self.connections.total);
          this.set({ quota: 'sse_streams' }, self.sseStreams.total);
          this.set({ quota: 'subscriptions' }, self.subscriptionsByKey.total);
          this.set({ quota: 'sse_reservations' }, self.reservations.total);
        },
      });
    }
    this.sweeper = setInterval(() => this.requests.sweep(), 10_000);
    this.sweeper.unref();
  }

  private refused(quota: QuotaRefusal['quota'], retryAfterSeconds = 1): QuotaRefusal {
    this.rejections.inc({ quota });
    return { quota, retryAfterSeconds };
  }

  /** One request or operation; a refusal when the subject's bucket is empty. */
  request(subject: string): QuotaRefusal | null {
    const wait = this.requests.take(subject);
    return wait === null ? null : this.refused('requests', wait);
  }

  connection(subject: string): (() => void) | QuotaRefusal {
    return this.connections.acquire(subject) ?? this.refused('connections');
  }

  sseStream(subject: string): (() => void) | QuotaRefusal {
    return this.sseStreams.acquire(subject) ?? this.refused('sse_streams');
  }

  reservation(subject: string): (() => void) | QuotaRefusal {
    return this.reservations.acquire(subject) ?? this.refused('sse_reservations');
  }

  /** A subscription on `connection` (a socket or stream id) of `subject`. */
  subscription(subject: string, connection: string | undefined): (() => void) | QuotaRefusal {
    const byKey = this.subscriptionsByKey.acquire(subject);
    if (!byKey) return this.refused('subscriptions');
    if (connection === undefined) return byKey;
    const byConnection = this.subscriptionsByConnection.acquire(connection);
    if (!byConnection) {
      byKey();
      return this.refused('subscriptions');
    }
    return () => {
      byKey();
      byConnection();
    };
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}
