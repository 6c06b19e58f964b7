import type { Logger } from 'pino';

export interface RateLimitedLogOptions {
  /** At most one line per kind per interval. @default 1000 */
  intervalMs?: number;
  /** Distinct kinds tracked; more share one bucket, so a flood of new kinds stays bounded too. @default 100 */
  maxKinds?: number;
}

interface KindState {
  lastAt: number;
  suppressed: number;
  flush: NodeJS.Timeout | undefined;
}

/**
 * Error logs that stay bounded in a storm: one line per kind per interval, the next line (or a
 * closing "suppressed" line) carrying how many like it were not written. A failing Redis can fail
 * thousands of writes a second; the operator needs the first line and a count, not each one.
 */
export class RateLimitedLog {
  private readonly kinds = new Map<string, KindState>();
  private readonly intervalMs: number;
  private readonly maxKinds: number;

  constructor(
    private readonly log: Logger,
    options: RateLimitedLogOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 1_000;
    this.maxKinds = options.maxKinds ?? 100;
  }

  error(kind: string, fields: Record<string, unknown>, message: string): void {
    this.write('error', kind, fields, message);
  }

  warn(kind: string, fields: Record<string, unknown>, message: string): void {
    this.write('warn', kind, fields, message);
  }

  private write(
    level: 'error' | 'warn',
    kind: string,
    fields: Record<string, unknown>,
    message: string,
  ): void {
    const key = this.kinds.has(kind) || this.kinds.size < this.maxKinds ? kind : '(other kinds)';
    const now = Date.now();
    let state = this.kinds.get(key);
    if (!state) {
      state = { lastAt: Number.NEGATIVE_INFINITY, suppressed: 0, flush: undefined };
      this.kinds.set(key, state);
    }
    if (now - state.lastAt >= this.intervalMs) {
      const suppressed = state.suppressed;
      state.lastAt = now;
      state.suppressed = 0;
      clearTimeout(state.flush);
      state.flush = undefined;
      this.log[level](suppressed > 0 ? { ...fields, suppressed } : fields, message);
      return;
    }
    state.suppressed += 1;
    // A storm that stops still reports its count, once its interval is over.
    const pending = state;
    pending.flush ??= setTimeout(
      () => {
        pending.flush = undefined;
        if (pending.suppressed === 0) return;
        this.log[level]({ kind: key, suppressed: pending.suppressed }, `${message} (suppressed repeats)`);
        pending.suppressed = 0;
        pending.lastAt = Date.now();
      },
      Math.max(0, pending.lastAt + this.intervalMs - now),
    ).unref();
  }

  close(): void {
    for (const state of this.kinds.values()) clearTimeout(state.flush);
    this.kinds.clear();
  }
}
