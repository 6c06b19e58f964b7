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

/** The environment without bookgraph's variables, plus `vars`. */
function cleanEnv(vars: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(FEEDS|SYMBOLS|EXCHANGE_|SIM_|PORT|HOST|REGION|REDIS_URL|LOG_LEVEL)/.test(key)) delete env[key];
  }
  return { ...env, NODE_ENV: 'test', REDIS_URL: redis.url, REGION, LOG_LEVEL: 'silent', ...vars };
}

/** Runs `bookgraph ingest` until its first event of `symbol`'s book; returns that event's message. */
async function ingestUntilFirstEvent(args: string[], env: NodeJS.ProcessEnv, symbol: string) {
  const watcher = redis.client();
  await watcher.subscribe(bookChannel(env.REGION ?? REGION, 'binance', symbol));
  const firstEvent = once(watcher, 'message');
  const process_ = spawn(process.execPath, [CLI, 'ingest', ...args], { env: cleanEnv(env), stdio: 'pipe' });
  child = process_;
  let stderr = '';
  process_.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = once(process_, 'exit');
  const [, message] = (await firstEvent) as [string, string];
  watcher.disconnect();
  return {
    message,
    /** SIGTERM, then the exit code and signal, and what it wrote to stderr. */
    async stop() {
      process_.kill('SIGTERM');
      return { exit: await exited, stderr };
    },
  };
}

describe('bookgraph ingest --exchange', () => {
  it('ingests the venue named on the command line into Redis and exits 0 on SIGTERM', async () => {
    const run = await ingestUntilFirstEvent(
      [
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
      {},
      'ETH/USDT',
    );
    const event = decodeBookEvent(run.message);
    expect(event.ok && event.value.kind).toBe('snapshot');
    expect(event.ok && event.value.venueSeq).toBe(venue.lastSeq('ETH/USDT'));

    const store = new BookStore(redis.client(), REGION);
    expect((await store.readMarkets('binance')).map((m) => m.symbol)).toEqual(['BTC/USDT', 'ETH/USDT']);
    const stored = await store.readBook('binance', 'ETH/USDT', 1_000);
    expect(stored && sameTop(stored, venue.book('ETH/USDT'))).toBe(true);

    expect(await run.stop()).toEqual({ exit: [0, null], stderr: '' });
  });

  it('follows the symbols FEEDS lists for the feed (ccxt:binance:ETH/USDT), not SYMBOLS', async () => {
    const region = 'cli-feeds'; // the first test's books stay in its own region
    const store = new BookStore(redis.client(), region);
    const run = await ingestUntilFirstEvent(
      ['--port', '0'],
      {
        REGION: region,
        FEEDS: 'ccxt:binance:ETH/USDT',
        SYMBOLS: 'BTC/USDT',
        EXCHANGE_REST_URL: venue.restUrl,
        EXCHANGE_WS_URL: venue.wsUrl,
      },
      'ETH/USDT',
    );
    expect(decodeBookEvent(run.message).ok).toBe(true);
    expect((await store.readMarkets('binance')).map((m) => m.symbol)).toEqual(['ETH/USDT']);
    expect(venue.subscribers('BTC/USDT', 'book')).toBe(0);
    // The stored book carries the venue's update id of that very book.
    const stored = await store.readBook('binance', 'ETH/USDT', 1_000);
    expect(stored?.venueSeq).toBe(venue.lastSeq('ETH/USDT'));
    expect(stored && sameTop(stored, venue.bookAt('ETH/USDT', stored.venueSeq!)!)).toBe(true);
    expect(await store.readBook('binance', 'BTC/USDT', 1_000)).toBeNull();
    expect(await run.stop()).toEqual({ exit: [0, null], stderr: '' });
  });
});
