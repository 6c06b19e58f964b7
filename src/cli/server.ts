import cluster from 'node:cluster';
import { type Config, ConfigError, ENV_VARIABLES, loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { RedisNotInstalledError } from '../redis/local-server.ts';
import { isServeWorker, joinPrimary, workerHeaders } from '../server/cluster/worker.ts';
import { workersOptionProblem } from '../server/cluster/workers-setting.ts';
import { parseCommandLine, portProblem as portOptionProblem, StartupError, UsageError } from './args.ts';
import { banner } from './banner.ts';
import { misspelledVariables } from './env-typos.ts';
import { listenErrorProblem, portProblem, redisProblem, unknownCcxtExchanges } from './preflight.ts';
import { redisUrlFile, removeRedisUrl, writeRedisUrl } from './redis-url-file.ts';
import { stopOnSignals } from './signals.ts';
import { COMMAND_USAGE } from './usage.ts';

export type ServerCommand = 'start' | 'serve' | 'ingest';

const OPTIONS = {
  port: { type: 'string' },
  exchange: { type: 'string' },
  symbols: { type: 'string' },
  'rest-url': { type: 'string' },
  'ws-url': { type: 'string' },
} as const;

const SERVE_OPTIONS = { port: OPTIONS.port, workers: { type: 'string' } } as const;

/** Command-line options as the environment variables they stand for. */
function optionsAsEnv(values: Record<string, string | boolean | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  if (text('port')) env.PORT = text('port');
  if (text('workers')) env.WORKERS = text('workers');
  if (text('exchange')) env.FEEDS = `ccxt:${text('exchange')}`;
  if (text('symbols')) env.SYMBOLS = text('symbols');
  if (text('rest-url')) env.EXCHANGE_REST_URL = text('rest-url');
  if (text('ws-url')) env.EXCHANGE_WS_URL = text('ws-url');
  return env;
}

/** The configuration, or every problem with it (variables, options, ccxt ids) at once. */
async function configOrProblems(env: NodeJS.ProcessEnv, command: ServerCommand): Promise<Config> {
  const problems: string[] = [];
  let config: Config | undefined;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  const feeds = (env.FEEDS ?? '').split(',').map((f) => f.trim());
  if (command !== 'serve') problems.push(...(await unknownCcxtExchanges(feeds)));
  if (!config || problems.length > 0) throw new StartupError(problems);
  return config;
}

/** `bookgraph start|serve|ingest`. */
export async function runServerCommand(command: ServerCommand, argv: string[]): Promise<void> {
  const { values } = parseCommandLine(command, argv, command === 'serve' ? SERVE_OPTIONS : OPTIONS);
  if (values.help) {
    console.log(COMMAND_USAGE[command]);
    return;
  }
  const optionProblems = [portOptionProblem('--port', values.port), workersOptionProblem(values.workers)];
  if (optionProblems.some((p) => p !== null)) {
    throw new UsageError(
      command,
      optionProblems.filter((p): p is string => p !== null),
    );
  }
  // A worker of `serve --workers N` reads the same command line and environment again: its
  // primary has warned about them and checked the port and Redis already.
  const worker = isServeWorker();
  if (!worker) {
    for (const { name, suggestion } of misspelledVariables(process.env, ENV_VARIABLES)) {
      console.error(
        `bookgraph: warning: ${name} is not a bookgraph variable and is ignored; did you mean ${suggestion}?`,
      );
    }
  }
  const config = await configOrProblems({ ...process.env, ...optionsAsEnv(values) }, command);
  const problems = worker
    ? []
    : (
        await Promise.all([
          portProblem(config.http.port, config.http.host),
          config.redis.url ? redisProblem(config.redis.url, config.redis.commandTimeoutMs) : null,
        ])
      ).filter((p): p is string => p !== null);
  if (problems.length > 0) throw new StartupError(problems);
  if (command !== 'serve' && config.workers > 1) {
    console.error(`bookgraph: warning: WORKERS is for \`serve\`; \`${command}\` runs in one process`);
  }

  const logger = createLogger(config.log.level, { pretty: config.log.pretty, env: config.env });
  // A worker's lines name it (its node:cluster id; the primary's lines about it use the same).
  const log = worker ? logger.child({ worker: cluster.worker?.id }) : logger;
  if (command === 'serve' && config.workers > 1 && !worker) {
    const { runServePrimary } = await import('./serve-workers.ts');
    return runServePrimary(config, log);
  }
  // Loaded here, not at the top: the runtime pulls in ccxt and the whole server (~1.5 s of module
  // loading), which `--help` and the other commands do not need.
  const { startRuntime } = await import('../runtime.ts');
  const runtime = await startRuntime({
    // A worker's probes and scrapes are its primary's (OPS_PORT there, summed over the workers).
    config: worker ? { ...config, http: { ...config.http, opsPort: undefined } } : config,
    log,
    responseHeaders: worker ? workerHeaders() : undefined,
    ingest: command !== 'serve',
    serve: command !== 'ingest',
    launchRedis: command === 'start',
  }).catch((error: unknown) => {
    const problem = listenErrorProblem(error, config);
    if (problem) throw new StartupError([problem]);
    if (error instanceof RedisNotInstalledError) {
      throw new StartupError([
        'REDIS_URL: no Redis to use. Set REDIS_URL, start Redis on 127.0.0.1:6379, or install redis-server (e.g. `apt-get install redis-server`) so `start` can launch a private one.',
      ]);
    }
    throw error;
  });
  const local = runtime.localRedis;
  if (local) writeRedisUrl(local.url);
  if (worker && runtime.app && runtime.port !== undefined) {
    joinPrimary({ app: runtime.app, metrics: runtime.app.metrics, port: runtime.port });
  }
  log.info(
    {
      command,
      region: config.region,
      redis: runtime.redisUrl.replace(/\/\/[^@]*@/, '//***@'),
      privateRedis: local ? { pid: local.pid, urlFile: redisUrlFile() } : undefined,
      port: runtime.port,
      ...(runtime.app && runtime.port !== undefined && config.http.dashboard
        ? {
            dashboard: `http://${config.http.host === '0.0.0.0' || config.http.host === '::' ? 'localhost' : config.http.host}:${runtime.port}/dashboard`,
          }
        : {}),
    },
    // A worker's primary says `bookgraph started` once every worker serves.
    worker ? 'worker serving' : 'bookgraph started',
  );
  // The banner is for a person at a terminal in development; production logs stay JSON lines.
  const terminal = config.env === 'development' && process.stdout.isTTY && !worker;
  if (terminal && runtime.app && runtime.port !== undefined) {
    console.log(
      banner({
        port: runtime.port,
        host: config.http.host,
        graphiql: config.http.graphiql,
        dashboard: config.http.dashboard,
        redisUrl: runtime.redisUrl,
        privateRedis: local !== undefined,
        redisReady: runtime.redisReady(),
      }),
    );
  }
  stopOnSignals(log, config.drain.readyGraceMs + config.drain.timeoutMs, async () => {
    await runtime.stop();
    if (local) removeRedisUrl(local.url);
  });
}
