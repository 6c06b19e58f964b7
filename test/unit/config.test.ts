import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { simulatedVenues } from '../../src/marketdata/simulator.ts';
import { createFeeds } from '../../src/runtime.ts';
import { DEFAULT_EDGE_LIMITS } from '../../src/server/edge/limits.ts';

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has working defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toEqual({
      env: 'development',
      region: 'local',
      regions: ['local'],
      redis: { url: undefined, commandTimeoutMs: 5_000, readyTimeoutMs: 1_000, localPort: 6379 },
      http: {
        host: '127.0.0.1',
        port: 4000,
        graphiql: true,
        introspection: true,
        dashboard: true,
        opsPort: undefined,
        pushPath: true,
      },
      edge: DEFAULT_EDGE_LIMITS,
      workers: 1,
      feeds: ['sim'],
      simulator: { seed: 42, updatesPerSecond: 10 },
      ccxt: {
        symbols: ['BTC/USDT', 'ETH/USDT'],
        feedSymbols: {},
        restUrls: {},
        wsUrls: {},
        depths: {},
        auditIntervalMs: 5_000,
      },
      log: { level: 'info', pretty: undefined },
      tracing: {
        enabled: false,
        endpoint: 'http://localhost:4318',
        serviceName: undefined,
        sampleRatio: 1,
        ingestSampleRatio: 0.001,
        exportTimeoutMs: 10_000,
      },
      limits: {
        maxDepth: 100,
        minThrottleMs: 10,
        maxThrottleMs: 60_000,
        staleAfterMs: 5_000,
        subscriberQueueMax: 1_000,
        backpressure: { maxBufferedBytes: 1_048_576, disconnectAfterMs: 10_000 },
        staleOverrides: {},
        mixSimulatedVenues: false,
      },
      feedStatus: { intervalMs: 1_000, ttlMs: 5_000 },
      drain: { readyGraceMs: 0, timeoutMs: 20_000 },
      auth: { allowAnonymousMarketData: undefined },
      trading: { sessionTtlMs: 86_400_000, venues: [] },
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads per-feed staleness overrides and reports malformed ones', () => {
    const config = loadConfig({
      BOOK_STALE_MS_OVERRIDES: 'sim3=10000, sim1:KITE/USDT=30000',
      FEED_STATUS_INTERVAL_MS: '500',
    });
    expect(config.limits.staleOverrides).toEqual({ sim3: 10_000, 'sim1:KITE/USDT': 30_000 });
    expect(config.feedStatus).toEqual({ intervalMs: 500, ttlMs: 2_500 });
    expect(() => loadConfig({ BOOK_STALE_MS_OVERRIDES: 'sim3=fast,sim1=5' })).toThrow(
      /BOOK_STALE_MS_OVERRIDES: .*"sim3=fast".*"sim1=5"/,
    );
  });

  it('reports missing venue keys together with invalid variables; reads the new switches', () => {
    const problems = problemsOf({ EXECUTION_VENUES: 'binance=ccxt', PORT: 'x', LOCAL_REDIS_PORT: '0' });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'EXECUTION_VENUES',
      'LOCAL_REDIS_PORT',
      'PORT',
    ]);
    const config = loadConfig({ MIX_SIMULATED_VENUES: '1', LOCAL_REDIS_PORT: '6380' });
    expect(config.limits.mixSimulatedVenues).toBe(true);
    expect(config.redis.localPort).toBe(6380);
  });

  it('reads the Redis command and readiness timeouts', () => {
    const config = loadConfig({ REDIS_COMMAND_TIMEOUT_MS: '750', READY_REDIS_TIMEOUT_MS: '300' });
    expect(config.redis).toEqual({
      url: undefined,
      commandTimeoutMs: 750,
      readyTimeoutMs: 300,
      localPort: 6379,
    });
    expect(problemsOf({ REDIS_COMMAND_TIMEOUT_MS: '0', READY_REDIS_TIMEOUT_MS: 'soon' })).toHaveLength(2);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ PORT: '', REGION: '', FEEDS: '', REDIS_URL: '' })).toMatchObject({
      region: 'local',
      http: { port: 4000 },
      feeds: ['sim'],
      redis: { url: undefined },
    });
  });

  it('reads valid values', () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      REDIS_URL: 'redis://localhost:6380/0',
      REGION: 'eu-west-1',
      PORT: '0',
      FEEDS: ' sim , sim',
      SIM_SEED: '7',
      MAX_DEPTH: '50',
      SUBSCRIBER_QUEUE_MAX: '10',
    });
    expect(config).toMatchObject({
      env: 'test',
      region: 'eu-west-1',
      redis: { url: 'redis://localhost:6380/0' },
      http: { port: 0 },
      feeds: ['sim', 'sim'],
      simulator: { seed: 7 },
      limits: { maxDepth: 50, subscriberQueueMax: 10 },
    });
  });

  it('reads limits and quotas; CORS and /metrics on the API port are off by default in production', () => {
    const prod = loadConfig({ NODE_ENV: 'production' }).edge;
    expect(prod.corsOrigins).toEqual([]);
    expect(prod.metricsOnApiPort).toBe(false);
    const set = loadConfig({
      CORS_ORIGINS: 'https://a.example.com, https://b.example.com',
      METRICS_ON_API_PORT: '0',
      QUOTA_REQUESTS_PER_SEC: '5',
      QUOTA_CONNECTIONS: '3',
      MAX_BODY_BYTES: '4096',
      OPS_PORT: '9100',
    });
    expect(set.edge.corsOrigins).toEqual(['https://a.example.com', 'https://b.example.com']);
    expect(set.edge.metricsOnApiPort).toBe(false);
    expect(set.edge.quotas).toMatchObject({ requestsPerSecond: 5, connections: 3 });
    expect(set.edge.maxBodyBytes).toBe(4096);
    expect(set.http.opsPort).toBe(9100);
    expect(() => loadConfig({ CORS_ORIGINS: 'evil', QUOTA_SSE_STREAMS: '0' })).toThrow(
      /CORS_ORIGINS[\s\S]*QUOTA_SSE_STREAMS/,
    );
  });

  it('turns GraphiQL off by default in production, and lets it be turned on', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).http.graphiql).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', GRAPHIQL: '1' }).http.graphiql).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', GRAPHIQL: 'true' }).http.graphiql).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production' }).http.introspection).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', GRAPHIQL: '1' }).http.introspection).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', INTROSPECTION: '1' }).http.introspection).toBe(true);
    expect(loadConfig({ GRAPHIQL: '0' }).http.introspection).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development' }).http.graphiql).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development', GRAPHIQL: '0' }).http.graphiql).toBe(false);
    expect(loadConfig({ NODE_ENV: 'test', GRAPHIQL: 'false' }).http.graphiql).toBe(false);
  });

  it('serves the dashboard by default, in production too, and DASHBOARD=off turns it off', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).http.dashboard).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', DASHBOARD: 'off' }).http.dashboard).toBe(false);
    expect(loadConfig({ DASHBOARD: '0' }).http.dashboard).toBe(false);
    expect(loadConfig({ DASHBOARD: 'on' }).http.dashboard).toBe(true);
    expect(() => loadConfig({ DASHBOARD: 'maybe' })).toThrow(/DASHBOARD/);
  });

  it('reads tracing and pretty-log settings, and reports malformed ones', () => {
    const config = loadConfig({
      OTEL_ENABLED: '1',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.observability:4318',
      OTEL_SERVICE_NAME: 'bookgraph-eu',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      INGEST_TRACE_SAMPLE_RATIO: '0',
      OTEL_EXPORTER_OTLP_TIMEOUT: '30000',
      LOG_PRETTY: '0',
    });
    expect(config.tracing).toEqual({
      enabled: true,
      endpoint: 'http://otel-collector.observability:4318',
      serviceName: 'bookgraph-eu',
      sampleRatio: 0.25,
      ingestSampleRatio: 0,
      exportTimeoutMs: 30_000,
    });
    expect(config.log.pretty).toBe(false);
    expect(loadConfig({ LOG_PRETTY: 'true' }).log.pretty).toBe(true);
    const problems = problemsOf({
      OTEL_ENABLED: 'yes',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317',
      OTEL_SERVICE_NAME: 'book graph',
      OTEL_TRACES_SAMPLER_ARG: '1.5',
      INGEST_TRACE_SAMPLE_RATIO: '-0.1',
      OTEL_EXPORTER_OTLP_TIMEOUT: '5',
      LOG_PRETTY: 'maybe',
    });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'INGEST_TRACE_SAMPLE_RATIO',
      'LOG_PRETTY',
      'OTEL_ENABLED',
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_EXPORTER_OTLP_TIMEOUT',
      'OTEL_SERVICE_NAME',
      'OTEL_TRACES_SAMPLER_ARG',
    ]);
  });

  it('REGIONS lists every region, this one first; it must include REGION', () => {
    expect(loadConfig({ REGION: 'europe-west1' }).regions).toEqual(['europe-west1']);
    expect(
      loadConfig({ REGION: 'europe-west1', REGIONS: 'asia-northeast1, europe-west1,us-west1,us-west1' })
        .regions,
    ).toEqual(['europe-west1', 'asia-northeast1', 'us-west1']);
    expect(problemsOf({ REGION: 'europe-west1', REGIONS: 'asia-northeast1,us-west1' })).toEqual([
      'REGIONS: must include this process\'s REGION "europe-west1" (got asia-northeast1,us-west1)',
    ]);
    expect(problemsOf({ REGIONS: 'Asia,local' })[0]).toMatch(/^REGIONS: /);
  });

  it('reports every invalid variable at once, one entry each', () => {
    const bad: NodeJS.ProcessEnv = {
      NODE_ENV: 'staging',
      REDIS_URL: 'not a url',
      REGION: 'EU West',
      PORT: '70000',
      FEEDS: 'binance,kraken',
      SIM_SEED: '-1',
      SIM_UPDATES_PER_SEC: 'fast',
      LOG_LEVEL: 'loud',
      GRAPHIQL: 'yes',
      BOOK_STALE_MS: '1.5',
      MAX_DEPTH: '0',
      SUBSCRIBER_QUEUE_MAX: '9',
    };
    const problems = problemsOf(bad);
    const variables = problems.map((p) => p.split(/[.:]/)[0]);
    expect(variables.sort()).toEqual(Object.keys(bad).sort());
    const error = new ConfigError(problems);
    for (const name of Object.keys(bad)) expect(error.message).toContain(name);
  });

  it('reports a single bad variable alone and ignores unrelated variables', () => {
    const problems = problemsOf({ PORT: 'http', PATH: '/usr/bin', HOME: '/root' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^PORT/);
  });

  it('names simulated venues one by one with sim:<venue>, and reports unknown ones', () => {
    expect(loadConfig({ FEEDS: 'sim:sim1, sim:sim3,ccxt:binance' }).feeds).toEqual([
      'sim:sim1',
      'sim:sim3',
      'ccxt:binance',
    ]);
    expect(problemsOf({ FEEDS: 'sim:sim1,sim:sim9,sim:' })).toEqual([
      'FEEDS: [1] unknown simulated venue "sim9"; known: sim1, sim2, sim3; [2] known feeds: sim, sim:<venue>, ccxt:<exchange id>[:<symbol>|<symbol>…]',
    ]);
  });

  it('gives a ccxt feed its own symbols (ccxt:<id>:A/B|C/D); a feed without a list follows SYMBOLS', () => {
    const config = loadConfig({
      FEEDS:
        'ccxt:binance:BTC/USDT|ETH/USDT, ccxt:okx:BTC/USDT ,ccxt:kraken,sim:sim1,ccxt:binanceusdm: BTC/USDT:USDT | ETH/USDT:USDT',
      SYMBOLS: 'SOL/USDT',
    });
    expect(config.feeds).toEqual(['ccxt:binance', 'ccxt:okx', 'ccxt:kraken', 'sim:sim1', 'ccxt:binanceusdm']);
    expect(config.ccxt.symbols).toEqual(['SOL/USDT']);
    expect(config.ccxt.feedSymbols).toEqual({
      binance: ['BTC/USDT', 'ETH/USDT'],
      okx: ['BTC/USDT'],
      binanceusdm: ['BTC/USDT:USDT', 'ETH/USDT:USDT'],
    });
  });

  it('reports bad per-feed symbol lists one by one, with the item and a hint', () => {
    expect(
      problemsOf({
        FEEDS:
          'ccxt:binance:,ccxt:okx:BTC/USDT|btc/usdt|BTCUSDT,ccxt:bybit:ETH/USDT|ETH/USDT,sim:sim1:BTC/USDT',
      }),
    ).toEqual([
      'FEEDS: [0] ccxt:binance: empty symbol list (drop the ":" to follow SYMBOLS); ' +
        '[1] ccxt:okx: "btc/usdt" is not a unified symbol BASE/QUOTE (BTC/USDT?); symbols are separated by "|"; ' +
        '[1] ccxt:okx: "BTCUSDT" is not a unified symbol BASE/QUOTE; symbols are separated by "|"; ' +
        '[2] ccxt:bybit: ETH/USDT is listed twice; ' +
        '[3] "sim:sim1:BTC/USDT": a symbol list is for ccxt feeds only (simulated venues list their own markets)',
    ]);
    expect(problemsOf({ FEEDS: 'ccxt:okx:BTC/USDT||ETH/USDT' })).toEqual([
      'FEEDS: [0] ccxt:okx: "" is not a unified symbol BASE/QUOTE; symbols are separated by "|"',
    ]);
    // Two entries of one venue would be two feeds writing the same books.
    expect(problemsOf({ FEEDS: 'ccxt:binance:BTC/USDT,ccxt:okx,ccxt:binance:ETH/USDT' })).toEqual([
      'FEEDS: [2] ccxt:binance is named twice: give one entry with all its symbols (ccxt:binance:A/B|C/D)',
    ]);
    // Bad symbols and a bad SYMBOLS are reported together.
    expect(problemsOf({ FEEDS: 'ccxt:okx:BTC-USDT', SYMBOLS: 'x' })).toHaveLength(2);
  });

  it('runs the simulated venues FEEDS names, all three for plain sim', async () => {
    expect(simulatedVenues(['sim:sim3', 'ccxt:okx', 'sim:sim1', 'sim:sim3'])).toEqual(['sim1', 'sim3']);
    expect(simulatedVenues(['sim:sim2', 'sim'])).toEqual(['sim1', 'sim2', 'sim3']);
    expect(simulatedVenues(['ccxt:okx'])).toEqual([]);
    const log = pino({ level: 'silent' });
    const exchangesOf = async (FEEDS: string) => {
      const feeds = await createFeeds(loadConfig({ FEEDS }), log);
      return [...new Set(feeds.flatMap((f) => f.markets().map((m) => m.exchange)))];
    };
    expect(await exchangesOf('sim:sim2,sim:sim3')).toEqual(['sim2', 'sim3']);
    expect(await exchangesOf('sim')).toEqual(['sim1', 'sim2', 'sim3']);
  });

  it('rejects a non-redis URL', () => {
    expect(problemsOf({ REDIS_URL: 'http://localhost:6379' })).toHaveLength(1);
  });
});
