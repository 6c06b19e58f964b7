import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.ts';
import type { WriterLeases } from '../redis/writer-lease.ts';

/** How long a writer lease lives unrenewed; the holder renews it every third of that. @default 3000 */
export const WRITER_LEASE_TTL_MS = 3_000;

export interface VenueWritersOptions {
  leases: Pick<WriterLeases, 'holder' | 'claim' | 'release'>;
  /** @default WRITER_LEASE_TTL_MS */
  ttlMs?: number;
  log: Logger;
  metrics?: Metrics;
  /** This ingester just became the venue's writer (at start, or taking over from a dead holder). */
  onHeld(exchange: string): Promise<void>;
  /** This ingester stopped being the venue's writer (its lease was taken, or a write was fenced). */
  onStandby(exchange: string): void;
}

interface VenueLease {
  /** The fencing token while this ingester holds the lease; 0 while it is a standby. */
  token: number;
  /** Who holds the lease, as last seen; undefined before the first claim. */
  holder: string | undefined;
  claiming: boolean;
  /** The last claim failed (Redis unreachable): logged once, not at every retry. */
  failing: boolean;
}

/** A venue this ingester does not write, and who does. */
export interface Standby {
  exchange: string;
  holder: string;
}

/**
 * Which venues this ingester writes: one writer lease per (region, venue), claimed at start and
 * then every third of its TTL. Held: renewed, and writes carry its fencing token. Not held: a hot
 * standby (the feed runs, nothing is written) that takes the lease once the holder stops renewing.
 */
export class VenueWriters {
  private readonly venues = new Map<string, VenueLease>();
  private readonly ttlMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: VenueWritersOptions) {
    this.ttlMs = options.ttlMs ?? WRITER_LEASE_TTL_MS;
  }

  get holder(): string {
    return this.options.leases.holder;
  }

  add(exchange: string): void {
    if (!this.venues.has(exchange))
      this.venues.set(exchange, { token: 0, holder: undefined, claiming: false, failing: false });
  }

  /** The token to write the venue's books with; 0 when this ingester must not write them. */
  token(exchange: string): number {
    return this.venues.get(exchange)?.token ?? 0;
  }

  /** Claims every venue once; `strict` (at start) lets a Redis error through instead of retrying. */
  async claimAll(strict = false): Promise<void> {
    await Promise.all([...this.venues.keys()].map((exchange) => this.claim(exchange, strict)));
  }

  /** Renews held leases and watches for free ones, every third of the TTL. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.claimAll(), Math.max(50, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  /** A write made with `token` was fenced: a later holder writes the venue now. */
  fenced(exchange: string, token: number): void {
    this.options.metrics?.fencedWrites.inc({ exchange });
    const venue = this.venues.get(exchange);
    if (!venue || venue.token !== token) return;
    venue.token = 0;
    venue.holder = 'a later lease holder';
    this.standby(exchange, venue.holder, 'a write was fenced by a later lease holder');
    // Learn who holds the lease now (for /ready), rather than at the next renewal.
    void this.claim(exchange, false);
  }

  /** Venues another ingester writes, for `/ready` and logs. */
  standbys(): Standby[] {
    return [...this.venues]
      .filter(([, v]) => v.token === 0 && v.holder !== undefined)
      .map(([exchange, v]) => ({ exchange, holder: v.holder! }));
  }

  /** Whether this ingester writes at least one venue. */
  writesAny(): boolean {
    return [...this.venues.values()].some((v) => v.token > 0);
  }

  /** Stops renewing; then gives up every lease still held, so a standby takes over at once. */
  stopRenewing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  async release(): Promise<void> {
    this.stopRenewing();
    await Promise.all(
      [...this.venues].map(async ([exchange, venue]) => {
        if (venue.token === 0) return;
        venue.token = 0;
        this.options.metrics?.writerLeaseHeld.set({ exchange }, 0);
        await this.options.leases
          .release(exchange)
          .catch((err: unknown) => this.options.log.warn({ err, exchange }, 'writer lease release failed'));
      }),
    );
  }

  private async claim(exchange: string, strict: boolean): Promise<void> {
    const venue = this.venues.get(exchange);
    if (!venue || venue.claiming) return;
    venue.claiming = true;
    try {
      const claim = await this.options.leases.claim(exchange, this.ttlMs);
      venue.failing = false;
      const seen = venue.holder;
      venue.holder = claim.holder;
      if (claim.token > 0) {
        const held = venue.token > 0;
        venue.token = claim.token;
        // Our own lease lapsed (a stall past its TTL) and we took it again: the books go on in
        // their epochs. Had another holder written in between, its snapshot opened a new epoch,
        // and our next delta is refused and reopens the book (the ordinary failed-write path).
        if (held) return;
        this.options.metrics?.writerLeaseHeld.set({ exchange }, 1);
        this.options.log.info(
          { exchange, token: claim.token, holder: claim.holder },
          'writer lease taken: this ingester writes the exchange in this region',
        );
        await this.options.onHeld(exchange);
        return;
      }
      const wasHolder = venue.token > 0;
      venue.token = 0;
      if (wasHolder) this.standby(exchange, claim.holder, 'the lease was taken by another ingester');
      else if (seen !== claim.holder)
        this.standby(exchange, claim.holder, 'another ingester holds the lease');
    } catch (error) {
      if (strict) throw error;
      if (!venue.failing)
        this.options.log.warn({ err: error, exchange }, 'writer lease claim failed; retrying');
      venue.failing = true;
    } finally {
      venue.claiming = false;
    }
  }

  private standby(exchange: string, holder: string, why: string): void {
    this.options.metrics?.writerLeaseHeld.set({ exchange }, 0);
    this.options.log.warn(
      { exchange, holder, self: this.holder },
      `standby: ${why}; not writing ${exchange}, taking over when the lease expires`,
    );
    this.options.onStandby(exchange);
  }
}
