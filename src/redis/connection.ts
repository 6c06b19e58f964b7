import { Redis, type RedisOptions } from 'ioredis';

export type RedisRole = 'command' | 'subscriber' | 'writer';

/**
 * A command unanswered this long fails (`REDIS_COMMAND_TIMEOUT_MS`). Not lower: ioredis times a
 * command on the event loop, so a process stalled for this long (a loaded CI machine at start-up)
 * would see its own late reads as timeouts.
 */
export const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;

export interface RedisConnectionOptions extends RedisOptions {
  /**
   * Fail a command unanswered after this long, so nothing waits through an outage (a paused,
   * sleeping or blackholed Redis keeps the TCP connection "ready"). Never on the subscriber: a
   * SUBSCRIBE connection waits for messages by design. @default DEFAULT_COMMAND_TIMEOUT_MS
   */
  commandTimeoutMs?: number;
}

/**
 * One ioredis client per role and process. Reconnects with capped exponential backoff and jitter;
 * a command waits at most a few retries instead of queueing forever behind a dead server, and at
 * most `commandTimeoutMs` behind a live but silent one.
 */
export function createRedis(
  url: string,
  role: RedisRole,
  { commandTimeoutMs = DEFAULT_COMMAND_TIMEOUT_MS, ...overrides }: RedisConnectionOptions = {},
): Redis {
  return new Redis(url, {
    connectionName: `bookgraph:${role}:${process.pid}`,
    maxRetriesPerRequest: role === 'subscriber' ? null : 3,
    enableAutoPipelining: role === 'command',
    keepAlive: 10_000,
    retryStrategy: (attempt) =>
      Math.min(2_000, 50 * 2 ** Math.min(attempt, 6)) + Math.floor(Math.random() * 100),
    ...(role === 'subscriber' ? {} : { commandTimeout: commandTimeoutMs }),
    ...overrides,
  });
}
