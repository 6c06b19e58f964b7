import type { Logger } from 'pino';

export interface RateLimitedLogOptions {
  /** At most one line per kind per interval. @default 1000 */
  intervalMs?: number;
  /** Distinct kinds tracked; more share one bucket, so a flood of new kinds stays bounded too. @default 100 */
  maxKinds?: number;
  /** @default Date.now */
  now?: () => number;
}

interface KindState {
  lastAt: number;
  suppressed: number;
  /** The level, fields and message of the last line held back: the closing line repeats them. */
  last: { level: 'error' | 'warn'; fields: Record<string, unknown>; message: string } | undefined;
  flush: NodeJS.Timeout | undefined;
}

/**
 * Error logs that stay bounded in a storm: one line per kind per interval, the next line (or a
 * closing "suppressed" line) carrying how many like it were not written. A failing Redis can fail
 * thousands of writes a second; the operator needs the first line and a count, not each one.
 * Used by the server (Redis outages seen by requests, unknown key records) and the ingester (write
 * failures, one kind per key, with `recovered` once the key's writes succeed again).
 */
export class RateLimitedLog {
  private readonly kinds = new Map<string, KindState>();
  private readonly intervalMs: number;
  private readonly maxKinds: number;
  private readonly now: () => number;

  constructor(
    private readonly log: Logger,
    options: RateLimitedLogOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 1_000;
    this.maxKinds = options.maxKinds ?? 100;
    this.now = options.now ?? Date.now;
  }

  error(kind: string, fields: Record<string, unknown>, message: string): void {
    this.write('error', kind, fields, message);
  }

  warn(kind: string, fields: Record<string, unknown>, message: string): void {
    this.write('warn', kind, fields, message);
  }

  /**
   * The trouble of this kind is over: says so once (info), with the repeats not written yet, and
   * forgets the kind. Nothing if the kind was never logged.
   */
  recovered(kind: string, fields: Record<string, unknown>, message: string): void {
    const state = this.kinds.get(kind);
    if (!state) return;
    clearTimeout(state.flush);
    this.kinds.delete(kind);
    this.log.info({ ...fields, suppressed: state.suppressed }, message);
  }

  private write(
    level: 'error' | 'warn',
    kind: string,
    fields: Record<string, unknown>,
    message: string,
  ): void {
    const key = this.kinds.has(kind) || this.kinds.size < this.maxKinds ? kind : '(other kinds)';
    const now = this.now();
    let state = this.kinds.get(key);
    if (!state) {
      state = { lastAt: Number.NEGATIVE_INFINITY, suppressed: 0, last: undefined, flush: undefined };
      this.kinds.set(key, state);
    }
    if (now - state.lastAt >= this.intervalMs) {
      const suppressed = state.suppressed;
      state.lastAt = now;
      state.suppressed = 0;
      state.last = undefined;
      clearTimeout(state.flush);
      state.flush = undefined;
      this.log[level](suppressed > 0 ? { ...fields, suppressed } : fields, message);
      return;
    }
    state.suppressed += 1;
    state.last = { level, fields, message };
    // A storm that stops still reports its count, once its interval is over.
    const pending = state;
    pending.flush ??= setTimeout(
      () => {
        pending.flush = undefined;
        const last = pending.last;
        if (pending.suppressed === 0 || !last) return;
        this.log[last.level](
          { ...last.fields, kind: key, suppressed: pending.suppressed },
          `${last.message} (suppressed repeats)`,
        );
        pending.suppressed = 0;
        pending.last = undefined;
        pending.lastAt = this.now();
      },
      Math.max(0, pending.lastAt + this.intervalMs - now),
    ).unref();
  }

  close(): void {
    for (const state of this.kinds.values()) clearTimeout(state.flush);
    this.kinds.clear();
  }
}
