import type { RedisClient } from '../../src/redis/connection.ts';

/** A test Redis that refuses writes when full: a limit and `noeviction` (`startTestRedis({ args })`). */
const MAXMEMORY = 24 * 1024 * 1024;

/** Junk written before the limit drops: what DEL of `test:junk` frees again. */
const JUNK_BYTES = 8 * 1024 * 1024;
/** How far below what Redis uses the limit is set. */
const MARGIN_BYTES = 4 * 1024 * 1024;

/**
 * Makes Redis refuse every write: 8 MB of junk in one key, then maxmemory set 4 MB below what
 * Redis uses. Filling until used memory just passed the limit was not enough on a loaded machine:
 * part of what was counted was the filling client's query buffer, which Redis shrinks in the
 * background, and writes got through again. DEL of `test:junk` frees memory (the limit stays).
 */
export async function fillMemory(client: RedisClient): Promise<void> {
  const chunk = 1024 * 1024;
  for (let written = 0; written < JUNK_BYTES; written += chunk) {
    await client.append('test:junk', Buffer.alloc(chunk, 'x'));
  }
  const used = Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1]);
  await client.config('SET', 'maxmemory', String(used - MARGIN_BYTES));
}

export function oomArgs(): string[] {
  return ['--maxmemory', String(MAXMEMORY), '--maxmemory-policy', 'noeviction'];
}
