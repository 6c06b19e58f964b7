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
    // Once the drain has answered what was in flight, Redis connections close under whatever
    // background work is left; a command of it failing then ("Connection is closed.") is part of
    // stopping, not a crash: logged, and the exit stays 0 (it was 1, seen in the fault matrix's
    // SIGTERM drain). Before a signal an unhandled rejection still ends the process.
    process.on('unhandledRejection', (err) => log.warn({ err }, 'unhandled rejection while shutting down'));
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
