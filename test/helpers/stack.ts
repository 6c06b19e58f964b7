import { pino } from 'pino';
import { Ingester, type IngesterOptions } from '../../src/ingest/ingester.ts';
import type { Logger } from '../../src/log.ts';
import { MarketSimulator, type SimulatorOptions } from '../../src/marketdata/simulator.ts';
import type { BookEvent } from '../../src/marketdata/types.ts';
import { BookHub } from '../../src/pubsub/book-hub.ts';
import type { ResetReason } from '../../src/pubsub/book-replica.ts';
import { ChannelSubscriber } from '../../src/pubsub/channel-subscriber.ts';
import { createMarketTopics, type MarketTopics } from '../../src/pubsub/market-topics.ts';
import { BookStore } from '../../src/redis/book-store.ts';
import { createRedis, type RedisClient } from '../../src/redis/connection.ts';
import { bookChannel } from '../../src/redis/keys.ts';
import type { ApiLimits } from '../../src/resolvers/deps.ts';
import { staleAfterMs } from '../../src/resolvers/orderbook.ts';
import { type App, type AppOptions, type AuthOptions, createApp } from '../../src/server/app.ts';
import type { EdgeOverrides } from '../../src/server/edge/index.ts';
import type { HeldBookResults } from '../../src/server/plugins/held-book-results.ts';
import { createTrading } from '../../src/trading/trading.ts';
import type { ExternalVenue } from '../../src/trading/venue.ts';
import { ReferenceLog } from './book-checker.ts';
import type { TestRedis } from './redis.ts';

export const REGION = 'test';
export const silentLog = pino({ level: 'silent' });

export interface StackOptions {
  simulator?: SimulatorOptions;
  /** Start the simulator with the stack. @default true */
  ingest?: boolean;
  /** Overrides of the server's limits (a short `staleAfterMs`, say). */
  limits?: Partial<ApiLimits>;
  /** More ingester options (hooks, feed status interval, candle retention). */
  ingester?: Partial<Omit<IngesterOptions, 'store' | 'feeds' | 'log'>>;
  /** The server's clock. @default Date.now */
  now?: () => number;
  /** Real execution venues of the server's trading (`EXECUTION_VENUES`). @default none: paper only */
  venues?: readonly ExternalVenue[];
  /** Overrides of the server's key checks (how often keys are re-read, anonymous market data). */
  auth?: AuthOptions;
  /** Overrides of the server's request limits and quotas. @default production values */
  edge?: EdgeOverrides;
  /** Answer introspection and suggestions (development). @default true */
  introspection?: boolean;
  /** Run queries compiled by graphql-jit. @default true */
  compiledQueries?: boolean;
  /** The app's kept answers of queries on held books (its counts: reused or not). */
  heldBookResults?: HeldBookResults;
  /** The server's log. @default silent */
  log?: Logger;
  /** The region of the server and of `startIngester`'s writer. @default REGION */
  region?: string;
  /** Every region the server reads (`REGIONS`), `region` first. @default [region] */
  regions?: readonly string[];
  /** How often the server looks again at which copy of each watched book to serve. @default 1000 */
  copyCheckMs?: number;
  /** Where the server and ingester connect (a fault proxy in front of the test's Redis). @default its URL */
  redisUrl?: string;
  /** The connections' command timeout (REDIS_COMMAND_TIMEOUT_MS). @default the product's */
  commandTimeoutMs?: number;
}

/**
 * Writer and server composed by hand (what `startRuntime` does), so a test can stop or replace
 * the ingester alone and reach the server's subscriber connection. `stop()` undoes it all.
 */
export interface Stack {
  app: App;
  port: number;
  httpUrl: string;
  wsUrl: string;
  hub: BookHub;
  /** The stack's subscriber connection and its market fan-outs, for a second app on them. */
  channels: ChannelSubscriber;
  topics: MarketTopics;
  /** The server's pub/sub connection. */
  subscriber: RedisClient;
  /** A command connection of the test's own, for reading keys and publishing forged messages. */
  redis: RedisClient;
  reference: ReferenceLog;
  ingester: Ingester | undefined;
  resets: ResetReason[];
  startIngester(options?: SimulatorOptions): Promise<Ingester>;
  stopIngester(): Promise<void>;
  /**
   * Another region's ingester on the same Redis (the stand-in for Active-Active replication),
   * recording into the same reference log; stopped with the stack.
   */
  startRegionIngester(region: string, options?: SimulatorOptions): Promise<Ingester>;
  stop(): Promise<void>;
}

/** The limits of a stack's server unless a test overrides them. */
export const TEST_LIMITS: ApiLimits = {
  maxDepth: 100,
  minThrottleMs: 10,
  maxThrottleMs: 60_000,
  staleAfterMs: 5_000,
  subscriberQueueMax: 1_000,
};

/**
 * A second app on the stack's hub and subscriber connection (so it serves the very same views),
 * with other options: auth, the push path off. Not started, and the caller's to stop.
 */
