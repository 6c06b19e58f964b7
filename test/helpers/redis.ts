import { Redis } from 'ioredis';
import { type LocalRedisServer, startLocalRedis } from '../../src/redis/local-server.ts';

/**
 * A private redis-server for one test file, on a free port; never the shared 127.0.0.1:6379.
 * Clients made with `client()` are closed by `stop()`.
 */
export interface TestRedis {
  server: LocalRedisServer;
  url: string;
  client(): Redis;
  stop(): Promise<void>;
}

/** `args` go to redis-server (`--maxmemory 16mb`, say). */
export async function startTestRedis(options: { args?: string[] } = {}): Promise<TestRedis> {
  const server = await startLocalRedis(options);
  const clients: Redis[] = [];
  return {
    server,
    url: server.url,
    client() {
      const c = new Redis(server.url, { maxRetriesPerRequest: 1 });
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.disconnect();
      await server.stop();
    },
  };
}
