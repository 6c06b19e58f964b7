import { z } from 'zod';
import { emptyAsUndefined, int, isOn, list } from './config-env.ts';
import { feedSymbolLists, feedsVariable, SYMBOL_RE } from './marketdata/feed-spec.ts';
import { parseRedisTarget } from './redis/redis-target.ts';
import { WORKERS_ENV } from './server/cluster/workers-setting.ts';
import { EDGE_ENV, edgeLimitsFrom } from './server/edge/env.ts';
import type { EdgeLimits } from './server/edge/limits.ts';
import { readVenueCredentials, type VenueCredentials } from './trading/venue-credentials.ts';

/**
 * The only reader of process.env. Every variable is validated at once; all problems are reported
 * together, so a misconfigured deployment is fixed in one round.
 */
const REGION_RE = /^[a-z0-9-]{1,32}$/;

/**
 * A venue base URL: one URL for every ccxt feed, or `<exchange id>=<url>` pairs separated by
 * commas. Parsed to a map whose `*` key is the default.
 */
const urlOverrides = (schemes: readonly string[]) =>
  z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .optional()
      .transform((v, ctx) => {
        const out: Record<string, string> = {};
        for (const item of v ? list(v) : []) {
          const pair = /^([a-z0-9]+)=(.+)$/.exec(item);
          const [key, url] = pair ? [pair[1]!, pair[2]!] : ['*', item];
          let ok = false;
          try {
            ok = schemes.includes(new URL(url).protocol);
          } catch {}
          if (!ok)
            ctx.addIssue({ code: 'custom', message: `"${item}" is not a ${schemes.join(' or ')} URL` });
          out[key] = url;
        }
        return out;
      }),
  );

/** BOOK_DEPTH: one depth for every ccxt feed, or `<exchange id>=<levels>` pairs; `*` = the default. */
const depthOverrides = z.preprocess(
  emptyAsUndefined,
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const out: Record<string, number> = {};
      for (const item of v ? list(v) : []) {
        const pair = /^([a-z0-9]+)=(.+)$/.exec(item);
        const [key, value] = pair ? [pair[1]!, pair[2]!] : ['*', item];
        const depth = Number(value);
        if (!/^\d+$/.test(value) || depth < 1 || depth > 5_000) {
          ctx.addIssue({
            code: 'custom',
            message: `"${item}" is not a depth of 1 to 5000 levels (or <exchange id>=<levels>)`,
          });
        }
        out[key] = depth;
      }
      return out;
    }),
);

