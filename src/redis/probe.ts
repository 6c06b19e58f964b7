import type { RedisClient } from './connection.ts';

/**
 * Whether one Redis connection can serve right now: connected, and a PING answered within the
 * deadline. A paused, sleeping or blackholed server keeps its TCP connection "ready", so the
 * connection status alone says nothing; only a round trip does. At most one probe PING is in
 * flight per connection, so a long outage and frequent probes do not pile up commands. PING is
 * also allowed on a subscribed connection, which proves the pub/sub path alive.
 */
export class RedisProbe {
  private pending: { reply: Promise<string | null>; since: number } | undefined;

  constructor(
    private readonly redis: RedisClient,
    /** The connection's role, named in the reason (`redis command: …`). */
    private readonly role: string,
    private readonly timeoutMs: number,
  ) {}

  /** Null when ready, else why not. */
  async check(): Promise<string | null> {
    if (this.redis.status !== 'ready') return `redis ${this.role}: connection ${this.redis.status}`;
    if (!this.pending) {
      const pending = {
        since: Date.now(),
        reply: this.redis.ping().then(
          () => null,
          (error: unknown) =>
            `redis ${this.role}: PING failed: ${error instanceof Error ? error.message : String(error)}`,
        ),
      };
      this.pending = pending;
      void pending.reply.finally(() => {
        if (this.pending === pending) this.pending = undefined;
      });
    }
    const { reply, since } = this.pending;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string>((resolve) => {
      timer = setTimeout(
        () => resolve(`redis ${this.role}: no PING reply for ${Date.now() - since} ms`),
        Math.max(0, since + this.timeoutMs - Date.now()),
      );
    });
    try {
      return await Promise.race([reply, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
