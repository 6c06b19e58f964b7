import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BookStore } from '../../src/redis/book-store.ts';
import { bookChannel } from '../../src/redis/keys.ts';
import { decodeBookEvent } from '../../src/wire/codec.ts';
import { type FakeBinance, startFakeBinance } from '../fakes/fake-binance.ts';
import { sameTop } from '../helpers/book-checker.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';

/** `bookgraph ingest --exchange binance --symbols ...` against the fake venue, as an operator runs it. */
const CLI = fileURLToPath(new URL('../../bin/bookgraph-dev.js', import.meta.url));
const REGION = 'cli';

let redis: TestRedis;
let venue: FakeBinance;
let child: ChildProcess | undefined;

beforeAll(async () => {
  redis = await startTestRedis();
  venue = await startFakeBinance();
});

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await venue?.close();
  await redis?.stop();
});

describe('bookgraph ingest --exchange', () => {
  it('ingests the venue named on the command line into Redis and exits 0 on SIGTERM', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const key of Object.keys(env)) {
      if (/^(FEEDS|SYMBOLS|EXCHANGE_|SIM_|PORT|HOST|REGION|REDIS_URL|LOG_LEVEL)/.test(key)) delete env[key];
    }
    const watcher = redis.client();
    const channel = bookChannel(REGION, 'binance', 'ETH/USDT');
    await watcher.subscribe(channel);
    const firstEvent = once(watcher, 'message');

    child = spawn(
      process.execPath,
      [
        CLI,
        'ingest',
        '--exchange',
        'binance',
        '--symbols',
        'BTC/USDT,ETH/USDT',
        '--rest-url',
        venue.restUrl,
        '--ws-url',
        venue.wsUrl,
        '--port',
        '0',
      ],
      { env: { ...env, NODE_ENV: 'test', REDIS_URL: redis.url, REGION, LOG_LEVEL: 'silent' }, stdio: 'pipe' },
    );
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = once(child, 'exit');

    const [, message] = (await firstEvent) as [string, string];
    const event = decodeBookEvent(message);
    expect(event.ok && event.value.kind).toBe('snapshot');
    expect(event.ok && event.value.venueSeq).toBe(venue.lastSeq('ETH/USDT'));

    const store = new BookStore(redis.client(), REGION);
    expect((await store.readMarkets('binance')).map((m) => m.symbol)).toEqual(['BTC/USDT', 'ETH/USDT']);
    const stored = await store.readBook('binance', 'ETH/USDT', 1_000);
    expect(stored && sameTop(stored, venue.book('ETH/USDT'))).toBe(true);

    child.kill('SIGTERM');
    expect(await exited).toEqual([0, null]);
    expect(stderr).toBe('');
  });
});