const EnvSchema = z.object({
  NODE_ENV: z.preprocess(
    emptyAsUndefined,
    z.enum(['development', 'production', 'test']).default('development'),
  ),
  REDIS_URL: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .superRefine((v, ctx) => {
        try {
          parseRedisTarget(v);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
        }
      })
      .optional(),
  ),
  REDIS_COMMAND_TIMEOUT_MS: int(50, 600_000, 5_000),
  LOCAL_REDIS_PORT: int(1, 65535, 6379),
  READY_REDIS_TIMEOUT_MS: int(50, 60_000, 1_000),
  REGION: z.preprocess(
    emptyAsUndefined,
    z.string().regex(REGION_RE, 'lowercase letters, digits and "-"').default('local'),
  ),
  REGIONS: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .transform(list)
      .pipe(z.array(z.string().regex(REGION_RE, 'lowercase letters, digits and "-"')).min(1))
      .optional(),
  ),
  HOST: z.preprocess(emptyAsUndefined, z.string().default('127.0.0.1')),
  PORT: int(0, 65535, 4000),
  FEEDS: feedsVariable,
  SYMBOLS: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .default('BTC/USDT,ETH/USDT')
      .transform(list)
      .pipe(z.array(z.string().regex(SYMBOL_RE, 'unified symbols, BASE/QUOTE')).min(1)),
  ),
  EXCHANGE_REST_URL: urlOverrides(['http:', 'https:']),
  EXCHANGE_WS_URL: urlOverrides(['ws:', 'wss:']),
  BOOK_DEPTH: depthOverrides,
  BOOK_AUDIT_INTERVAL_MS: int(0, 86_400_000, 5_000),
  SIM_SEED: int(0, 2 ** 31 - 1, 42),
  SIM_UPDATES_PER_SEC: int(1, 100_000, 10),
  LOG_LEVEL: z.preprocess(
    emptyAsUndefined,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
  GRAPHIQL: z.preprocess(emptyAsUndefined, z.enum(['1', '0', 'true', 'false']).optional()),
  INTROSPECTION: z.preprocess(emptyAsUndefined, z.enum(['1', '0', 'true', 'false']).optional()),
  DASHBOARD: z.preprocess(emptyAsUndefined, z.enum(['on', 'off', '1', '0', 'true', 'false']).default('on')),
  BOOK_STALE_MS: int(100, 3_600_000, 5_000),
  BOOK_STALE_MS_OVERRIDES: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .optional()
      .transform((v, ctx) => {
        const out: Record<string, number> = {};
        for (const item of v
          ? v
              .split(',')
              .map((i) => i.trim())
              .filter(Boolean)
          : []) {
          const pair = /^([a-z0-9_-]+(?::[A-Z0-9]+\/[A-Z0-9]+(?::[A-Z0-9]+)?)?)=(\d+)$/.exec(item);
          const ms = pair ? Number(pair[2]) : Number.NaN;
          if (!pair || ms < 100 || ms > 3_600_000) {
            ctx.addIssue({
              code: 'custom',
              message: `"${item}" is not <exchange>[:<BASE/QUOTE>]=<100..3600000 ms>`,
            });
          } else out[pair[1]!] = ms;
        }
        return out;
      }),
  ),
  FEED_STATUS_INTERVAL_MS: int(100, 60_000, 1_000),
  FEED_STATUS_TTL_MS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(200).max(600_000).optional(),
  ),
  ALLOW_ANONYMOUS_MARKETDATA: z.preprocess(emptyAsUndefined, z.enum(['1', '0', 'true', 'false']).optional()),
  SESSION_TTL_MS: int(60_000, 30 * 86_400_000, 86_400_000),
  EXECUTION_VENUES: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .optional()
      .transform((v, ctx) => {
        const out: Record<string, 'paper' | 'ccxt'> = {};
        for (const item of v ? list(v) : []) {
          const pair = /^([a-z0-9]+)=(paper|ccxt)$/.exec(item);
          if (!pair) ctx.addIssue({ code: 'custom', message: `"${item}" is not <exchange id>=paper|ccxt` });
          else out[pair[1]!] = pair[2] as 'paper' | 'ccxt';
        }
        return out;
      }),
  ),
  MAX_DEPTH: int(1, 1_000, 100),
  PUSH_PATH: z.preprocess(emptyAsUndefined, z.enum(['on', 'off']).default('on')),
  MIX_SIMULATED_VENUES: z.preprocess(emptyAsUndefined, z.enum(['1', '0', 'true', 'false']).default('0')),
  SUBSCRIBER_QUEUE_MAX: int(10, 1_000_000, 1_000),
  SUBSCRIBER_BUFFER_MAX_BYTES: int(16 * 1024, 1024 * 1024 * 1024, 1024 * 1024),
  SLOW_SUBSCRIBER_DISCONNECT_MS: int(100, 600_000, 10_000),
  LOG_PRETTY: z.preprocess(emptyAsUndefined, z.enum(['1', '0', 'true', 'false']).optional()),
  OTEL_ENABLED: z.preprocess(emptyAsUndefined, z.enum(['1', '0', 'true', 'false']).default('0')),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .url()
      .regex(/^https?:\/\//, 'an http:// or https:// URL')
      .default('http://localhost:4318'),
  ),
  OTEL_SERVICE_NAME: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[\w.-]{1,64}$/, 'letters, digits, "_", "." and "-"')
      .optional(),
  ),
  OTEL_TRACES_SAMPLER_ARG: z.preprocess(emptyAsUndefined, z.coerce.number().min(0).max(1).default(1)),
  OTEL_EXPORTER_OTLP_TIMEOUT: int(100, 600_000, 10_000),
  INGEST_TRACE_SAMPLE_RATIO: z.preprocess(emptyAsUndefined, z.coerce.number().min(0).max(1).default(0.001)),
  ...EDGE_ENV,
  ...WORKERS_ENV,
  DRAIN_READY_GRACE_MS: int(0, 120_000, 0),
  DRAIN_TIMEOUT_MS: int(0, 300_000, 20_000),
});

