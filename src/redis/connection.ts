import { Redis, type RedisOptions } from 'ioredis';

export type RedisRole = 'command' | 'subscriber' | 'writer';

/**
 * One ioredis client per role and process. Reconnects with capped exponential backoff and jitter;
 * a command waits at most a few retries instead of queueing forever behind a dead server.
 */
export function createRedis(url: string, role: RedisRole, overrides: RedisOptions = {}): Redis {
  return new Redis(url, {
    connectionName: `bookgraph:${role}:${process.pid}`,
    maxRetriesPerRequest: role === 'subscriber' ? null : 3,
    enableAutoPipelining: role === 'command',
    keepAlive: 10_000,
    retryStrategy: (attempt) =>
      Math.min(2_000, 50 * 2 ** Math.min(attempt, 6)) + Math.floor(Math.random() * 100),
    ...overrides,
  });
}
