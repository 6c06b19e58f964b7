import type { RateLimitedLog } from '../observability/rate-limited-log.ts';
import { redisErrorText } from '../redis/command-error.ts';

/**
 * What the ingester does about writes Redis refused (OOM, READONLY, a connection down): it backs
 * off before reopening a book, and logs each failure in one short line, rate-limited.
 */

export interface ReopenBackoffOptions {
  /** The first wait after a failed write. @default 250 */
  baseMs?: number;
  /** The longest wait, however many writes failed in a row. @default 10000 */
  maxMs?: number;
  /**
   * A book whose last failure is older than this starts again from `baseMs`; one failing again
   * sooner (a snapshot written, then the next write refused: memory hovering at the limit) keeps
   * escalating, so a flapping book does not reset its subscribers every `baseMs`. @default 3 × maxMs
   */
  resetAfterMs?: number;
  /** Uniform in [0, 1): the jitter. @default Math.random */
  random?: () => number;
  now?: () => number;
}

/**
 * Per book: how long to wait after a failed write before asking the feed for a snapshot again.
 * Exponential (base, 2×base, ... up to max) with jitter (each wait drawn in [½, 1] of its step), so
 * a Redis refusing every write (OOM) costs one snapshot attempt per book per step, not one per feed
 * update, and books do not retry in lock step. The record of a book is kept after it reopens
 * (one entry per book, bounded by the markets) and forgotten `resetAfterMs` after its last failure.
 */
export class ReopenBackoff {
  private readonly books = new Map<string, { failures: number; until: number; lastMs: number }>();
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly resetAfterMs: number;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(options: ReopenBackoffOptions = {}) {
    this.baseMs = options.baseMs ?? 250;
    this.maxMs = options.maxMs ?? 10_000;
    this.resetAfterMs = options.resetAfterMs ?? this.maxMs * 3;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /** Records a failed write of the book; returns the wait (ms) before it may be reopened. */
  failed(id: string): number {
    const now = this.now();
    const last = this.books.get(id);
    const failures = last && now - last.lastMs <= this.resetAfterMs ? last.failures + 1 : 1;
    const step = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(failures - 1, 30));
    const waitMs = Math.round(step * (0.5 + this.random() / 2));
    this.books.set(id, { failures, until: now + waitMs, lastMs: now });
    return waitMs;
  }

  /** Whether the book may ask for a snapshot now (no failure recorded, or its wait is over). */
  ready(id: string): boolean {
    const entry = this.books.get(id);
    return !entry || this.now() >= entry.until;
  }

  /** Failures of the book counted towards its current wait (0 if none recorded). */
  failures(id: string): number {
    return this.books.get(id)?.failures ?? 0;
  }
}

/**
 * A write Redis refused, as one short line rate-limited per key (`RateLimitedLog`, one kind per
 * key): the script or command name (write_book, write_trade...) and the key, never its arguments.
 */
export function logWriteFailure(
  log: RateLimitedLog,
  command: string,
  key: string,
  error: unknown,
  fields: Record<string, string | number> = {},
): void {
  log.error(key, { command, key, error: redisErrorText(error), ...fields }, `${command} failed`);
}

/** The key's writes succeed again: says so once, with the failures not logged yet. */
export function logWriteRecovered(log: RateLimitedLog, command: string, key: string): void {
  log.recovered(key, { command, key }, `${command} succeeds again`);
}
