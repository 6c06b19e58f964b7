import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { type LocalRedisServer, startLocalRedis } from '../../src/redis/local-server.ts';
import { type Runtime, startRuntime } from '../../src/runtime.ts';

/** What the ingester logs of a failed write (src/ingest/write-failures.ts, src/observability/rate-limited-log.ts). */
interface LogLine {
  msg: string;
  command?: string;
  key?: string;
  error?: string;
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
      // Long enough that the once-a-second line of each key is far outnumbered by the failures.
      .toBeGreaterThan(3_000);
    const seconds = Math.ceil((Date.now() - demotedAt) / 1_000);
    const failures = ingester.stats.writeErrors - errorsBefore;
    const failed = (l: LogLine) => /^write_\w+ failed( \(suppressed repeats\))?$/.test(l.msg);
    const lines = raw.map((l) => JSON.parse(l) as LogLine).filter(failed);

    expect(lines.length).toBeGreaterThan(0);
    // Each key (a book, a market's trades, an exchange's feed status) at most once a second, with
    // a count of the rest: far fewer lines than failures.
    const keys = new Set(lines.map((l) => l.key));
    expect(lines.length).toBeLessThanOrEqual(keys.size * (seconds + 2));
    expect(lines.length).toBeLessThan(failures / 10);
    for (const line of raw.filter((l) => failed(JSON.parse(l) as LogLine))) {
      expect(line).not.toContain('"args"');
      expect(line.toLowerCase()).not.toContain('evalsha');
      expect(line).not.toMatch(/"bids"|\\"bids\\"/);
      expect(line.length).toBeLessThan(1_000);
    }
    const book = lines.find((l) => l.command === 'write_book');
    expect(book?.error).toMatch(/READONLY/);
    expect(String(book?.key)).toContain('sim');
    await expect
      .poll(() => raw.some((l) => failed(JSON.parse(l) as LogLine) && /"suppressed":[1-9]/.test(l)), {
        timeout: 60_000,
      })
      .toBe(true);
  });
});
