/**
 * Child of abuse-heap.test.ts, run with `--expose-gc`: a `serve` runtime (anonymous market data)
 * takes a flood of distinct large documents; prints the heap after a full GC before and after.
 * Arguments: Redis URL, document count, document bytes.
 */
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startRuntime } from '../../src/runtime.ts';

const [redisUrl, count, bytes] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4])];
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

const config = loadConfig({
  REDIS_URL: redisUrl,
  PORT: '0',
  LOG_LEVEL: 'silent',
  ALLOW_ANONYMOUS_MARKETDATA: '1',
  MAX_BODY_BYTES: String(bytes + 64 * 1024),
  MAX_DOCUMENT_BYTES: String(bytes + 1024),
  DOCUMENT_CACHE_MAX_BYTES: process.env.DOCUMENT_CACHE_MAX_BYTES ?? String(2 * 1024 * 1024),
  QUOTA_REQUESTS_PER_SEC: '1000000',
  QUOTA_REQUEST_BURST: '1000000',
});
const runtime = await startRuntime({
  config,
  log: createLogger('silent'),
  ingest: false,
  serve: true,
  launchRedis: false,
});
const url = `http://127.0.0.1:${runtime.port}/graphql`;
const ask = async (query: string) => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, text: await response.text() };
};
// Warm up (schema, parser, first request paths) before the baseline.
for (let i = 0; i < 3; i += 1) await ask(`{ w${i}: region }`);
const before = heap();
const statuses: Record<number, number> = {};
for (let i = 0; i < count; i += 1) {
  // Distinct texts padded with whitespace: every one passes the token limit.
  const answer = await ask(`{ r${i}: region ${' '.repeat(bytes - 32)}}`);
  statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
}
const after = heap();
const cache = runtime.app!.edge.documents;
console.log(JSON.stringify({ before, after, statuses, cacheBytes: cache.bytes, cacheEntries: cache.size }));
await runtime.stop();
process.exit(0);