/** Every variable the configuration reads (besides `<EXCHANGE>_API_KEY`/`_SECRET`/`_PASSWORD`/`_UID`). */
export const ENV_VARIABLES: readonly string[] = Object.keys(EnvSchema.shape);

export interface Config {
  env: 'development' | 'production' | 'test';
  /** This process's home region: its ingesters write this region's keys, its trading owns its sessions. */
  region: string;
  /**
   * Every region of the Active-Active database (`REGIONS`), `region` first: the copies of each book
   * a server may read from its local Redis. @default [region]
   */
  regions: readonly string[];
  /**
   * `commandTimeoutMs`: a command (not SUBSCRIBE) unanswered this long fails, and a query answers
   * `UNAVAILABLE` instead of hanging through an outage. `readyTimeoutMs`: how long `/ready` waits
   * for each connection's PING before it answers 503.
   */
  redis: {
    url: string | undefined;
    commandTimeoutMs: number;
    readyTimeoutMs: number;
    /** Where `start` without REDIS_URL looks for a running Redis before launching a private one. */
    localPort: number;
  };
  /**
   * `dashboard`: serve the market dashboard at `/dashboard` (`DASHBOARD=on|off`, on by default).
   * `opsPort`: `/health`, `/ready` and `/metrics` on a port of their own (`OPS_PORT`), if set.
   */
  http: {
    host: string;
    port: number;
    graphiql: boolean;
    introspection: boolean;
    dashboard: boolean;
    opsPort: number | undefined;
    /** `PUSH_PATH=on|off`: book subscriptions over graphql-ws and SSE written straight from their view (on). */
    pushPath: boolean;
  };
  /**
   * Request limits and per-key quotas of every transport (src/server/edge/limits.ts). In
   * production CORS allows no origin and `/metrics` is not on the API port, unless set.
   */
  edge: EdgeLimits;
  /** `serve`'s processes (`WORKERS`, `--workers`): 1 = one process, more = a node:cluster primary and its workers. */
  workers: number;
  feeds: readonly string[];
  simulator: { seed: number; updatesPerSecond: number };
  /** The `ccxt:<exchange>` feeds: symbols to follow and base URL overrides (`*` = every exchange). */
  ccxt: {
    /** SYMBOLS: what a ccxt feed without its own list follows. */
    symbols: readonly string[];
    /** The feeds' own symbol lists (`ccxt:<id>:A/B|C/D` in FEEDS), by exchange id. */
    feedSymbols: Readonly<Record<string, readonly string[]>>;
    restUrls: Readonly<Record<string, string>>;
    wsUrls: Readonly<Record<string, string>>;
    /** Levels per side each feed subscribes at (`*` = every exchange); absent = ccxt's default. */
    depths: Readonly<Record<string, number>>;
    /** BOOK_AUDIT_INTERVAL_MS: one book audited against the venue's REST book per interval; 0 = off. */
    auditIntervalMs: number;
  };
  /** `pretty`: LOG_PRETTY when set; undefined = pretty only in development on a terminal (src/log.ts). */
  log: { level: string; pretty: boolean | undefined };
  /** OpenTelemetry tracing (off by default); `serviceName` undefined = `bookgraph-<role>`. */
  tracing: {
    enabled: boolean;
    endpoint: string;
    serviceName: string | undefined;
    /** Share of GraphQL operations traced when the caller sent no sampled `traceparent`. */
    sampleRatio: number;
    /** Share of ingest writes traced. */
    ingestSampleRatio: number;
    /** OTEL_EXPORTER_OTLP_TIMEOUT: ms one export may take. */
    exportTimeoutMs: number;
  };
  limits: {
    maxDepth: number;
    minThrottleMs: number;
    maxThrottleMs: number;
    staleAfterMs: number;
    subscriberQueueMax: number;
    backpressure: { maxBufferedBytes: number; disconnectAfterMs: number };
    /** Per-book or per-exchange staleness thresholds (`BOOK_STALE_MS_OVERRIDES`). */
    staleOverrides: Readonly<Record<string, number>>;
    /**
     * `MIX_SIMULATED_VENUES`: consolidation and liquidity may merge simulated venues (sim1-sim3)
     * with real ones. Off: a symbol real venues list is consolidated over real venues only.
     */
    mixSimulatedVenues: boolean;
  };
  /** How often ingesters write feed health, and how long it lives unrenewed. */
  feedStatus: { intervalMs: number; ttlMs: number };
  drain: { readyGraceMs: number; timeoutMs: number };
  /** Market data without a key: undefined = the command's default (on in `start`, off in `serve`). */
  auth: { allowAnonymousMarketData: boolean | undefined };
  /**
   * Idle time after which a trading session and its orders expire; the exchanges whose orders go
   * to the real venue through ccxt (`EXECUTION_VENUES`), with their keys. Others trade on paper.
   */
  trading: { sessionTtlMs: number; venues: readonly VenueConfig[] };
}

