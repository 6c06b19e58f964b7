import type { Config } from './config.ts';
import { Ingester } from './ingest/ingester.ts';
import type { Logger } from './log.ts';
import type { Feed } from './marketdata/feed.ts';
import { MarketSimulator, simulatedVenues } from './marketdata/simulator.ts';
import type { BookEvent } from './marketdata/types.ts';
import { Metrics } from './observability/metrics.ts';
import { Tracing } from './observability/tracing.ts';
import { BookHub } from './pubsub/book-hub.ts';
import { ChannelSubscriber } from './pubsub/channel-subscriber.ts';
import { createMarketTopics } from './pubsub/market-topics.ts';
import { BookStore } from './redis/book-store.ts';
import { createRedis, type RedisClient } from './redis/connection.ts';
import { type LocalRedisServer, redisAnswers, startLocalRedis } from './redis/local-server.ts';
import { RedisProbe } from './redis/probe.ts';
import { staleAfterMs } from './resolvers/orderbook.ts';
import { type App, type AppOptions, createApp, type ReadinessCheck } from './server/app.ts';
import { createOpsServer, type OpsServer } from './server/ops-server.ts';
import type { SharedExecutionStats } from './server/plugins/use-shared-execution.ts';
import { createTrading } from './trading/trading.ts';

export interface RuntimeOptions {
  config: Config;
  log: Logger;
  ingest: boolean;
  serve: boolean;
  /** Launch a private redis-server when none is configured or listening on 6379 (`start`). */
  launchRedis: boolean;
  /** Where `launchRedis` looks for an already running Redis first. @default config.redis.localPort */
  defaultRedisPort?: number;
  onWritten?: (event: BookEvent) => void;
  executionStats?: SharedExecutionStats;
  /** The process's metrics. @default a new registry */
  metrics?: Metrics;
  /** Feeds to ingest instead of those `FEEDS` names (`bookgraph replay`). */
  feeds?: Feed[];
  /** The process's tracing. @default from `config.tracing` (off unless OTEL_ENABLED) */
  tracing?: Tracing;
  /** Headers on every response of the GraphQL server (AppOptions.responseHeaders). */
  responseHeaders?: Readonly<Record<string, string>>;
}

export interface Runtime {
  redisUrl: string;
  /** The launched private Redis, if any. */
  localRedis: LocalRedisServer | undefined;
  app: App | undefined;
  ingester: Ingester | undefined;
  /** The GraphQL port; in an ingest-only process, the port of /health, /ready and /metrics. */
  port: number | undefined;
  /** The port of /health, /ready and /metrics (`OPS_PORT`) beside the GraphQL port, if there is one. */
  opsPort: number | undefined;
  /** OpenTelemetry tracing (a no-op when off); `stop()` flushes and shuts it down. */
  tracing: Tracing;
  /** Whether every Redis connection of the process is up now. */
  redisReady(): boolean;
  stop(): Promise<void>;
}

async function resolveRedis(options: RuntimeOptions): Promise<{ url: string; local?: LocalRedisServer }> {
  if (options.config.redis.url) return { url: options.config.redis.url };
  const port = options.defaultRedisPort ?? options.config.redis.localPort;
  const url = `redis://127.0.0.1:${port}`;
  if (!options.launchRedis || (await redisAnswers(port))) return { url };
  const local = await startLocalRedis();
  options.log.info(
    { url: local.url, pid: local.pid },
    `no REDIS_URL and nothing on 127.0.0.1:${port}: started a private redis-server (stopped on exit)`,
  );
  return { url: local.url, local };
}

export async function createFeeds(config: Config, log: Logger): Promise<Feed[]> {
  const feeds: Feed[] = [];
  // One simulator runs every simulated venue FEEDS names (`sim`, or `sim:sim1,sim:sim2`).
  const venues = simulatedVenues(config.feeds);
  if (venues.length > 0) {
    feeds.push(
      new MarketSimulator({
        seed: config.simulator.seed,
        updatesPerSecond: config.simulator.updatesPerSecond,
        venues,
      }),
    );
  }
  for (const name of config.feeds) {
    if (name === 'sim' || name.startsWith('sim:')) continue;
    const exchange = /^ccxt:([a-z0-9]+)$/.exec(name)?.[1];
    if (!exchange) throw new Error(`unknown feed "${name}"`);
    // ccxt is large: only a process that ingests a real venue loads it.
    const { CcxtFeed } = await import('./marketdata/ccxt-feed.ts');
    const { restUrls, wsUrls, symbols, feedSymbols, depths, auditIntervalMs } = config.ccxt;
    const depth = depths[exchange] ?? depths['*'];
    feeds.push(
      new CcxtFeed({
        exchange,
        symbols: feedSymbols[exchange] ?? symbols,
        restUrl: restUrls[exchange] ?? restUrls['*'],
        wsUrl: wsUrls[exchange] ?? wsUrls['*'],
        ...(depth === undefined ? {} : { depth }),
        auditIntervalMs,
        log: log.child({ feed: name }),
      }),
    );
  }
  return feeds;
}

