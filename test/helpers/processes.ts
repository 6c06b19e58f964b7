import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';
import { bookChannel } from '../../src/redis/keys.ts';
import { decodeBookEvent } from '../../src/wire/codec.ts';
import type { ReferenceLog } from './book-checker.ts';
import { CLI } from './cli.ts';

const SETPRIV = (process.env.PATH ?? '')
  .split(delimiter)
  .some((dir) => dir && existsSync(join(dir, 'setpriv')));

/** A `bookgraph` process a test runs, kills and restarts (never outliving the test process). */
export interface CliProcess {
  readonly pid: number;
  /** Settles when the process has exited: its exit code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last of what it printed (stdout and stderr), for failure messages. */
  output(): string;
  kill(signal: NodeJS.Signals): void;
}

/**
 * `bookgraph <command>` as an operator runs it, with `env` on top of a clean test environment.
 * With setpriv (util-linux) it gets SIGKILL when the test process dies, however it dies.
 */
export function spawnBookgraph(command: 'serve' | 'ingest', env: NodeJS.ProcessEnv): CliProcess {
  const fullEnv = { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'warn', ...env };
  const args = [CLI, command];
  const child: ChildProcess = SETPRIV
    ? spawn('setpriv', ['--pdeathsig', 'KILL', process.execPath, ...args], { env: fullEnv })
    : spawn(process.execPath, args, { env: fullEnv });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    pid: child.pid ?? 0,
    exited,
    output: () => output,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

/** Whether a process with this id exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves once `url` answers 200 (a process's `/ready`); the bound covers a loaded machine's start-up. */
export async function untilReady(url: string, process?: CliProcess, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const status = await fetch(url, { signal: AbortSignal.timeout(10_000) })
      .then((r) => r.status)
      .catch((error: Error) => error.message);
    if (status === 200) return;
    last = String(status);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms (last: ${last}); output: ${process?.output()}`);
}

/**
 * The writers' reference log when the writers are other processes: every book event published on
 * the books' channels, read on a connection of the test's own. It hears what Redis accepted (the
 * write script publishes only what it applied), so it stands in for the writer's own log as long
 * as this connection is not cut (the faults using it leave Redis alone).
 */
export async function recordPublished(
  url: string,
  region: string,
  books: readonly (readonly [string, string])[],
  reference: ReferenceLog,
): Promise<() => void> {
  const subscriber = new Redis(url);
  subscriber.on('message', (_channel: string, message: string) => {
    const decoded = decodeBookEvent(message);
    if (decoded.ok) reference.record(decoded.value);
    else reference.violations.push(`undecodable book message: ${message.slice(0, 100)}`);
  });
  await subscriber.subscribe(...books.map(([exchange, symbol]) => bookChannel(region, exchange, symbol)));
  return () => subscriber.disconnect();
}
