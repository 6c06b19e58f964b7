/**
 * `bookgraph serve` as the operator runs it (the CLI through bin/bookgraph-dev.js, tsx), for
 * bench/capacity.ts: `--workers N` is passed through when N > 1, so a server that does not know
 * the option refuses it at start-up and the benchmark can say so. CPU and RSS are read from /proc
 * for the whole process tree (the primary and its workers).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchServer } from './fanout-run.ts';
import { procCpuSeconds, sleep } from './lib.ts';
import { BENCH_SERVER_ENV } from './server-env.ts';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'bookgraph-dev.js');

/** The server refused to start (an unknown option, a bad value): its own words. */
export class ServerRefused extends Error {}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `pid` and every process below it, from /proc. */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // exited meanwhile
    }
  }
  const tree: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift()!;
    tree.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return tree;
}

function rssBytes(pid: number): number {
  try {
    const resident = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    return resident * 4096;
  } catch {
    return 0;
  }
}

async function answersGraphql(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    return res.ok;
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startCliServer(
  redisUrl: string,
  region: string,
  workers: number,
): Promise<BenchServer> {
  const port = await freePort();
  const args = [CLI, 'serve', '--port', String(port), ...(workers > 1 ? ['--workers', String(workers)] : [])];
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      ...BENCH_SERVER_ENV,
      REDIS_URL: redisUrl,
      REGION: region,
      WORKERS: String(workers),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const killTree = () => {
    for (const pid of processTree(child.pid!).reverse()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  };
  process.once('exit', killTree);
  const until = Date.now() + 60_000;
  while (!(await answersGraphql(port))) {
    if (child.exitCode !== null) {
      process.off('exit', killTree);
      throw new ServerRefused(
        stderr.trim().split('\n').slice(0, 3).join(' ') || `exit code ${child.exitCode}`,
      );
    }
    if (Date.now() > until) {
      killTree();
      throw new Error(`bookgraph serve did not answer on ${port} within 60 s: ${stderr.slice(0, 500)}`);
    }
    await sleep(200);
  }
  return {
    port,
    pids: () => processTree(child.pid!),
    cpu: async () => {
      const tree = processTree(child.pid!);
      return {
        seconds: tree.reduce((a, pid) => a + (procCpuSeconds(pid) || 0), 0),
        systemSeconds: tree.reduce((a, pid) => a + (procCpuSeconds(pid, 'system') || 0), 0),
        rss: tree.reduce((a, pid) => a + rssBytes(pid), 0),
        heapUsed: Number.NaN,
        executions: Number.NaN,
      };
    },
    stop: async () => {
      child.kill('SIGTERM');
      await Promise.race([exited(child), sleep(15_000)]);
      killTree();
      process.off('exit', killTree);
    },
  };
}
