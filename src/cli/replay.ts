import { existsSync } from 'node:fs';
import { loadConfig } from '../config.ts';
import { Ingester } from '../ingest/ingester.ts';
import { createLogger } from '../log.ts';
import { ReplayFeed } from '../marketdata/recording.ts';
import { BookStore } from '../redis/book-store.ts';
import { createRedis } from '../redis/connection.ts';
import { startRuntime } from '../runtime.ts';
import { parseCommandLine, portProblem, UsageError } from './args.ts';
import { findRedisUrl } from './redis-url-file.ts';

export const REPLAY_USAGE = `Usage: bookgraph replay FILE [--speed N] [--serve] [--port N]

Plays a recording (bookgraph record) through the ingester into Redis (REDIS_URL, else the
private redis-server of a running \`bookgraph start\`, else 127.0.0.1:6379): N times as fast as recorded (default 1; 0 = as fast as possible). With --serve,
the GraphQL server runs too (and a private redis-server is launched if none is found), and the
process keeps serving after the replay ends.`;

function progressPrinter(): (done: number, total: number) => void {
  let lastAt = 0;
  return (done, total) => {
    const now = Date.now();
    if (done < total && now - lastAt < 250) return;
    lastAt = now;
    const line = `bookgraph replay: ${done}/${total} events (${Math.floor((done * 100) / Math.max(1, total))}%)`;
    if (process.stderr.isTTY) process.stderr.write(`\r${line}${done === total ? '\n' : ''}`);
    else console.error(line);
  };
}

/** `bookgraph replay`: NDJSON file -> ReplayFeed -> the same Ingester -> Redis. */
export async function replay(argv: string[]): Promise<void> {
  const parsed = parseCommandLine(
    'replay',
    argv,
    { speed: { type: 'string' }, serve: { type: 'boolean' }, port: { type: 'string' } },
    1,
  );
  const { positionals } = parsed;
  const values = parsed.values as { speed?: string; serve?: boolean; port?: string; help?: boolean };
  if (values.help) {
    console.log(REPLAY_USAGE);
    return;
  }
  const path = positionals[0];
  const speed = Number(values.speed ?? '1');
  const problems = [
    path ? (existsSync(path) ? null : `FILE: no such file "${path}"`) : 'FILE is required',
    Number.isFinite(speed) && speed >= 0 ? null : `--speed: "${values.speed}" is not a number >= 0`,
    portProblem('--port', values.port),
  ].filter((p): p is string => p !== null);
  if (problems.length > 0 || !path) throw new UsageError('replay', problems);
  const config = loadConfig(values.port ? { ...process.env, PORT: values.port } : process.env);
  const log = createLogger(config.log.level, { pretty: config.log.pretty, env: config.env });
  // Checked before the file is read: a Redis that does not answer is one line, not a stack trace.
  const redisUrl = values.serve ? undefined : await findRedisUrl(config.redis.url);
  const feed = await ReplayFeed.fromFile(path, { speed, onProgress: progressPrinter() });
  console.error(`bookgraph replay: ${feed.total} events of ${feed.markets().length} markets from ${path}`);

  if (values.serve) {
    const runtime = await startRuntime({
      config,
      log,
      ingest: true,
      serve: true,
      launchRedis: true,
      feeds: [feed],
    });
    console.error(`bookgraph replay: serving on http://${config.http.host}:${runtime.port}/graphql`);
    const shutdown = () => void runtime.stop().then(() => process.exit(0));
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
    await feed.done;
    await runtime.ingester?.drain();
    console.error('bookgraph replay: done; still serving (Ctrl-C to stop)');
    return;
  }

  const writer = createRedis(redisUrl ?? (await findRedisUrl(config.redis.url)), 'writer');
  writer.on('error', (err) => log.warn({ err }, 'redis connection error'));
  const ingester = new Ingester({
    store: new BookStore(writer, config.region),
    feeds: [feed],
    log,
    feedStatus: config.feedStatus,
  });
  const stop = async () => {
    await ingester.stop();
    await writer.quit().catch(() => writer.disconnect());
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  await ingester.start();
  await feed.done;
  await stop();
  const s = ingester.stats;
  console.error(
    `bookgraph replay: wrote ${s.written} book events and ${s.trades} trades (${s.rejected} rejected, ${s.writeErrors} write errors)`,
  );
  process.exit(s.writeErrors > 0 ? 1 : 0);
}
