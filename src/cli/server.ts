import { type Config, ConfigError, ENV_VARIABLES, loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { RedisNotInstalledError } from '../redis/local-server.ts';
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

/** Command-line options as the environment variables they stand for. */
function optionsAsEnv(values: Record<string, string | boolean | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  if (text('port')) env.PORT = text('port');
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
  const options = command === 'serve' ? { port: OPTIONS.port } : OPTIONS;
  const { values } = parseCommandLine(command, argv, options);
  if (values.help) {
    console.log(COMMAND_USAGE[command]);
    return;
  }
  const optionProblem = portOptionProblem('--port', values.port);
  if (optionProblem) throw new UsageError(command, [optionProblem]);

  for (const { name, suggestion } of misspelledVariables(process.env, ENV_VARIABLES)) {
    console.error(
      `bookgraph: warning: ${name} is not a bookgraph variable and is ignored; did you mean ${suggestion}?`,
    );
  }
  const config = await configOrProblems({ ...process.env, ...optionsAsEnv(values) }, command);
  const problems = (
    await Promise.all([
      portProblem(config.http.port, config.http.host),
      config.redis.url ? redisProblem(config.redis.url, config.redis.commandTimeoutMs) : null,
    ])
  ).filter((p): p is string => p !== null);
  if (problems.length > 0) throw new StartupError(problems);

  const log = createLogger(config.log.level, { pretty: config.log.pretty, env: config.env });
  // Loaded here, not at the top: the runtime pulls in ccxt and the whole server (~1.5 s of module
  // loading), which `--help` and the other commands do not need.
  const { startRuntime } = await import('../runtime.ts');
  const runtime = await startRuntime({
    config,
    log,
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
    'bookgraph started',
  );
  // The banner is for a person at a terminal in development; production logs stay JSON lines.
  if (config.env === 'development' && process.stdout.isTTY && runtime.app && runtime.port !== undefined) {
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
