import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import { type DestinationStream, type Logger, pino } from 'pino';
import pretty from 'pino-pretty';
import { redisCommandOf } from './redis/command-error.ts';

export interface LoggerOptions {
  /** @default 'bookgraph' */
  name?: string;
  /** LOG_PRETTY: true/false forces it; undefined = pretty only in development on a terminal. */
  pretty?: boolean;
  /** NODE_ENV. @default 'production' */
  env?: string;
  /** Where JSON lines go (tests capture logs with one). @default stdout */
  destination?: DestinationStream;
}

/** Human-readable logs only where a person reads them: development on a TTY, or asked for. */
export function prettyLogs(pretty: boolean | undefined, env: string, isTTY: boolean): boolean {
  return pretty ?? (env === 'development' && isTTY);
}

/** The active span's ids on every line logged inside a traced operation (src/observability/tracing.ts). */
function traceFields(): Record<string, string> {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const ids = span.spanContext();
  return isSpanContextValid(ids) ? { traceId: ids.traceId, spanId: ids.spanId } : {};
}

/**
 * pino's error serializer, except that a Redis error names its command and key but never the
 * command's arguments (an EVALSHA's carry the whole encoded event), and drops the stack, which
 * only ever points into ioredis's parser.
 */
export function serializeError(error: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { ...pino.stdSerializers.err(error) };
  const redis = redisCommandOf(error);
  if (!redis) return out;
  delete out.command;
  delete out.stack;
  return { ...out, command: redis.command, ...(redis.key === undefined ? {} : { key: redis.key }) };
}

/**
 * JSON logs (one line per event) to stdout in production; pino-pretty's colourised lines in
 * development on a terminal or with LOG_PRETTY=1. Level from config.
 */
export function createLogger(level: string, options: LoggerOptions | string = {}): Logger {
  const {
    name = 'bookgraph',
    env = 'production',
    destination,
    ...rest
  } = typeof options === 'string' ? { name: options } : options;
  const settings = {
    name,
    level,
    base: { pid: process.pid },
    mixin: traceFields,
    serializers: { err: serializeError },
  };
  if (destination) return pino(settings, destination);
  if (prettyLogs(rest.pretty, env, process.stdout.isTTY === true)) {
    return pino(
      settings,
      pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true }),
    );
  }
  return pino(settings);
}

export type { Logger };
