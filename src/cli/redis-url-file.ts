import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { redisAnswers } from '../redis/local-server.ts';
import { StartupError } from './args.ts';
import { redisProblem } from './preflight.ts';

/**
 * Where `bookgraph start` writes the URL of the private redis-server it launched, so that
 * `clients`, `replay` and `record` run next (without REDIS_URL) use the same Redis. One per user.
 */
export function redisUrlFile(): string {
  return join(tmpdir(), `bookgraph-${userInfo().uid}`, 'redis-url');
}

export function writeRedisUrl(url: string): void {
  const file = redisUrlFile();
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${url}\n`, { mode: 0o600 });
}

/** Removes the file if it still names `url` (another `start` may have replaced it since). */
export function removeRedisUrl(url: string): void {
  if (launchedRedisUrl() === url) rmSync(redisUrlFile(), { force: true });
}

export function launchedRedisUrl(): string | undefined {
  try {
    return readFileSync(redisUrlFile(), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The Redis a tool command (`clients`, `replay`) uses: REDIS_URL, else the private redis-server a
 * running `bookgraph start` launched (if it still answers), else 127.0.0.1:6379.
 */
export async function findRedisUrl(configured: string | undefined, timeoutMs = 5_000): Promise<string> {
  const url = await chooseRedisUrl(configured);
  const problem = await redisProblem(url, timeoutMs);
  if (problem) throw new StartupError([problem]);
  return url;
}

async function chooseRedisUrl(configured: string | undefined): Promise<string> {
  if (configured) return configured;
  const launched = launchedRedisUrl();
  const port = launched ? Number(/^redis:\/\/127\.0\.0\.1:(\d+)$/.exec(launched)?.[1]) : Number.NaN;
  if (launched && port > 0 && (await redisAnswers(port))) return launched;
  return 'redis://127.0.0.1:6379';
}
