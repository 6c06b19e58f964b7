/**
 * The GraphQL server for bench/e2e.ts, as its own process (forked with `--import tsx`): the
 * production runtime with `serve` only, against the bench's private Redis (REDIS_URL).
 * IPC: sends {type:'ready', port}; answers {type:'cpu'} with {type:'cpu', seconds, rss};
 * on {type:'stop'} stops the runtime and exits.
 */
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startRuntime } from '../src/runtime.ts';

type Request = { type: 'cpu'; id?: number } | { type: 'stop' };

async function main(): Promise<void> {
  const send = process.send?.bind(process);
  if (!send) throw new Error('bench/e2e-server.ts must be forked with an IPC channel');
  const config = loadConfig({
    REDIS_URL: process.env.REDIS_URL,
    REGION: process.env.REGION ?? 'bench',
    PORT: '0',
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
  });
  const runtime = await startRuntime({
    config,
    log: createLogger('silent'),
    ingest: false,
    serve: true,
    launchRedis: false,
  });
  process.on('message', (message: Request) => {
    if (message.type === 'cpu') {
      const u = process.cpuUsage();
      send({
        type: 'cpu',
        id: message.id,
        seconds: (u.user + u.system) / 1e6,
        rss: process.memoryUsage().rss,
      });
    } else if (message.type === 'stop') {
      void runtime.stop().finally(() => process.exit(0));
    }
  });
  send({ type: 'ready', port: runtime.port });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