export function appOnStack(stack: Stack, options: Omit<AppOptions, 'deps' | 'channels' | 'log'> = {}): App {
  return createApp({
    ...options,
    channels: stack.channels,
    log: silentLog,
    deps: {
      region: REGION,
      store: new BookStore(stack.redis, REGION),
      hub: stack.hub,
      topics: stack.topics,
      log: silentLog,
      limits: TEST_LIMITS,
      now: Date.now,
      redisReady: () => stack.redis.status === 'ready',
    },
  });
}

export async function startStack(
  testRedis: Pick<TestRedis, 'url'>,
  options: StackOptions = {},
): Promise<Stack> {
  const clients: RedisClient[] = [];
  const client = (role: 'command' | 'subscriber' | 'writer') => {
    const c = createRedis(
      options.redisUrl ?? testRedis.url,
      role,
      options.commandTimeoutMs ? { commandTimeoutMs: options.commandTimeoutMs } : {},
    );
    c.on('error', () => {});
    clients.push(c);
    return c;
  };
  const reference = new ReferenceLog();
  const resets: ResetReason[] = [];
  const commands = client('command');
  const subscriber = client('subscriber');
  const writer = client('writer');
  const region = options.region ?? REGION;
  const limits: ApiLimits = { ...TEST_LIMITS, ...options.limits };
  const store = new BookStore(commands, region);
  const channels = new ChannelSubscriber(subscriber, commands);
  const topics = createMarketTopics(channels, silentLog);
  const hub = new BookHub({
    store,
    channels,
    subscriber,
    log: silentLog,
    onReset: (reason) => resets.push(reason),
    regions: options.regions ?? [region],
    staleAfterMs: (exchange, symbol) => staleAfterMs({ limits }, exchange, symbol),
    copyCheckMs: options.copyCheckMs,
    now: options.now,
  });
  const regionIngesters: Ingester[] = [];
  const ingesterIn = (writerRegion: string, simulator: SimulatorOptions | undefined) =>
    new Ingester({
      store: recordingAttempts(new BookStore(writer, writerRegion), reference),
      feeds: [new MarketSimulator(simulator)],
      log: silentLog,
      onWritten: reference.record,
      ...options.ingester,
    });
  const app = createApp({
    channels,
    log: options.log ?? silentLog,
    ...(options.auth ? { auth: options.auth } : {}),
    ...(options.edge ? { edge: options.edge } : {}),
    ...(options.introspection === undefined ? {} : { introspection: options.introspection }),
    ...(options.compiledQueries === undefined ? {} : { compiledQueries: options.compiledQueries }),
    ...(options.heldBookResults ? { heldBookResults: options.heldBookResults } : {}),
    ...(options.venues
      ? {
          trading: createTrading({
            books: store,
            hub,
            channels,
            log: silentLog,
            now: options.now,
            venues: options.venues,
            staleAfterMs: (exchange, symbol) => staleAfterMs({ limits }, exchange, symbol),
          }),
        }
      : {}),
    deps: {
      region,
      store,
      hub,
      topics,
      log: silentLog,
      limits,
      now: options.now ?? Date.now,
      redisReady: () => commands.status === 'ready',
    },
  });
  const port = await app.start(0);

  const stack: Stack = {
    app,
    port,
    httpUrl: `http://127.0.0.1:${port}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    hub,
    channels,
    topics,
    subscriber,
    redis: commands,
    reference,
    ingester: undefined,
    resets,
    async startIngester(simulator = options.simulator) {
      const ingester = ingesterIn(region, simulator);
      stack.ingester = ingester;
      await ingester.start();
      return ingester;
    },
    async stopIngester() {
      await stack.ingester?.stop();
    },
    async startRegionIngester(other, simulator = options.simulator) {
      const ingester = ingesterIn(other, simulator);
      regionIngesters.push(ingester);
      await ingester.start();
      return ingester;
    },
    async stop() {
      await app.stop();
      hub.close();
      await stack.ingester?.stop();
      for (const ingester of regionIngesters) await ingester.stop();
      await Promise.allSettled(clients.map((c) => c.quit()));
      for (const c of clients) c.disconnect();
    },
  };
  try {
    if (options.ingest ?? true) await stack.startIngester();
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return stack;
}

/**
 * The writer's store, telling `reference` of every book event it sends before the outcome is
 * known: a write whose reply is lost may still have been applied (see ReferenceLog).
 */
function recordingAttempts(store: BookStore, reference: ReferenceLog): BookStore {
  const write = store.writeBookEvent.bind(store);
  store.writeBookEvent = (event, ...rest) => {
    reference.attempted(event);
    return write(event, ...rest);
  };
  return store;
}

/** The last event the writer stored for a book; throws before the first. */
export function lastWritten(stack: Stack, exchange: string, symbol: string): BookEvent {
  const last = stack.reference.last(exchange, symbol);
  if (!last) throw new Error('nothing written yet');
  return last;
}

/**
 * Publishes `message` on a book's channel as if the writer had (a forged or corrupt event);
 * resolves with the number of subscribers that got it.
 */
export function publishToBook(
  stack: Stack,
  exchange: string,
  symbol: string,
  message: string,
): Promise<number> {
  return stack.redis.publish(bookChannel(REGION, exchange, symbol), message);
}
