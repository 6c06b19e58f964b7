import { createServer } from 'node:net';
import type { Config } from '../config.ts';
import { createRedis } from '../redis/connection.ts';
import { editDistance } from './env-typos.ts';

/**
 * Checks made before anything starts, each problem as one line: unknown ccxt exchange ids, a
 * port already in use, a Redis that does not answer. Without them these surface late, as stack
 * traces (ccxt's after its first reconnect, 19 s in; ioredis's MaxRetriesPerRequestError).
 */

/** The `ccxt:<id>` feeds whose id ccxt has no WebSocket (pro) class for. */
export async function unknownCcxtExchanges(feeds: readonly string[]): Promise<string[]> {
  // `ccxt:<id>` or `ccxt:<id>:<symbol>|<symbol>…` (the feed's own symbols).
  const ids = feeds.flatMap((f) => /^ccxt:([^:]+)/.exec(f)?.[1] ?? []);
  if (ids.length === 0) return [];
  const { default: ccxt } = await import('ccxt');
  const known: string[] = (ccxt.pro as unknown as { exchanges: string[] }).exchanges;
  return ids
    .filter((id) => !known.includes(id))
    .map((id) => {
      const near = known.filter((k) => editDistance(id, k) <= 2).slice(0, 3);
      const hint = near.length > 0 ? `; did you mean ${near.join(', ')}?` : '';
      return `FEEDS: "ccxt:${id}" is not a ccxt exchange with WebSocket support (ccxt.pro.exchanges)${hint}`;
    });
}

/** A problem line if host:port cannot be listened on (in use, or not allowed). */
export function portProblem(port: number, host: string): Promise<string | null> {
  if (port === 0) return Promise.resolve(null);
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      resolve(
        error.code === 'EADDRINUSE'
          ? `PORT: ${host}:${port} is already in use (another bookgraph?): set PORT or --port to a free one, or 0 for any`
          : `PORT: cannot listen on ${host}:${port} (${error.code ?? error.message})`,
      );
    });
    server.listen(port, host, () => server.close(() => resolve(null)));
  });
}

/** The message of a listen error, as portProblem words it; undefined for any other error. */
export function listenErrorProblem(error: unknown, config: Config): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'EADDRINUSE' && code !== 'EACCES') return undefined;
  return `PORT: cannot listen on ${config.http.host}:${config.http.port} (${code})`;
}

/** A problem line if the Redis at `url` does not answer PING within `timeoutMs`. */
export async function redisProblem(url: string, timeoutMs: number): Promise<string | null> {
  const shown = url.replace(/\/\/[^@]*@/, '//***@');
  const redis = createRedis(url, 'command', {
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    lazyConnect: true,
  });
  let lastError = '';
  redis.on('error', (error: Error) => {
    lastError = error.message;
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([redis.connect().then(() => redis.ping()), deadline]);
    return null;
  } catch (error) {
    const reason = lastError || (error instanceof Error ? error.message : String(error));
    return `REDIS_URL: Redis at ${shown} does not answer (${reason})`;
  } finally {
    clearTimeout(timer);
    redis.disconnect();
  }
}
