import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FaultProxy, respEnd, startFaultProxy } from '../helpers/fault-proxy.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';

// RESP values as a server or client writes them: lines, bulk strings (null too), nested arrays.
const line = fc.stringMatching(/^[a-zA-Z0-9 ]{0,12}$/);
const resp: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    line.map((s) => `+${s}\r\n`),
    line.map((s) => `-ERR ${s}\r\n`),
    fc.integer().map((n) => `:${n}\r\n`),
    fc.string({ maxLength: 20 }).map((s) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`),
    fc.constant('$-1\r\n'),
    fc.array(tie('value'), { maxLength: 4 }).map((items) => `*${items.length}\r\n${items.join('')}`),
  ),
})).value;

describe('fault proxy: RESP framing', () => {
  it('finds where each value of a stream ends, and never inside an incomplete one', () => {
    fc.assert(
      fc.property(fc.array(resp, { minLength: 1, maxLength: 5 }), (values) => {
        const buf = Buffer.from(values.join(''));
        let at = 0;
        for (const value of values) {
          const end = respEnd(buf, at);
          expect(end).toBe(at + Buffer.byteLength(value));
          for (let cut = at; cut < end; cut++) expect(respEnd(buf.subarray(0, cut), at)).toBe(-1);
          at = end;
        }
        expect(respEnd(buf, at)).toBe(-1);
      }),
    );
  });
});

describe('fault proxy against a real redis-server', () => {
  let redis: TestRedis;
  let proxy: FaultProxy;
  let client: Redis;

  beforeAll(async () => {
    redis = await startTestRedis();
    proxy = await startFaultProxy({ host: '127.0.0.1', port: redis.server.port });
    client = new Redis(proxy.url, { maxRetriesPerRequest: 3, retryStrategy: () => 50 });
    client.on('error', () => {});
  });

  afterAll(async () => {
    client?.disconnect();
    await proxy?.stop();
    await redis?.stop();
  });

  it('drops exactly one reply: the command ran, ioredis resends it on a new connection', async () => {
    await client.set('counter', '0');
    const before = proxy.connections;
    const dropped = proxy.dropNextReply((command) => command[0]?.toUpperCase() === 'INCR');
    // INCR is not idempotent: the resent command runs a second time, which is the fault.
    expect(await client.incr('counter')).toBe(2);
    expect(await dropped).toEqual(['incr', 'counter']);
    expect(await redis.client().get('counter')).toBe('2');
    expect(proxy.connections).toBe(before + 1);
  });

  it('holds traffic during a blackhole and delivers it afterwards', async () => {
    const start = Date.now();
    proxy.blackhole(300);
    expect(await client.ping()).toBe('PONG');
    expect(Date.now() - start).toBeGreaterThanOrEqual(290);
  });

  it('adds latency to every chunk until told otherwise', async () => {
    proxy.latency(150);
    const start = Date.now();
    expect(await client.ping()).toBe('PONG');
    // One chunk each way.
    expect(Date.now() - start).toBeGreaterThanOrEqual(290);
    proxy.latency(0);
  });

  it('cuts every connection; clients reconnect', async () => {
    const before = proxy.connections;
    proxy.closeAll();
    await expect.poll(() => client.ping().catch(() => null), { timeout: 60_000 }).toBe('PONG');
    expect(proxy.connections).toBeGreaterThan(before);
  });
});
