/**
 * The GraphQL server for the live-book benchmarks (bench/e2e.ts, bench/fanout.ts), as its own
 * process (forked with `--import tsx`): the production runtime with `serve` only, against the
 * bench's private Redis (REDIS_URL). IPC in bench/child-ipc.ts; `executions` counts the shared
 * executions of subscription events (SharedExecutionStats.executed).
 */
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startRuntime } from '../src/runtime.ts';
import type { SharedExecutionStats } from '../src/server/plugins/use-shared-execution.ts';
import { serveIpc } from './child-ipc.ts';
import { BENCH_SERVER_ENV } from './server-env.ts';

async function main(): Promise<void> {
  const executionStats: SharedExecutionStats = { executed: 0, shared: 0 };
  const config = loadConfig({
    REDIS_URL: process.env.REDIS_URL,
    REGION: process.env.REGION ?? 'bench',
    PORT: '0',
    ...BENCH_SERVER_ENV,
  });
  const runtime = await startRuntime({
    config,
    log: createLogger('silent'),
    ingest: false,
    serve: true,
    launchRedis: false,
    executionStats,
  });
  serveIpc({ port: runtime.port!, executions: () => executionStats.executed, stop: () => runtime.stop() });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
