import type { Logger } from '../log.ts';

/**
 * Runs `stop` once on the first SIGINT or SIGTERM, then exits 0 (1 if it failed). `boundMs` is
 * how long the stop may take by its own bounds (the drain); past it and 5 s more, exit 1.
 */
export function stopOnSignals(log: Logger, boundMs: number, stop: () => Promise<void>): void {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    // Known source, fixed: graphql-redis-subscriptions sends UNSUBSCRIBE/PUNSUBSCRIBE without
    // handling their promises, so a stream ending after Redis closed left a "Connection is
    // closed." rejection (seen in the fault matrix's SIGTERM drain); ChannelSubscriber.close()
    // now stops that (test/integration/stop-under-load.test.ts). Kept as a last resort only:
    // a rejection during shutdown is logged as an error and the exit stays 0. Before a signal
    // an unhandled rejection still ends the process.
    process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection while shutting down'));
    // The drain bounds itself; this only catches a shutdown that hangs past it.
    const force = setTimeout(() => process.exit(1), boundMs + 5_000).unref();
    stop().then(
      () => {
        clearTimeout(force);
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}
