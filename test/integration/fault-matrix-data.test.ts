import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClientKey, apiClientsKey } from '../../src/redis/keys.ts';
import { type LocalRedisServer, startLocalRedis } from '../../src/redis/local-server.ts';
import { type FaultCase, type MatrixWorld, runFaultCase, startMatrixWorld } from '../helpers/fault-matrix.ts';
import { sessionOrders } from '../helpers/trader.ts';

/**
 * The fault matrix, part 2 (issue 14): Redis runs out of memory, and Redis dies (kill -9) and
 * comes back from its append-only file, then empty. Under live book subscribers and a trader; each
 * case checks "nothing lost" for the books and "no acknowledged order lost or duplicated" for the
 * trader (across the empty restart: for the session opened after it, see that case).
 */
let dir: string;
let world: MatrixWorld;
const restarted: LocalRedisServer[] = [];

/** Every write is fsynced before Redis answers: a kill -9 loses nothing it acknowledged. */
const aofArgs = () => ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir];

/** kill -9 of the test's redis-server, then the same port again (`args`: with its data or not). */
async function killAndRestart(world: MatrixWorld, args: string[]): Promise<void> {
  const current = restarted.at(-1) ?? world.redis.server;
  process.kill(current.pid, 'SIGKILL');
  await current.stop();
  restarted.push(await startLocalRedis({ port: current.port, args }));
}

const CASES: FaultCase[] = [
  {
    name: 'maxmemory OOM, then memory freed',
    async inject({ direct, trader }) {
      const from = Date.now();
      // Below what Redis uses: every write is refused (noeviction) until the limit is lifted.
      await direct.config('SET', 'maxmemory', '1');
      await trader.untilUnknownAfter(from, 'the trader to be refused (OOM)');
      await direct.config('SET', 'maxmemory', '0');
    },
  },
  {
    name: 'Redis kill -9, restarted from its AOF',
    async inject(world) {
      await killAndRestart(world, aofArgs());
    },
  },
];

describe('fault matrix: Redis out of memory and killed, under subscribers and a trader', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bookgraph-matrix-'));
    world = await startMatrixWorld({ redisArgs: aofArgs() });
  });
  afterAll(async () => {
    await world?.stop();
    for (const server of restarted) await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  for (const fault of CASES) {
    it(fault.name, async () => {
      const { problems } = await runFaultCase(world, fault);
      expect(problems).toEqual([]);
    });
  }

  it('Redis kill -9, restarted empty: books RESET and resume, a new session trades exactly once', async () => {
    const before = world.trader;
    const { key, clientId, direct } = world;
    const record = await direct.hgetall(apiClientKey(clientId));
    const oldSession = before.options.sessionId;
    const { problems } = await runFaultCase(world, {
      name: 'Redis kill -9, restarted empty',
      async inject(w) {
        await before.pause();
        await killAndRestart(w, []);
        // The data is gone, the API key record with it: the operator restores keys from their
        // backup (an empty registry is "unavailable", never "revoked"); sessions are not restored.
        await direct.hset(apiClientKey(clientId), record);
        await direct.sadd(apiClientsKey(), clientId);
        await before.stop();
        w.trader = await w.openTrader();
      },
    });
    expect(problems).toEqual([]);
    // The lost session is reported as such (a typed error), never as a session without orders.
    const lost = await sessionOrders(world.stack.httpUrl, key, oldSession).catch((e: Error) => e.message);
    expect(lost).toMatch(/SESSION_NOT_FOUND/);
  });
});