/**
 * A real execution venue: `<exchange>=ccxt` in EXECUTION_VENUES, its credentials in
 * `<EXCHANGE>_API_KEY`, `_API_SECRET`, `_API_PASSWORD`, `_API_UID` (src/trading/venue-credentials.ts).
 */
export interface VenueConfig extends VenueCredentials {
  exchange: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid environment variables:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  // Credentials of every exchange that trades for real; missing ones are reported with the rest.
  const venues: VenueConfig[] = [];
  const missing: string[] = [];
  // Read on its own too, so missing keys are reported even when other variables are invalid.
  const executionVenues = parsed.success
    ? parsed.data.EXECUTION_VENUES
    : EnvSchema.shape.EXECUTION_VENUES.safeParse(env.EXECUTION_VENUES).data;
  if (executionVenues) {
    for (const [exchange, kind] of Object.entries(executionVenues)) {
      if (kind !== 'ccxt') continue;
      const { credentials, missing: absent } = readVenueCredentials(exchange, env);
      if (absent.length > 0) missing.push(`EXECUTION_VENUES: ${exchange}=ccxt needs ${absent.join(' and ')}`);
      else venues.push({ exchange, ...credentials });
    }
  }
  if (parsed.success && parsed.data.REGIONS && !parsed.data.REGIONS.includes(parsed.data.REGION)) {
    missing.push(
      `REGIONS: must include this process's REGION "${parsed.data.REGION}" (got ${parsed.data.REGIONS.join(',')})`,
    );
  }
  if (!parsed.success || missing.length > 0) {
    // One entry per variable: a value can fail several checks (REDIS_URL, each FEEDS item).
    const byVariable = new Map<string, string[]>();
    for (const issue of parsed.error?.issues ?? []) {
      const [variable = '(environment)', ...rest] = issue.path.map(String);
      const message = rest.length > 0 ? `[${rest.join('.')}] ${issue.message}` : issue.message;
      byVariable.set(variable, [...(byVariable.get(variable) ?? []), message]);
    }
    throw new ConfigError([
      ...[...byVariable].map(([variable, messages]) => `${variable}: ${messages.join('; ')}`),
      ...missing,
    ]);
  }
  const e = parsed.data;
  const graphiql = e.GRAPHIQL === undefined ? e.NODE_ENV !== 'production' : isOn(e.GRAPHIQL);
  // GraphiQL needs introspection: turning it on in production turns introspection on too.
  const introspection =
    e.INTROSPECTION === undefined ? graphiql || e.NODE_ENV !== 'production' : isOn(e.INTROSPECTION);
  return Object.freeze({
    env: e.NODE_ENV,
    region: e.REGION,
    regions: [e.REGION, ...new Set((e.REGIONS ?? []).filter((r) => r !== e.REGION))],
    redis: {
      url: e.REDIS_URL,
      commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
      readyTimeoutMs: e.READY_REDIS_TIMEOUT_MS,
      localPort: e.LOCAL_REDIS_PORT,
    },
    http: {
      host: e.HOST,
      port: e.PORT,
      graphiql,
      introspection,
      dashboard: e.DASHBOARD === 'on' || e.DASHBOARD === '1' || e.DASHBOARD === 'true',
      opsPort: e.OPS_PORT,
      pushPath: e.PUSH_PATH === 'on',
    },
    edge: edgeLimitsFrom(e, e.NODE_ENV === 'production'),
    workers: e.WORKERS,
    feeds: e.FEEDS.map((feed) => feed.name),
    simulator: { seed: e.SIM_SEED, updatesPerSecond: e.SIM_UPDATES_PER_SEC },
    ccxt: {
      symbols: e.SYMBOLS,
      feedSymbols: feedSymbolLists(e.FEEDS),
      restUrls: e.EXCHANGE_REST_URL,
      wsUrls: e.EXCHANGE_WS_URL,
      depths: e.BOOK_DEPTH,
      auditIntervalMs: e.BOOK_AUDIT_INTERVAL_MS,
    },
    log: {
      level: e.LOG_LEVEL,
      pretty: e.LOG_PRETTY === undefined ? undefined : e.LOG_PRETTY === '1' || e.LOG_PRETTY === 'true',
    },
    tracing: {
      enabled: e.OTEL_ENABLED === '1' || e.OTEL_ENABLED === 'true',
      endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
      serviceName: e.OTEL_SERVICE_NAME,
      sampleRatio: e.OTEL_TRACES_SAMPLER_ARG,
      ingestSampleRatio: e.INGEST_TRACE_SAMPLE_RATIO,
      exportTimeoutMs: e.OTEL_EXPORTER_OTLP_TIMEOUT,
    },
    limits: {
      maxDepth: e.MAX_DEPTH,
      minThrottleMs: 10,
      maxThrottleMs: 60_000,
      staleAfterMs: e.BOOK_STALE_MS,
      subscriberQueueMax: e.SUBSCRIBER_QUEUE_MAX,
      backpressure: {
        maxBufferedBytes: e.SUBSCRIBER_BUFFER_MAX_BYTES,
        disconnectAfterMs: e.SLOW_SUBSCRIBER_DISCONNECT_MS,
      },
      staleOverrides: e.BOOK_STALE_MS_OVERRIDES,
      mixSimulatedVenues: e.MIX_SIMULATED_VENUES === '1' || e.MIX_SIMULATED_VENUES === 'true',
    },
    feedStatus: {
      intervalMs: e.FEED_STATUS_INTERVAL_MS,
      ttlMs: e.FEED_STATUS_TTL_MS ?? e.FEED_STATUS_INTERVAL_MS * 5,
    },
    drain: { readyGraceMs: e.DRAIN_READY_GRACE_MS, timeoutMs: e.DRAIN_TIMEOUT_MS },
    auth: {
      allowAnonymousMarketData:
        e.ALLOW_ANONYMOUS_MARKETDATA === undefined
          ? undefined
          : e.ALLOW_ANONYMOUS_MARKETDATA === '1' || e.ALLOW_ANONYMOUS_MARKETDATA === 'true',
    },
    trading: { sessionTtlMs: e.SESSION_TTL_MS, venues },
  });
}
