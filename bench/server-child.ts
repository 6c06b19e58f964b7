/**
 * Forks bench/e2e-server.ts (the production runtime, `serve` only, tsx) against a bench's private
 * Redis and talks to it over IPC: its port, its CPU seconds and RSS, and a clean stop.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ServerChild {
  child: ChildProcess;
  port: number;
  cpu(): Promise<{ seconds: number; rss: number }>;
  stop(): Promise<void>;
}

const HERE = dirname(fileURLToPath(import.meta.url));

export function startServer(redisUrl: string, region: string): Promise<ServerChild> {
  const child = fork(join(HERE, 'e2e-server.ts'), [], {
    // BENCH_CPU_PROF=DIR: a V8 CPU profile of the server, written to DIR when it stops.
    execArgv: [
      '--import',
      'tsx',
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
    ],
    env: { ...process.env, REDIS_URL: redisUrl, REGION: region },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  type Reply = { type: 'ready'; port: number } | { type: 'cpu'; id?: number; seconds: number; rss: number };
  // Each request carries an id: a saturated server answers late, and an answer must not settle
  // a later request too (both readings equal: 0 CPU over the window).
  let requests = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start within 30 s')), 30_000);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    const onReady = (message: Reply) => {
      if (message.type !== 'ready') return;
      clearTimeout(timer);
      child.off('message', onReady);
      resolve({
        child,
        port: message.port,
        cpu: () => {
          requests += 1;
          const id = requests;
          return new Promise((res) => {
            const onCpu = (m: Reply) => {
              if (m.type !== 'cpu' || m.id !== id) return;
              child.off('message', onCpu);
              res({ seconds: m.seconds, rss: m.rss });
            };
            child.on('message', onCpu);
            child.send({ type: 'cpu', id });
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
            child.send({ type: 'stop' });
          }),
      });
    };
    child.on('message', onReady);
  });
}