/** `bookgraph-start`, `bookgraph-server` or `bookgraph-ingester`, unless OTEL_SERVICE_NAME says otherwise. */
function startTracing(options: RuntimeOptions): Tracing {
  const { tracing } = options.config;
  if (!tracing.enabled) return Tracing.off();
  const role = options.ingest && options.serve ? 'start' : options.serve ? 'server' : 'ingester';
  return Tracing.start({
    endpoint: tracing.endpoint,
    serviceName: tracing.serviceName ?? `bookgraph-${role}`,
    sampleRatio: tracing.sampleRatio,
    ingestSampleRatio: tracing.ingestSampleRatio,
    exportTimeoutMs: tracing.exportTimeoutMs,
    attributes: { 'bookgraph.region': options.config.region },
  });
}

/**
 * In a process that ingests too, `/ready` fails while no book was written for `staleAfterMs`; a
 * hot standby of every venue it ingests writes nothing by design, and is ready.
 */
function freshnessCheck(ingester: Ingester, staleAfterMs: number): ReadinessCheck {
  return () => {
    if (!ingester.writers.writesAny() && ingester.writers.standbys().length > 0) return null;
    const idle = Date.now() - ingester.stats.lastWriteTs;
    return idle > staleAfterMs ? `feeds stale: no book written for ${idle} ms` : null;
  };
}

/**
 * Development serves the dashboard bundled from source on its first request; production the folder
 * `npm run build:dashboard` wrote, and the page asks for a key there (kept in the page's memory).
 */
function dashboardOptions(config: Config, anonymousMarketData: boolean): AppOptions['dashboard'] {
  const production = config.env === 'production';
  return {
    source: production ? 'folder' : 'build',
    page: { region: config.region, env: config.env, keyRequired: production || !anonymousMarketData },
  };
}

/**
 * Builds the roles a command asks for from config: the ingest pipeline, the GraphQL server, or
 * both in one process. `stop()` undoes everything in reverse order: server first, Redis last.
 */
