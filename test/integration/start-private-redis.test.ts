import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { freePort, RedisNotInstalledError, startLocalRedis } from '../../src/redis/local-server.ts';
import { type Runtime, startRuntime } from '../../src/runtime.ts';
import { processAlive as alive } from '../helpers/processes.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';

const log = createLogger('silent');
const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', SIM_UPDATES_PER_SEC: '5' });

async function region(port: number): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ region exchanges }' }),
  });
  return res.json();
}

describe('bookgraph start without REDIS_URL', () => {
  let runtime: Runtime | undefined;
  let redis: TestRedis | undefined;
  afterEach(async () => {
    await runtime?.stop();
    await redis?.stop();
    runtime = undefined;
    redis = undefined;
  });

  it('launches a private redis-server when nothing answers, serves from it, and stops it on exit', async () => {
    const nothingThere = await freePort();
    runtime = await startRuntime({
      config,
      log,
      ingest: true,
      serve: true,
      launchRedis: true,
      defaultRedisPort: nothingThere,
    });
    const local = runtime.localRedis;
    expect(local).toBeDefined();
    expect(runtime.redisUrl).toBe(local?.url);
    expect(await region(runtime.port!)).toEqual({
      data: { region: 'local', exchanges: ['sim1', 'sim2', 'sim3'] },
    });
    await runtime.stop();
    runtime = undefined;
    expect(alive(local!.pid)).toBe(false);
  });

  it('uses the Redis already answering on the default port instead of launching one', async () => {
    redis = await startTestRedis();
    runtime = await startRuntime({
      config,
      log,
      ingest: true,
      serve: true,
      launchRedis: true,
      defaultRedisPort: redis.server.port,
    });
    expect(runtime.localRedis).toBeUndefined();
    expect(runtime.redisUrl).toBe(redis.url);
    expect(await redis.client().smembers('bg:local:exchanges')).toHaveLength(3);
  });

  it('says redis-server is missing when it is not on the PATH', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(startLocalRedis()).rejects.toBeInstanceOf(RedisNotInstalledError);
    } finally {
      process.env.PATH = path;
    }
  });
});

describe('a private redis-server dies with the process that started it', () => {
  it('goes when its parent is killed with SIGKILL (no cleanup code runs)', async () => {
    const localServer = fileURLToPath(new URL('../../src/redis/local-server.ts', import.meta.url));
    const parent = spawn(
      process.execPath,
      [
        '--import',
        'tsx/esm',
        '--input-type=module',
        '-e',
        `const { startLocalRedis } = await import(${JSON.stringify(localServer)});
         const server = await startLocalRedis();
         console.log(server.pid);
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [line] = (await once(parent.stdout!, 'data')) as [Buffer];
    const pid = Number(line.toString().trim());
    expect(alive(pid)).toBe(true);
    parent.kill('SIGKILL');
    await expect.poll(() => alive(pid), { timeout: 60_000, interval: 50 }).toBe(false);
  });
});
