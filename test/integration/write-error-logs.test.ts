import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { type LocalRedisServer, startLocalRedis } from '../../src/redis/local-server.ts';
import { type Runtime, startRuntime } from '../../src/runtime.ts';

interface LogLine {
  msg: string;
  err?: Record<string, unknown>;
  suppressed?: number;
}

describe('a storm of failing writes (a demoted primary) makes a bounded number of short log lines', () => {
  let primary: LocalRedisServer;
  let other: LocalRedisServer;
  let admin: Redis;
  let runtime: Runtime;
  const raw: string[] = [];

  beforeAll(async () => {
    [primary, other] = await Promise.all([startLocalRedis(), startLocalRedis()]);
    admin = new Redis(primary.url);
    const config = loadConfig({
      REDIS_URL: primary.url,
      PORT: '0',
      LOG_LEVEL: 'warn',
      SIM_UPDATES_PER_SEC: '100',
    });
    const log = createLogger('warn', { destination: { write: (line: string) => void raw.push(line) } });
    runtime = await startRuntime({ config, log, ingest: true, serve: false, launchRedis: false });
  });
  afterAll(async () => {
    await runtime?.stop();
    admin?.disconnect();
    await Promise.all([primary?.stop(), other?.stop()]);
  });

  it('READONLY on every write: one line per kind per second, counts of the rest, no arguments', async () => {
    const ingester = runtime.ingester!;
    await expect.poll(() => ingester.stats.written, { timeout: 60_000 }).toBeGreaterThan(100);
    const demotedAt = Date.now();
    // The primary becomes a replica of another private redis-server: every write now fails.
    await admin.replicaof('127.0.0.1', String(other.port));
    const errorsBefore = ingester.stats.writeErrors;
    await expect
      .poll(() => ingester.stats.writeErrors - errorsBefore, { timeout: 60_000, interval: 100 })
      .toBeGreaterThan(1_000);
    const seconds = Math.ceil((Date.now() - demotedAt) / 1_000);
    const failures = ingester.stats.writeErrors - errorsBefore;
    const lines = raw.map((l) => JSON.parse(l) as LogLine).filter((l) => /write failed/.test(l.msg));

    expect(lines.length).toBeGreaterThan(0);
    // A handful of kinds (book, trade, feed status; per error code), each at most once a second
    // plus its closing count: far fewer lines than failures.
    expect(lines.length).toBeLessThanOrEqual(8 * (seconds + 2));
    expect(lines.length).toBeLessThan(failures / 10);
    for (const line of raw.filter((l) => /write failed/.test(l))) {
      expect(line).not.toContain('"args"');
      expect(line).not.toMatch(/"bids"|\\"bids\\"/);
      expect(line.length).toBeLessThan(1_000);
    }
    const book = lines.find((l) => l.msg.startsWith('book write failed') && l.err);
    expect(book?.err).toMatchObject({ message: expect.stringMatching(/READONLY/), command: 'evalsha' });
    expect(String(book?.err?.key)).toContain('sim');
    await expect
      .poll(() => raw.some((l) => /write failed/.test(l) && /"suppressed":\d+/.test(l)), { timeout: 60_000 })
      .toBe(true);
  });
});
