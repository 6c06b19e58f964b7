import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FaultProxy, respValueEnd, startFaultProxy } from '../helpers/fault-proxy.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';

describe('respValueEnd', () => {
  const end = (text: string) => respValueEnd(Buffer.from(text), 0);
  it('finds the end of whole replies and says -1 for partial ones', () => {
    expect(end('+OK\r\n')).toBe(5);
    expect(end(':12\r\n+OK\r\n')).toBe(5);
    expect(end('$3\r\nabc\r\n')).toBe(9);
    expect(end('$-1\r\n')).toBe(5);
    expect(end('*2\r\n$1\r\na\r\n:1\r\n')).toBe(15);
    expect(end('%1\r\n+k\r\n+v\r\n')).toBe(12);
    expect(end('$3\r\nab')).toBe(-1);
    expect(end('*2\r\n$1\r\na\r\n')).toBe(-1);
    expect(end('+O')).toBe(-1);
  });
});

describe('fault proxy (a real redis-server behind it)', () => {
  let redis: TestRedis;
  let proxy: FaultProxy;
  let direct: Redis;
  const proxied: Redis[] = [];
  const through = () => {
    const c = new Redis(proxy.url, { maxRetriesPerRequest: 5, retryStrategy: () => 50 });
    c.on('error', () => {});
    proxied.push(c);
    return c;
  };

  beforeAll(async () => {
    redis = await startTestRedis();
    proxy = await startFaultProxy(redis.server.port);
    direct = redis.client();
  });
  afterAll(async () => {
    for (const c of proxied) c.disconnect();
    await proxy?.stop();
    await redis?.stop();
  });

  it('forwards commands and replies', async () => {
    const c = through();
    await c.set('fp:a', 'x'.repeat(100_000));
    expect(await c.get('fp:a')).toHaveLength(100_000);
    expect(await direct.get('fp:a')).toHaveLength(100_000);
  });

  it('blackhole: accepts but forwards nothing until it ends, then delivers in order', async () => {
    const c = through();
    await c.ping();
    proxy.blackhole(120_000);
    let settled = false;
    const reply = c.set('fp:bh', 'v').finally(() => {
      settled = true;
    });
    // A new connection is accepted during the blackhole too, and hears nothing either.
    const late = through();
    const lateReply = late.get('fp:bh');
    for (let i = 0; i < 20; i++) await direct.ping();
    expect(await direct.get('fp:bh')).toBeNull();
    expect(settled).toBe(false);
    proxy.endBlackhole();
    expect(await reply).toBe('OK');
    expect(await direct.get('fp:bh')).toBe('v');
    expect(await lateReply).toBe('v');
  });

  it('latency: each direction is delayed', async () => {
    const c = through();
    await c.ping();
    proxy.latency(300);
    const started = Date.now();
    await c.ping();
    // Command and reply each wait 300 ms; a loaded machine only makes it longer.
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    proxy.latency(0);
    expect(await c.ping()).toBe('PONG');
  });

  it('dropNextReply: the command runs, its reply never arrives, the connection is cut', async () => {
    const c = through();
    await c.del('fp:n');
    let closes = 0;
    c.on('close', () => {
      closes += 1;
    });
    const dropped = proxy.dropNextReply((r) => r.startsWith(':'));
    // ioredis resends a command whose reply was lost (autoResendUnfulfilledCommands): the
    // increment runs twice although the client asked once — the fault issue 14 row 1 names.
    const result = await c.incr('fp:n');
    expect(await dropped).toBe(':1\r\n');
    expect(closes).toBeGreaterThanOrEqual(1);
    expect(result).toBe(2);
    expect(await direct.get('fp:n')).toBe('2');
  });

  it('closeAll: every connection is cut, clients reconnect through it', async () => {
    const c = through();
    await c.ping();
    expect(proxy.connections()).toBeGreaterThan(0);
    const closed = new Promise((r) => c.once('close', r));
    proxy.closeAll();
    await closed;
    expect(await c.ping()).toBe('PONG');
  });
});