export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { config, log } = options;
  const { url, local } = await resolveRedis(options);
  const clients: RedisClient[] = [];
  // `/ready` of every role: each of its connections answers a PING within the deadline.
  const probes: ReadinessCheck[] = [];
  const client = (role: Parameters<typeof createRedis>[1]) => {
    const c = createRedis(url, role, { commandTimeoutMs: config.redis.commandTimeoutMs });
    c.on('error', (err) => log.warn({ err, role }, 'redis connection error'));
    clients.push(c);
    metrics.watchRedis(role, () => c.status === 'ready');
    const probe = new RedisProbe(c, role, config.redis.readyTimeoutMs);
    probes.push(() => probe.check());
    return c;
  };
  const metrics = options.metrics ?? new Metrics();
  const tracing = options.tracing ?? startTracing(options);
  if (tracing.enabled) metrics.traceRedisWith(tracing.tracer);
  let ingester: Ingester | undefined;
  let app: App | undefined;
  let hub: BookHub | undefined;
  let subscriptions: ChannelSubscriber | undefined;
  let ops: OpsServer | undefined;
  let port: number | undefined;
  let opsPort: number | undefined;

  const stop = async () => {
    await app?.stop();
    await ops?.stop();
    hub?.close();
    subscriptions?.close();
    await ingester?.stop();
    await Promise.allSettled(clients.map((c) => c.quit()));
    for (const c of clients) c.disconnect();
    // Last, so the spans of the drain are exported too.
    await tracing.shutdown();
    await local?.stop();
  };

  try {
    if (options.ingest) {
      const writer = client('writer');
      ingester = new Ingester({
        store: new BookStore(writer, config.region, metrics),
        feeds: options.feeds ?? (await createFeeds(config, log)),
        log,
        metrics,
        onWritten: options.onWritten,
        feedStatus: config.feedStatus,
        tracer: tracing.enabled ? tracing.tracer : undefined,
      });
      const feeds = ingester;
      metrics.reportFeedsWith(() => feeds.feedsConnected());
      if (!options.serve) {
        // An ingest-only process still answers probes and scrapes on PORT, from before its feeds
        // start: a venue unreachable at start is a reason on /ready, not a crash loop.
        const standby = ingester;
        ops = createOpsServer(
          metrics,
          [...probes, () => standby.startupReason() ?? freshnessCheck(standby, config.limits.staleAfterMs)()],
          () =>
            standby.writers
              .standbys()
              .map(
                (s) =>
                  `standby: ${s.exchange} is written by ${s.holder} (writer lease); taking over when it expires`,
              ),
        );
        port = await ops.start(config.http.port, config.http.host);
      }
      await ingester.start();
    }
    if (options.serve) {
      const commands = client('command');
      const subscriber = client('subscriber');
      const store = new BookStore(commands, config.region, metrics);
      const channels = new ChannelSubscriber(subscriber, commands);
      subscriptions = channels;
      const books = new BookHub({
        store,
        channels,
        subscriber,
        log,
        metrics,
        onReset: (reason) => metrics.bookResets.inc({ reason }),
        // Every region's copy of each book is readable here; one is served per book.
        regions: config.regions,
        staleAfterMs: (exchange, symbol) => staleAfterMs({ limits: config.limits }, exchange, symbol),
      });
      hub = books;
      metrics.countStaleBooksWith(() => books.staleCount(Date.now(), config.limits.staleAfterMs));
      const feedsFresh = ingester && freshnessCheck(ingester, config.limits.staleAfterMs);
      // Real execution venues (EXECUTION_VENUES); ccxt is loaded only when one is configured.
      const { CcxtVenue } =
        config.trading.venues.length > 0 ? await import('./trading/ccxt-venue.ts') : { CcxtVenue: undefined };
      const venues = config.trading.venues.flatMap((venue) =>
        CcxtVenue
          ? [
              new CcxtVenue({
                ...venue,
                restUrl: config.ccxt.restUrls[venue.exchange] ?? config.ccxt.restUrls['*'],
                wsUrl: config.ccxt.wsUrls[venue.exchange] ?? config.ccxt.wsUrls['*'],
                log,
              }),
            ]
          : [],
      );
      // Anonymous market data: on in `start`, off by default in `serve`.
      const anonymousMarketData = config.auth.allowAnonymousMarketData ?? options.ingest;
      app = createApp({
        log,
        channels,
        metrics,
        graphiql: config.http.graphiql,
        dashboard: config.http.dashboard ? dashboardOptions(config, anonymousMarketData) : undefined,
        introspection: config.http.introspection,
        pushPath: config.http.pushPath,
        edge: config.edge,
        executionStats: options.executionStats,
        readiness: feedsFresh ? [...probes, feedsFresh] : probes,
        drain: config.drain,
        tracing,
        responseHeaders: options.responseHeaders,
        // Anonymous market data: on in `start` (ingest + serve), off by default in `serve`.
        auth: { anonymousMarketData: config.auth.allowAnonymousMarketData ?? options.ingest },
        trading: createTrading({
          books: store,
          hub: books,
          channels,
          log,
          limits: { sessionTtlMs: config.trading.sessionTtlMs },
          venues,
          staleAfterMs: (exchange, symbol) => staleAfterMs(config, exchange, symbol),
          metrics,
        }),
        deps: {
          region: config.region,
          store,
          hub,
          topics: createMarketTopics(channels, log),
          log,
          limits: config.limits,
          now: Date.now,
          metrics,
          redisReady: () => commands.status === 'ready',
        },
      });
      port = await app.start(config.http.port, config.http.host);
      if (config.http.opsPort !== undefined) {
        // Probes and scrapes on a port of their own, not reachable by API clients.
        ops = createOpsServer(metrics, feedsFresh ? [...probes, feedsFresh] : probes);
        opsPort = await ops.start(config.http.opsPort, config.http.host);
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const redisReady = () => clients.every((c) => c.status === 'ready');
  return { redisUrl: url, localRedis: local, app, ingester, port, opsPort, tracing, stop, redisReady };
}
