import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { startPrimary } from '../server/cluster/primary.ts';
import { StartupError } from './args.ts';
import { stopOnSignals } from './signals.ts';

/**
 * `bookgraph serve --workers N` (N > 1): the node:cluster primary. It says `bookgraph started`
 * once every worker serves, and on SIGTERM or SIGINT drains them all and exits (1 if a worker
 * failed its drain or had to be killed).
 */
export async function runServePrimary(config: Config, log: Logger): Promise<void> {
  const primary = await startPrimary(config, log).catch((error: unknown) => {
    // The worker printed why (its own problem lines, or its stack) before it exited.
    throw new StartupError([error instanceof Error ? error.message : String(error)]);
  });
  const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? 'localhost' : config.http.host;
  log.info(
    {
      command: 'serve',
      region: config.region,
      workers: config.workers,
      pids: primary.pids(),
      port: primary.port,
      opsPort: primary.opsPort,
      ...(config.http.dashboard ? { dashboard: `http://${host}:${primary.port}/dashboard` } : {}),
    },
    'bookgraph started',
  );
  stopOnSignals(log, config.drain.readyGraceMs + config.drain.timeoutMs + 10_000, async () => {
    if (!(await primary.stop())) throw new Error('a worker did not drain cleanly');
  });
}
