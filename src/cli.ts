import { parseArgs } from 'node:util';
import { stopOnSignals } from './cli/signals.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { RedisNotInstalledError } from './redis/local-server.ts';

const USAGE = `Usage: bookgraph <command> [--port N] [--exchange ID --symbols A/B,C/D] [--rest-url URL] [--ws-url URL]

Commands:
  start    simulator + ingest + GraphQL server in one process (the default)
  serve    the GraphQL server only
  ingest   the feeds named in FEEDS, into Redis
  record   the feeds' normalised events to an NDJSON file (bookgraph record --help)
  replay   a recording through the ingester into Redis (bookgraph replay --help)
  clients  API clients and keys: create, list, revoke (bookgraph clients --help)
  regions  three regions (server + ingester each) on one local Redis (bookgraph regions --help)
  help     this text

Options:
  --port N             the port (PORT)
  --exchange ID        ingest a real venue through ccxt: FEEDS=ccxt:ID (e.g. binance, okx)
  --symbols LIST       comma-separated unified symbols to follow (SYMBOLS)
  --rest-url URL       base URL replacing the venue's REST host (EXCHANGE_REST_URL)
  --ws-url URL         base URL replacing the venue's WebSocket host (EXCHANGE_WS_URL)

Configuration comes from the environment: REDIS_URL, REGION, HOST, PORT, FEEDS, SYMBOLS,
EXCHANGE_REST_URL, EXCHANGE_WS_URL, SIM_SEED, SIM_UPDATES_PER_SEC, LOG_LEVEL, GRAPHIQL,
BOOK_STALE_MS, MAX_DEPTH (see README.md). Options override the variables they name.`;

/** Command-line options as the environment variables they stand for. */
function optionsAsEnv(values: {
  port?: string;
  exchange?: string;
  symbols?: string;
  'rest-url'?: string;
  'ws-url'?: string;
}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  if (values.port) env.PORT = values.port;
  if (values.exchange) env.FEEDS = `ccxt:${values.exchange}`;
  if (values.symbols) env.SYMBOLS = values.symbols;
  if (values['rest-url']) env.EXCHANGE_REST_URL = values['rest-url'];
  if (values['ws-url']) env.EXCHANGE_WS_URL = values['ws-url'];
  return env;
}

function banner(port: number, host: string, graphiql: boolean, dashboard: boolean): string {
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  const url = `http://${shown}:${port}/graphql`;
  return [
    '',
    dashboard
      ? `  Dashboard: http://${shown}:${port}/dashboard  (live books, trades, candles, liquidity)`
      : '  The dashboard is off (DASHBOARD=on turns it on).',
    `  bookgraph is serving live books at ${url}`,
    graphiql
      ? `  GraphiQL: open ${url} in a browser and press run.`
      : '  GraphiQL is off (GRAPHIQL=1 turns it on).',
    '',
    '  An example subscription to paste into GraphiQL:',
    '    subscription { orderBookUpdates(exchange: "sim1", symbol: "BTC/USDT", depth: 5) {',
    '      type seq prevSeq bids { price size } asks { price size } } }',
    '',
    '  Or over SSE from a terminal:',
    `    curl -N -H 'accept: text/event-stream' '${url}?query=subscription%7BorderBook(exchange:%22sim1%22,symbol:%22BTC/USDT%22,depth:3,throttleMs:1000)%7Bseq%20bestBid%7Bprice%7D%20bestAsk%7Bprice%7D%7D%7D'`,
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'record') return (await import('./cli/record.ts')).record(argv.slice(1));
  if (argv[0] === 'replay') return (await import('./cli/replay.ts')).replay(argv.slice(1));
  if (argv[0] === 'clients') return (await import('./cli/clients.ts')).clients(argv.slice(1));
  if (argv[0] === 'regions') return (await import('./cli/regions.ts')).regions(argv.slice(1));
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      exchange: { type: 'string' },
      symbols: { type: 'string' },
      'rest-url': { type: 'string' },
      'ws-url': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0] ?? 'start';
  if (values.help || command === 'help') {
    console.log(USAGE);
    return;
  }
  if (!['start', 'serve', 'ingest'].includes(command)) {
    console.error(`Unknown command "${command}".\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const env = { ...process.env, ...optionsAsEnv(values) };
  const config = loadConfig(env);
  const log = createLogger(config.log.level, { pretty: config.log.pretty, env: config.env });
  // Loaded here, not at the top: the runtime pulls in ccxt and the whole server (~1.5 s of module
  // loading), which `clients`, `record --help` and friends do not need.
  const { startRuntime } = await import('./runtime.ts');
  const runtime = await startRuntime({
    config,
    log,
    ingest: command !== 'serve',
    serve: command !== 'ingest',
    launchRedis: command === 'start',
  });
  if (runtime.app && runtime.port !== undefined)
    console.log(banner(runtime.port, config.http.host, config.http.graphiql, config.http.dashboard));
  if (runtime.localRedis) {
    console.log(
      `bookgraph: no REDIS_URL and nothing on 127.0.0.1:6379, so a private redis-server runs on port ${runtime.localRedis.port}; it stops when bookgraph exits.`,
    );
  }
  log.info(
    {
      command,
      region: config.region,
      redis: runtime.redisUrl.replace(/\/\/[^@]*@/, '//***@'),
      port: runtime.port,
    },
    'bookgraph started',
  );

  stopOnSignals(log, config.drain.readyGraceMs + config.drain.timeoutMs, () => runtime.stop());
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
  } else if (error instanceof RedisNotInstalledError) {
    console.error(
      'bookgraph: no Redis to use. Set REDIS_URL, start Redis on 127.0.0.1:6379, or install redis-server (e.g. `apt-get install redis-server`) so `start` can launch a private one.',
    );
  } else {
    console.error(error);
  }
  process.exit(1);
});
