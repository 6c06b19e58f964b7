/**
 * The IPC side of a benchmark server child (bench/e2e-server.ts, bench/baselines/naive-peer.ts):
 * sends {type:'ready', port}; answers {type:'cpu', gc?} with {type:'cpu', seconds, rss, heapUsed,
 * executions} (after a full GC when asked and the child runs with --expose-gc); on {type:'stop'}
 * stops the server and exits. bench/server-child.ts is the parent's side.
 */
import { readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

/** `id` is echoed: a saturated server answers late, and a late answer must not settle a later request. */
export type ChildRequest = { type: 'cpu'; id: number; gc?: boolean } | { type: 'stop' };

export interface ChildStats {
  /** CPU seconds (user + system) the child used so far. */
  seconds: number;
  /** Of `seconds`, the kernel's (system time: socket writes, loopback TCP). */
  systemSeconds: number;
  rss: number;
  heapUsed: number;
  /**
   * Where the RSS is, in MB (children of bench/cli-server.ts do not say): V8's committed heap
   * (`heapTotal`) and what its spaces hold live, memory outside the heap that V8 knows of
   * (`external`, of which `arrayBuffers`: Buffers), and the process's anonymous and file-backed
   * resident pages (/proc/self/status RssAnon, RssFile).
   */
  memory?: Record<string, number>;
  /** GraphQL executions of subscription events so far (NaN where the child does not count them). */
  executions: number;
}

export type ChildReply = { type: 'ready'; port: number } | ({ type: 'cpu'; id: number } & ChildStats);

export function serveIpc(server: { port: number; executions(): number; stop(): Promise<void> }): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('a bench server child must be forked with an IPC channel');
  // The parent went away (killed, or a test that failed): do not outlive it.
  process.on('disconnect', () => process.exit(1));
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('message', (message: ChildRequest) => {
    if (message.type === 'cpu') {
      if (message.gc && gc) {
        // Twice: the first collection can leave finalised objects for the second.
        gc();
        gc();
      }
      const u = process.cpuUsage();
      const memory = process.memoryUsage();
      const status = readFileSync('/proc/self/status', 'utf8');
      const kb = (field: string) =>
        Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
      const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
      const detail: Record<string, number> = {
        heapTotal: mb(memory.heapTotal),
        heapUsed: mb(memory.heapUsed),
        external: mb(memory.external),
        arrayBuffers: mb(memory.arrayBuffers),
        rssAnon: mb(kb('RssAnon') * 1024),
        rssFile: mb(kb('RssFile') * 1024),
      };
      for (const space of getHeapSpaceStatistics()) {
        detail[`${space.space_name}.committed`] = mb(space.physical_space_size);
        detail[`${space.space_name}.used`] = mb(space.space_used_size);
      }
      const reply: ChildReply = {
        type: 'cpu',
        id: message.id,
        seconds: (u.user + u.system) / 1e6,
        systemSeconds: u.system / 1e6,
        rss: memory.rss,
        heapUsed: memory.heapUsed,
        memory: detail,
        executions: server.executions(),
      };
      send(reply);
    } else if (message.type === 'stop') {
      void server.stop().finally(() => process.exit(0));
    }
  });
  const ready: ChildReply = { type: 'ready', port: server.port };
  send(ready);
}
