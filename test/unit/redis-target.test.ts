import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { parseRedisTarget, RedisUrlError } from '../../src/redis/redis-target.ts';
import { shardedPublish, WRITE_BOOK_EVENT, WRITE_BOOK_EVENT_SHARDED } from '../../src/redis/scripts.ts';

describe('REDIS_URL topologies', () => {
  it('keeps a redis:// or rediss:// URL as one server', () => {
    expect(parseRedisTarget('redis://:pw@10.0.0.1:6380/2')).toEqual({
      kind: 'standalone',
      url: 'redis://:pw@10.0.0.1:6380/2',
    });
    expect(parseRedisTarget('rediss://default:pw@host:6379').kind).toBe('standalone');
  });

  it('reads a cluster URL as its seed nodes, with credentials and TLS', () => {
    expect(parseRedisTarget('redis+cluster://127.0.0.1:7000, 127.0.0.1:7001,[::1]:7002,node-4')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '127.0.0.1', port: 7000 },
        { host: '127.0.0.1', port: 7001 },
        { host: '::1', port: 7002 },
        { host: 'node-4', port: 6379 },
      ],
      username: undefined,
      password: undefined,
      tls: false,
    });
    expect(parseRedisTarget('rediss+cluster://app:p%40ss@a:7000,b:7000')).toMatchObject({
      kind: 'cluster',
      username: 'app',
      password: 'p@ss',
      tls: true,
    });
  });

  it('reads a sentinel URL as its sentinels, the master name and the db', () => {
    expect(parseRedisTarget('redis+sentinel://:secret@s1,s2:26380/mymaster/3')).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      masterName: 'mymaster',
      db: 3,
      username: undefined,
      password: 'secret',
      tls: false,
    });
  });

  it('refuses what it cannot connect to, saying why', () => {
    for (const bad of [
      'http://localhost:6379',
      'not a url',
      'redis+sentinel://s1:26379',
      'redis+sentinel://s1:26379/m/x',
      'redis+cluster://a:7000/0',
      'redis+cluster://a:99999',
      'redis+cluster://a:7000,,b:7001',
    ]) {
      expect(() => parseRedisTarget(bad), bad).toThrow(RedisUrlError);
    }
    expect(() => loadConfig({ REDIS_URL: 'redis+sentinel://s1:26379' })).toThrow(/REDIS_URL: a sentinel URL/);
    expect(loadConfig({ REDIS_URL: 'redis+cluster://a:7000,b:7000' }).redis.url).toBe(
      'redis+cluster://a:7000,b:7000',
    );
  });

  it('the cluster variant of the book write script publishes with SPUBLISH, nothing else changed', () => {
    expect(WRITE_BOOK_EVENT_SHARDED).not.toBe(WRITE_BOOK_EVENT);
    expect(WRITE_BOOK_EVENT_SHARDED.replace('SPUBLISH', 'PUBLISH')).toBe(WRITE_BOOK_EVENT);
    expect(() => shardedPublish('return 1')).toThrow(/must PUBLISH once, found 0/);
    expect(shardedPublish("redis.call('PUBLISH', KEYS[5], ARGV[9])")).toBe(
      "redis.call('SPUBLISH', KEYS[5], ARGV[9])",
    );
  });
});
