import { type Logger, pino } from 'pino';

/** JSON logs to stdout (one line per event) for production; level from config. */
export function createLogger(level: string, name = 'bookgraph'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}

export type { Logger };
