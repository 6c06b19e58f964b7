import type { Config } from '../../config.ts';
import type { Logger } from '../../log.ts';
import { createOpsServer, type OpsServer } from '../ops-server.ts';
import { ClusterMetrics } from './cluster-metrics.ts';
import { WorkerPool } from './worker-pool.ts';

export interface Primary {
  /** The API port every worker serves (the shared listening socket). */
  port: number;
  /** The primary's own `/health`, `/ready` and `/metrics` (`OPS_PORT`), if set. */
  opsPort: number | undefined;
  /** The workers' process ids now. */
  pids(): number[];
  /** Drains every worker and closes the ops port; false if a worker had to be killed or failed its drain. */
  stop(): Promise<boolean>;
}

/**
 * The primary of `serve --workers N`: it runs no GraphQL. It forks `config.workers` workers, each
 * the whole `serve` runtime (its own Redis connections, BookHub and replicas) on the one shared
 * port, restarts any that dies, and answers `OPS_PORT` for all of them: `/metrics` summed over the
 * workers, `/ready` 200 only while at least one worker serves and every serving worker is ready.
 */
export async function startPrimary(config: Config, log: Logger): Promise<Primary> {
  let draining = false;
  // The pool calls these only once started, after `metrics` below exists.
  const pool = new WorkerPool({
    count: config.workers,
    log,
    onQuestion: () => metrics.metrics(),
    onExit: (worker) => metrics.retire(worker.id),
    onRestart: () => metrics.restarts.inc(),
  });
  const metrics = new ClusterMetrics(pool);
  const readyTimeoutMs = config.redis.readyTimeoutMs + 2_000;
  const unready = async (): Promise<string | null> => {
    if (draining) return 'draining';
    const workers = pool.serving();
    if (workers.length === 0) return `no worker serving (of ${config.workers})`;
    const answers = await Promise.all(
      workers.map((worker) =>
        pool.ask(worker, 'ready', readyTimeoutMs).then(
          (reasons) => reasons as string[],
          (error: Error) => [error.message],
        ),
      ),
    );
    const reasons = answers.flatMap((list, i) => list.map((reason) => `worker ${workers[i]?.id}: ${reason}`));
    return reasons.length > 0 ? reasons.join('\n') : null;
  };
  // Probes answer from before the workers are up: 503 "no worker serving" rather than refused.
  let ops: OpsServer | undefined;
  let opsPort: number | undefined;
  // The drain of each worker is bounded by its own settings; past them, and 5 s more, it is killed.
  const boundMs = config.drain.readyGraceMs + config.drain.timeoutMs + 5_000;
  try {
    if (config.http.opsPort !== undefined) {
      ops = createOpsServer({ registry: metrics }, [unready], () => [
        `workers: ${pool.serving().length} of ${config.workers} serving`,
      ]);
      opsPort = await ops.start(config.http.opsPort, config.http.host);
    }
    const port = await pool.start();
    return {
      port,
      opsPort,
      pids: () => pool.serving().flatMap((w) => (w.process.pid === undefined ? [] : [w.process.pid])),
      async stop() {
        draining = true;
        const clean = await pool.stop(boundMs);
        await ops?.stop();
        return clean;
      },
    };
  } catch (error) {
    draining = true;
    await pool.stop(boundMs);
    await ops?.stop();
    throw error;
  }
}
