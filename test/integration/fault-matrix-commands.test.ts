import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FaultCase, type MatrixWorld, runFaultCase, startMatrixWorld } from '../helpers/fault-matrix.ts';

/**
 * The fault matrix, part 1 (issue 14): faults Redis survives with its data, provoked under live
 * book subscribers (graphql-ws and SSE) and a trader placing and canceling paper orders. Each case
 * checks "nothing lost" for every book client and "no acknowledged order lost or duplicated" for
 * the trader, and reports its recovery time (printed at the end; docs/OPERATIONS.md has the table).
 */
/** How long the pause and the sleep last: long enough to hold writes and subscribers, short for CI. */
const OUTAGE_S = 3;
const DEFAULT_PUBSUB_LIMIT = 'pubsub 32mb 8mb 60';

const CASES: FaultCase[] = [
  {
    name: 'CLIENT KILL TYPE pubsub',
    async inject({ direct }) {
      expect(Number(await direct.client('KILL', 'TYPE', 'pubsub'))).toBeGreaterThanOrEqual(1);
    },
  },
  {
    name: 'pub/sub output buffer eviction',
    async inject({ direct, books }) {
      // Redis cuts a subscriber whose output buffer holds more than a byte: the server's, at once.
      const resets = books.map((book) => book.resets.length);
      await direct.config('SET', 'client-output-buffer-limit', 'pubsub 1 0 0');
      await Promise.all(books.map((book, i) => book.until(() => book.resets.length > resets[i]!)));
      await direct.config('SET', 'client-output-buffer-limit', DEFAULT_PUBSUB_LIMIT);
    },
  },
  {
    name: `CLIENT PAUSE ${OUTAGE_S} s`,
    async inject({ direct }) {
      await direct.call('CLIENT', 'PAUSE', String(OUTAGE_S * 1000), 'ALL');
      // Answered once the pause is over.
      await direct.ping();
    },
  },
  {
    name: `DEBUG SLEEP ${OUTAGE_S} s`,
    async inject({ direct }) {
      await direct.call('DEBUG', 'SLEEP', String(OUTAGE_S));
    },
  },
  {
    name: 'blackhole (until queries fail UNAVAILABLE)',
    async inject({ proxy, trader }) {
      const from = Date.now();
      proxy.blackhole(600_000);
      // Until the trader is told (a command timeout, 5 s): an outage long enough to matter.
      await trader.untilUnknownAfter(from);
      proxy.endBlackhole();
    },
  },
  {
    name: 'latency 150 ms each way',
    async inject({ proxy, trader }) {
      proxy.latency(150);
      const acks = trader.placed.size;
      await trader.untilAcks(acks + 3);
      proxy.latency(0);
    },
  },
];

describe('fault matrix: Redis faults without data loss, under subscribers and a trader', () => {
  let world: MatrixWorld;
  beforeAll(async () => {
    world = await startMatrixWorld({ redisArgs: ['--enable-debug-command', 'yes'] });
  });
  afterAll(async () => {
    await world?.stop();
  });

  for (const fault of CASES) {
    it(fault.name, async () => {
      const { problems } = await runFaultCase(world, fault);
      expect(problems).toEqual([]);
    });
  }
});
