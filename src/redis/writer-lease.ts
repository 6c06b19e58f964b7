import { hostname } from 'node:os';
import type { Cluster, Redis } from 'ioredis';
import { writerLeaseKey, writerTokenKey } from './keys.ts';
import { CLAIM_WRITER_LEASE, FENCED_ERROR, RELEASE_WRITER_LEASE } from './scripts.ts';

interface LeaseClient {
  bookgraphClaimWriterLease(
    lease: string,
    counter: string,
    holder: string,
    ttlMs: number,
    nowMs: number,
  ): Promise<[number, string]>;
  bookgraphReleaseWriterLease(lease: string, holder: string): Promise<number>;
}

/** The answer to a claim: `token` > 0 when the caller holds the lease, else 0 and who does. */
export interface LeaseClaim {
  token: number;
  holder: string;
}

/** `<host>:<pid>:<random>`: unique per ingester process start, readable in logs. */
export function newLeaseHolder(): string {
  return `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
}

/** Whether a write was refused because a later lease holder wrote the book (WRITE_BOOK_EVENT). */
export function isFencedError(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith(FENCED_ERROR);
}

/**
 * The writer leases of one ingester in one region, one per venue: SET NX PX and renew, with a
 * fencing token (INCR) handed out at each new grant. The book scripts refuse a token lower than
 * the one stored with the book, so a holder that stalled past its TTL cannot write after its
 * successor did, even before it learns that it lost the lease.
 */
export class WriterLeases {
  private readonly client: LeaseClient;

  constructor(
    redis: Redis | Cluster,
    readonly region: string,
    readonly holder: string,
    /** The clock a lost token counter restarts from (ms). @default Date.now */
    private readonly now: () => number = Date.now,
  ) {
    if (!('bookgraphClaimWriterLease' in redis)) {
      redis.defineCommand('bookgraphClaimWriterLease', { numberOfKeys: 2, lua: CLAIM_WRITER_LEASE });
      redis.defineCommand('bookgraphReleaseWriterLease', { numberOfKeys: 1, lua: RELEASE_WRITER_LEASE });
    }
    this.client = redis as unknown as LeaseClient;
  }

  /** Takes the venue's lease when it is free, renews it when this holder has it. */
  async claim(exchange: string, ttlMs: number): Promise<LeaseClaim> {
    const [token, holder] = await this.client.bookgraphClaimWriterLease(
      writerLeaseKey(this.region, exchange),
      writerTokenKey(this.region, exchange),
      this.holder,
      ttlMs,
      this.now(),
    );
    return { token: Number(token), holder };
  }

  /** Gives the lease up if this holder still has it; true when it did. */
  async release(exchange: string): Promise<boolean> {
    return (
      (await this.client.bookgraphReleaseWriterLease(writerLeaseKey(this.region, exchange), this.holder)) ===
      1
    );
  }
}
