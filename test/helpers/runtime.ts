import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { type Runtime, type RuntimeOptions, startRuntime } from '../../src/runtime.ts';

/**
 * `bookgraph start` inside the test process against a test's Redis: simulator, ingest and server
 * on a free port, logs silent. `env` adds or overrides variables (as the CLI's environment would);
 * `options` overrides the runtime's (a feed list, execution stats, serve or ingest only).
 */
export function startTestRuntime(
  redisUrl: string,
  env: NodeJS.ProcessEnv = {},
  options: Partial<Omit<RuntimeOptions, 'config'>> = {},
): Promise<Runtime> {
  const config = loadConfig({ REDIS_URL: redisUrl, PORT: '0', LOG_LEVEL: 'silent', ...env });
  return startRuntime({
    config,
    log: createLogger('silent'),
    ingest: true,
    serve: true,
    launchRedis: false,
    ...options,
  });
}
