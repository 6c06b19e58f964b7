/** The help of `bookgraph` and of its server commands (the others keep theirs in their module). */

export const GLOBAL_USAGE = `Usage: bookgraph <command> [options]     (bookgraph <command> --help for each)

Commands:
  start    simulator + ingest + GraphQL server in one process (the default)
  serve    the GraphQL server only
  ingest   the feeds named in FEEDS, into Redis
  record   the feeds' normalised events to an NDJSON file
  replay   a recording through the ingester into Redis
  clients  API clients and keys: create, list, revoke
  regions  three regions (server + ingester each) on one local Redis
  help     this text

Configuration comes from the environment (README.md, "Configuration"); options override the
variables they name.`;

const PORT = '  --port N             the port to listen on, 0 for any free one (PORT)';
const FEED_OPTIONS = `  --exchange ID        ingest a real venue through ccxt: FEEDS=ccxt:ID (e.g. binance, okx)
  --symbols LIST       comma-separated unified symbols to follow (SYMBOLS)
  --rest-url URL       base URL replacing the venue's REST host (EXCHANGE_REST_URL)
  --ws-url URL         base URL replacing the venue's WebSocket host (EXCHANGE_WS_URL)`;

export const COMMAND_USAGE: Record<'start' | 'serve' | 'ingest', string> = {
  start: `Usage: bookgraph start [--port N] [--exchange ID --symbols A/B,C/D] [--rest-url URL] [--ws-url URL]

Runs the feeds (FEEDS, default the simulator), the ingester and the GraphQL server in one
process: the first run. Redis: REDIS_URL, else 127.0.0.1:6379 if it answers, else a private
redis-server on a free port that stops with bookgraph; its URL is written where \`bookgraph
clients\`, \`replay\` and \`record\` look for it.

Options:
${PORT}
${FEED_OPTIONS}`,
  serve: `Usage: bookgraph serve [--port N] [--workers N|auto]

Runs the GraphQL server only (stateless: scale it horizontally) against REDIS_URL, where the
region's ingesters write. /health, /ready and /metrics are on the same port.

With --workers N (N > 1) a primary process forks N workers, each a whole server with its own
Redis connections and book replicas, sharing the port; it restarts a worker that dies, sums
their metrics, and on SIGTERM/SIGINT drains them all. OPS_PORT is then the primary's.

Options:
${PORT}
  --workers N          server processes sharing the port: 1-64, or auto (one per core) (WORKERS)`,
  ingest: `Usage: bookgraph ingest [--exchange ID --symbols A/B,C/D] [--rest-url URL] [--ws-url URL] [--port N]

Runs the feeds named in FEEDS (one process per exchange in production) and writes their books
and trades into REDIS_URL. /health, /ready and /metrics answer on PORT.

Options:
${PORT}
${FEED_OPTIONS}`,
};
