/**
 * Forks a benchmark server child (bookgraph's production runtime, bench/e2e-server.ts, or the
 * naive peer, bench/baselines/naive-peer.ts; tsx) against a bench's private Redis and talks to it
 * over IPC (bench/child-ipc.ts): its port, CPU seconds, memory, executions and a clean stop.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildReply, ChildRequest, ChildStats } from './child-ipc.ts';

export interface ServerChild {
  child: ChildProcess;
  port: number;
  /** CPU, memory and executions so far; after a full GC when `gc` (needs `exposeGc`). */
  cpu(gc?: boolean): Promise<ChildStats>;
  stop(): Promise<void>;
  /** The child's pid, for CPU pinning (bench/capacity.ts `--pin-server`). */
  pids(): number[];
}

export type ServerKind = 'bookgraph' | 'naive-peer';

const HERE = dirname(fileURLToPath(import.meta.url));
const SCRIPTS: Record<ServerKind, string> = {
  bookgraph: join(HERE, 'e2e-server.ts'),
  'naive-peer': join(HERE, 'baselines', 'naive-peer.ts'),
};

export interface ServerChildOptions {
  /** Which server. @default 'bookgraph' */
  kind?: ServerKind;
  /** Run the child with --expose-gc, so `cpu(true)` measures memory after a full GC. @default false */
  exposeGc?: boolean;
}

export function startServer(
  redisUrl: string,
  region: string,
  { kind = 'bookgraph', exposeGc = false }: ServerChildOptions = {},
): Promise<ServerChild> {
  const child = fork(SCRIPTS[kind], [], {
    // BENCH_CPU_PROF=DIR: a V8 CPU profile of the server, written to DIR when it stops.
    execArgv: [
      '--import',
      'tsx',
      ...(exposeGc ? ['--expose-gc'] : []),
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
    ],
    env: { ...process.env, REDIS_URL: redisUrl, REGION: region },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const request = (message: ChildRequest) => child.send(message);
  // Each CPU reading carries an id: a saturated server answers late, and an answer must not settle
  // a later request too (both readings equal: 0 CPU over the window).
  let requests = 0;
  return new Promise((resolve, reject) => {
    // Generous: a child compiling the app on a machine running four test suites takes minutes.
    const timer = setTimeout(() => reject(new Error(`${kind} server did not start within 180 s`)), 180_000);
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
    const onReady = (message: ChildReply) => {
      if (message.type !== 'ready') return;
      clearTimeout(timer);
      child.off('message', onReady);
      resolve({
        child,
        port: message.port,
        pids: () => (child.pid === undefined ? [] : [child.pid]),
        cpu: (gc = false) => {
          requests += 1;
          const id = requests;
          return new Promise((res) => {
            const onCpu = (m: ChildReply) => {
              if (m.type !== 'cpu' || m.id !== id) return;
              child.off('message', onCpu);
              res({
                seconds: m.seconds,
                systemSeconds: m.systemSeconds,
                rss: m.rss,
                heapUsed: m.heapUsed,
                memory: m.memory,
                executions: m.executions,
              });
            };
            child.on('message', onCpu);
            request({ type: 'cpu', id, gc });
          });
        },
        stop: () =>
          new Promise<void>((res) => {
            if (child.exitCode !== null) {
              res();
              return;
            }
            const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
            child.removeAllListeners('exit');
            child.once('exit', () => {
              clearTimeout(kill);
              res();
            });
            request({ type: 'stop' });
          }),
      });
    };
    child.on('message', onReady);
  });
}
