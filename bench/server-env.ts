/**
 * The environment the benchmarks' bookgraph server runs with, whether forked
 * (bench/e2e-server.ts) or as the CLI (`bookgraph serve`, bench/capacity.ts).
 */
export const BENCH_SERVER_ENV = {
  LOG_LEVEL: 'silent',
  NODE_ENV: 'production',
  GRAPHIQL: '0',
  // `serve` requires API keys by default; auth is checked once per connection, not per
  // message, so anonymous clients measure the same delivery path.
  ALLOW_ANONYMOUS_MARKETDATA: '1',
  // Every bench client comes from one address: the per-address quotas would cap the load.
  QUOTA_CONNECTIONS: '1000000',
  QUOTA_SSE_STREAMS: '1000000',
  QUOTA_SUBSCRIPTIONS_PER_CONNECTION: '1000000',
  QUOTA_SUBSCRIPTIONS_PER_KEY: '1000000',
  QUOTA_REQUESTS_PER_SEC: '1000000',
  QUOTA_REQUEST_BURST: '1000000',
  // PUSH_PATH=off measures the iterator path against the push path (the default).
  ...(process.env.PUSH_PATH ? { PUSH_PATH: process.env.PUSH_PATH } : {}),
};
