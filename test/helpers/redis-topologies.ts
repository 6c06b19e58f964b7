import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { freePort, type LocalRedisServer, startLocalRedis } from '../../src/redis/local-server.ts';

/**
 * Redis Cluster and Sentinel deployments for tests: real redis-server processes on free loopback
 * ports, each dying with the test process (startLocalRedis: setpriv --pdeathsig) and stopped by
 * `stop()`. Generous waits: a loaded machine takes seconds to elect, gossip and fail over.
 */

const run = promisify(execFile);
const WAIT_MS = 60_000;

/** A client of one node of the deployment (not the app's): for admin commands and checks. */
function adminClient(port: number): Redis {
  const client = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, lazyConnect: false });
  client.on('error', () => {});
  return client;
}

async function poll(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Deployment {
  /** REDIS_URL of the deployment. */
  url: string;
  /** Admin clients by port, closed by stop(). */
  admin(port: number): Redis;
  stop(): Promise<void>;
}

function deployment(url: string, servers: LocalRedisServer[], cleanup: () => Promise<void>): Deployment {
  const admins = new Map<number, Redis>();
  return {
    url,
    admin(port) {
      let client = admins.get(port);
      if (!client) {
        client = adminClient(port);
        admins.set(port, client);
      }
      return client;
    },
    async stop() {
      for (const client of admins.values()) client.disconnect();
      await Promise.allSettled(servers.map((s) => s.stop()));
      await cleanup();
    },
  };
}

export interface TestCluster extends Deployment {
  servers: LocalRedisServer[];
  /** The port of the master that owns `key`'s slot (hash tags honoured). */
  masterOf(key: string): Promise<number>;
  /**
   * Fails the master that owns `key`'s slot over to its replica (CLUSTER FAILOVER on the replica:
   * the master stops writes, the replica catches up and takes over). Resolves with the new master's
   * port once every node agrees.
   */
  failover(key: string): Promise<number>;
  /**
   * SIGKILLs the master that owns `key`'s slot; resolves with the port of the replica the cluster
   * promoted, once every surviving node agrees (after cluster-node-timeout and an election).
   */
  killMaster(key: string): Promise<number>;
}

/** Slot owner per node's view: the port serving `slot` according to `CLUSTER SLOTS` on `client`. */
async function ownerPort(client: Redis, slot: number): Promise<number | undefined> {
  const slots = await client.cluster('SLOTS');
  const range = slots.find(([from, to]) => slot >= from && slot <= to);
  return range?.[2]?.[1];
}

/**
 * `masters` masters with `replicasPerMaster` replicas each, joined with `redis-cli --cluster create`.
 * @default 3 masters, 1 replica each
 */
export async function startTestCluster(options: { masters?: number; replicasPerMaster?: number } = {}) {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const servers: LocalRedisServer[] = [];
  try {
    const started = await Promise.all(
      Array.from({ length: masters * (1 + replicas) }, () =>
        startLocalRedis({
          args: [
            '--cluster-enabled',
            'yes',
            // Relative to the server's private --dir.
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            '3000',
          ],
        }),
      ),
    );
    servers.push(...started);
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...servers.map((s) => `127.0.0.1:${s.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { timeout: WAIT_MS },
    );
  } catch (error) {
    await Promise.allSettled(servers.map((s) => s.stop()));
    throw error;
  }
  const base = deployment(
    `redis+cluster://${servers.map((s) => `127.0.0.1:${s.port}`).join(',')}`,
    servers,
    async () => {},
  );
  const killed = new Set<number>();
  const agreed = async (slot: number, port?: number) => {
    const alive = servers.filter((s) => !killed.has(s.port));
    const owners = await Promise.all(alive.map((s) => ownerPort(base.admin(s.port), slot)));
    return owners.every((o) => o !== undefined && !killed.has(o) && o === (port ?? owners[0]));
  };
  const cluster: TestCluster = {
    ...base,
    servers,
    async masterOf(key) {
      const alive = servers.find((s) => !killed.has(s.port));
      const port = alive && (await ownerPort(base.admin(alive.port), calculateSlot(key)));
      if (port === undefined) throw new Error(`no master serves ${key}`);
      return port;
    },
    async failover(key) {
      const master = await cluster.masterOf(key);
      const id = (await base.admin(master).cluster('MYID')) as string;
      const lines = (await base.admin(master).cluster('REPLICAS', id)) as string[];
      const replicaPort = Number(/127\.0\.0\.1:(\d+)@/.exec(lines[0] ?? '')?.[1]);
      if (!replicaPort) throw new Error(`master ${master} has no replica`);
      await base.admin(replicaPort).cluster('FAILOVER');
      await poll(`127.0.0.1:${replicaPort} to own ${key}'s slot on every node`, () =>
        agreed(calculateSlot(key), replicaPort),
      );
      return replicaPort;
    },
    async killMaster(key) {
      const master = await cluster.masterOf(key);
      const server = servers.find((s) => s.port === master);
      if (!server) throw new Error(`no server on port ${master}`);
      killed.add(master);
      base.admin(master).disconnect();
      process.kill(server.pid, 'SIGKILL');
      await poll(`a replica to take over ${key}'s slot from the killed 127.0.0.1:${master}`, () =>
        agreed(calculateSlot(key)),
      );
      return cluster.masterOf(key);
    },
  };
  // Every slot served and every node agreeing on it, before a client connects.
  await poll('the cluster to be up', async () => {
    const infos = await Promise.all(
      servers.map((s) => base.admin(s.port).cluster('INFO') as Promise<string>),
    );
    return infos.every((i) => i.includes('cluster_state:ok')) && (await agreed(0)) && (await agreed(16383));
  });
  return cluster;
}

export interface TestSentinel extends Deployment {
  primary: LocalRedisServer;
  replica: LocalRedisServer;
  sentinels: LocalRedisServer[];
  /** The port Sentinel names as the primary now. */
  primaryPort(): Promise<number>;
  /**
   * SENTINEL FAILOVER, then waits until every sentinel names the replica as the primary and it
   * answers as one. Resolves with the new primary's port.
   */
  failover(): Promise<number>;
}

export const SENTINEL_MASTER = 'bookgraph';

/** A primary, its replica and three sentinels (quorum 2) watching them. */
export async function startTestSentinel(): Promise<TestSentinel> {
  const servers: LocalRedisServer[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'bookgraph-sentinel-'));
  try {
    const primary = await startLocalRedis();
    servers.push(primary);
    const replica = await startLocalRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
    servers.push(replica);
    const replicaAdmin = adminClient(replica.port);
    await poll('the replica to sync', async () =>
      (await replicaAdmin.info('replication')).includes('master_link_status:up'),
    ).finally(() => replicaAdmin.disconnect());
    const sentinels = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const port = await freePort();
        const configFile = join(dir, `sentinel-${i}.conf`);
        await writeFile(
          configFile,
          [
            `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${primary.port} 2`,
            `sentinel down-after-milliseconds ${SENTINEL_MASTER} 2000`,
            `sentinel failover-timeout ${SENTINEL_MASTER} 10000`,
            `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
            '',
          ].join('\n'),
        );
        return startLocalRedis({ port, configFile, args: ['--sentinel'] });
      }),
    );
    servers.push(...sentinels);
    const base = deployment(
      `redis+sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${SENTINEL_MASTER}`,
      servers,
      () => rm(dir, { recursive: true, force: true }),
    );
    const named = async (port: number) => {
      const names = await Promise.all(
        sentinels.map(
          (s) =>
            base.admin(s.port).call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER) as Promise<
              string[]
            >,
        ),
      );
      return names.every((n) => Number(n[1]) === port);
    };
    const sentinel: TestSentinel = {
      ...base,
      primary,
      replica,
      sentinels,
      async primaryPort() {
        const [, port] = (await base
          .admin(sentinels[0]!.port)
          .call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER)) as string[];
        return Number(port);
      },
      async failover() {
        const admin = base.admin(sentinels[0]!.port);
        // Refused (NOGOODSLAVE) until the sentinel has seen the replica as healthy: retry.
        await poll('SENTINEL FAILOVER to be accepted', async () => {
          await admin.call('SENTINEL', 'FAILOVER', SENTINEL_MASTER);
          return true;
        });
        await poll(`every sentinel to name 127.0.0.1:${replica.port}`, () => named(replica.port));
        await poll('the new primary to accept writes', async () =>
          (await base.admin(replica.port).info('replication')).includes('role:master'),
        );
        return replica.port;
      },
    };
    // Every sentinel knows the replica and the other sentinels before the test relies on them.
    await poll('the sentinels to see the replica and each other', async () => {
      const views = await Promise.all(
        sentinels.map(
          (s) =>
            base.admin(s.port).call('SENTINEL', 'MASTER', SENTINEL_MASTER) as Promise<Array<string | number>>,
        ),
      );
      return views.every((flat) => {
        const field = (name: string) => Number(flat[flat.indexOf(name) + 1]);
        return field('num-slaves') >= 1 && field('num-other-sentinels') >= 2;
      });
    });
    return sentinel;
  } catch (error) {
    await Promise.allSettled(servers.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
