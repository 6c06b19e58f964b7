import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./heap-flood.child.ts', import.meta.url));
const CACHE_BYTES = 2 * 1024 * 1024;
const DOCUMENTS = 60;
const DOCUMENT_BYTES = 1024 * 1024;

interface Flood {
  before: number;
  after: number;
  statuses: Record<string, number>;
  cacheBytes: number;
  cacheEntries: number;
}

/**
 * Issue 10 row 1, measured: 60 distinct 1 MB anonymous documents (60 MB of text, each accepted
 * and executed) leave the heap of a `serve` process flat after a full GC. The server runs in a
 * child process with `--expose-gc`, so the test's own heap does not count.
 */
async function flood(redisUrl: string): Promise<Flood> {
  const node = ['--expose-gc', '--import', 'tsx', CHILD, redisUrl, String(DOCUMENTS), String(DOCUMENT_BYTES)];
  // The child dies with the test process (parent-death signal), as every child of the suite.
  const [command, args] = existsSync('/usr/bin/setpriv')
    ? ['setpriv', ['--pdeathsig', 'KILL', process.execPath, ...node]]
    : [process.execPath, node];
  const { stdout } = await run(command, args, {
    env: { ...process.env, NODE_ENV: 'test', DOCUMENT_CACHE_MAX_BYTES: String(CACHE_BYTES) },
    timeout: 240_000,
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Flood;
}

describe('row 1: an anonymous flood of distinct large documents leaves the heap flat', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('grows the heap by less than twice the cache bound + 32 MB after GC', async () => {
    const result = await flood(redis.url);
    const growth = result.after - result.before;
    console.info(
      `row 1 heap: ${DOCUMENTS} distinct ${DOCUMENT_BYTES / 1024} KB documents; heap after GC ${(result.before / 1e6).toFixed(1)} → ${(result.after / 1e6).toFixed(1)} MB (${(growth / 1e6).toFixed(1)} MB); cache ${result.cacheEntries} entries, ${result.cacheBytes} B`,
    );
    // Every document was answered (executed), not refused before parsing: the flood is real.
    expect(result.statuses).toEqual({ 200: DOCUMENTS });
    expect(result.cacheBytes).toBeLessThanOrEqual(CACHE_BYTES);
    expect(growth).toBeLessThan(2 * CACHE_BYTES + 32 * 1024 * 1024);
  });
});
