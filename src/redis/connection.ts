import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { parseRedisTarget } from './redis-target.ts';

export type RedisRole = 'command' | 'subscriber' | 'writer';

/** A connection to the region's Redis, whatever its topology: one server, a Sentinel primary, a Cluster. */
export type RedisClient = Redis | Cluster;

/** Whether the client talks to a Redis Cluster (scripts and pipelines must stay in one slot). */
export function isCluster(client: RedisClient): client is Cluster {
  return 'isCluster' in client && client.isCluster;
}

const backoff = (attempt: number) =>
  Math.min(2_000, 50 * 2 ** Math.min(attempt, 6)) + Math.floor(Math.random() * 100);

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
 * One ioredis client per role and process, for the topology REDIS_URL names (src/redis/redis-target.ts).
 * Reconnects with capped exponential backoff and jitter; a command waits at most a few retries
 * instead of queueing forever behind a dead server, and at most `commandTimeoutMs` behind a live
 * but silent one. On a Cluster the subscriber holds one connection per shard, so sharded channels
 * (SSUBSCRIBE) are read from the shard that owns them.
 */
export function createRedis(
  url: string,
  role: RedisRole,
  { commandTimeoutMs = DEFAULT_COMMAND_TIMEOUT_MS, ...overrides }: RedisConnectionOptions = {},
): RedisClient {
  const options: RedisOptions = {
    connectionName: `bookgraph:${role}:${process.pid}`,
    maxRetriesPerRequest: role === 'subscriber' ? null : 3,
    enableAutoPipelining: role === 'command',
    keepAlive: 10_000,
    retryStrategy: backoff,
    ...(role === 'subscriber' ? {} : { commandTimeout: commandTimeoutMs }),
    // A command whose reply was lost may have run: resent, a trade would be written twice. The
    // ingester treats such a write as failed instead (a book reopens with a snapshot, a trade is
    // counted lost). Trading writes carry operation ids and may be resent.
    ...(role === 'writer' ? { autoResendUnfulfilledCommands: false } : {}),
    ...overrides,
  };
  const target = parseRedisTarget(url);
  if (target.kind === 'standalone') return new Redis(url, options);
  const auth = {
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
    ...(target.tls ? { tls: {} } : {}),
  };
  if (target.kind === 'sentinel') {
    const sentinelOptions: RedisOptions = {
      ...options,
      ...auth,
      sentinels: target.sentinels,
      name: target.masterName,
      db: target.db,
      // Follow a failover as soon as a sentinel announces it (+switch-master), not only when the
      // old primary's connection breaks.
      failoverDetector: true,
      sentinelRetryStrategy: options.retryStrategy ?? undefined,
    };
    return new Redis(sentinelOptions);
  }
  const { enableAutoPipelining, retryStrategy, ...nodeOptions } = options;
  return new Cluster(target.nodes, {
    redisOptions: { ...nodeOptions, ...auth },
    enableAutoPipelining,
    clusterRetryStrategy: retryStrategy,
    shardedSubscribers: role === 'subscriber',
    // A subscriber sends no commands, so no MOVED tells it of a failover: poll the slot map, and
    // ioredis moves each shard's SSUBSCRIBEs to the shard's new master when it changes.
    ...(role === 'subscriber' ? { slotsRefreshInterval: 1_000 } : {}),
    // A failover takes a few seconds: keep redirecting and retrying instead of failing the command.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
  });
}
