import { z } from 'zod';

/**
 * The only reader of process.env. Every variable is validated at once; all problems are reported
 * together, so a misconfigured deployment is fixed in one round.
 */
const emptyAsUndefined = (v: unknown) => (v === '' ? undefined : v);
const int = (min: number, max: number, fallback: number) =>
  z.preprocess(emptyAsUndefined, z.coerce.number().int().min(min).max(max).default(fallback));
const FEED_RE = /^sim$/;

const EnvSchema = z.object({
  NODE_ENV: z.preprocess(
    emptyAsUndefined,
    z.enum(['development', 'production', 'test']).default('development'),
  ),
  REDIS_URL: z.preprocess(emptyAsUndefined, z.string().url().startsWith('redis').optional()),
  REGION: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[a-z0-9-]{1,32}$/, 'lowercase letters, digits and "-"')
      .default('local'),
  ),
  HOST: z.preprocess(emptyAsUndefined, z.string().default('127.0.0.1')),
  PORT: int(0, 65535, 4000),
  FEEDS: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .default('sim')
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().regex(FEED_RE, 'known feeds: sim')).min(1)),
  ),
  SIM_SEED: int(0, 2 ** 31 - 1, 42),
  SIM_UPDATES_PER_SEC: int(1, 100_000, 10),
  LOG_LEVEL: z.preprocess(
    emptyAsUndefined,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
  GRAPHIQL: z.preprocess(emptyAsUndefined, z.enum(['1', '0', 'true', 'false']).optional()),
  BOOK_STALE_MS: int(100, 3_600_000, 5_000),
  MAX_DEPTH: int(1, 1_000, 100),
  SUBSCRIBER_QUEUE_MAX: int(10, 1_000_000, 1_000),
  DRAIN_READY_GRACE_MS: int(0, 120_000, 0),
  DRAIN_TIMEOUT_MS: int(0, 300_000, 20_000),
});

export interface Config {
  env: 'development' | 'production' | 'test';
  region: string;
  redis: { url: string | undefined };
  http: { host: string; port: number; graphiql: boolean };
  feeds: readonly string[];
  simulator: { seed: number; updatesPerSecond: number };
  log: { level: string };
  limits: {
    maxDepth: number;
    minThrottleMs: number;
    maxThrottleMs: number;
    staleAfterMs: number;
    subscriberQueueMax: number;
  };
  drain: { readyGraceMs: number; timeoutMs: number };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid environment variables:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    // One entry per variable: a value can fail several checks (REDIS_URL, each FEEDS item).
    const byVariable = new Map<string, string[]>();
    for (const issue of parsed.error.issues) {
      const [variable = '(environment)', ...rest] = issue.path.map(String);
      const message = rest.length > 0 ? `[${rest.join('.')}] ${issue.message}` : issue.message;
      byVariable.set(variable, [...(byVariable.get(variable) ?? []), message]);
    }
    throw new ConfigError(
      [...byVariable].map(([variable, messages]) => `${variable}: ${messages.join('; ')}`),
    );
  }
  const e = parsed.data;
  const graphiql =
    e.GRAPHIQL === undefined ? e.NODE_ENV !== 'production' : e.GRAPHIQL === '1' || e.GRAPHIQL === 'true';
  return Object.freeze({
    env: e.NODE_ENV,
    region: e.REGION,
    redis: { url: e.REDIS_URL },
    http: { host: e.HOST, port: e.PORT, graphiql },
    feeds: e.FEEDS,
    simulator: { seed: e.SIM_SEED, updatesPerSecond: e.SIM_UPDATES_PER_SEC },
    log: { level: e.LOG_LEVEL },
    limits: {
      maxDepth: e.MAX_DEPTH,
      minThrottleMs: 10,
      maxThrottleMs: 60_000,
      staleAfterMs: e.BOOK_STALE_MS,
      subscriberQueueMax: e.SUBSCRIBER_QUEUE_MAX,
    },
    drain: { readyGraceMs: e.DRAIN_READY_GRACE_MS, timeoutMs: e.DRAIN_TIMEOUT_MS },
  });
}
