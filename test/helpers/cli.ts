import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** Spawning the `bookgraph` CLI in tests; every child is killed by `killChildren` after each test. */
/** The CLI from the TypeScript sources (development); `COMPILED_CLI` is what production runs. */
export const CLI = fileURLToPath(new URL('../../bin/bookgraph-dev.js', import.meta.url));
export const COMPILED_CLI = fileURLToPath(new URL('../../bin/bookgraph.js', import.meta.url));

/** The environment a spawned CLI sees: ours minus every variable the config reads. */
export function cliEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (
      /^(REDIS_URL|REGION|HOST|PORT|FEEDS|SIM_|LOG_LEVEL|GRAPHIQL|BOOK_STALE_MS|MAX_DEPTH|SUBSCRIBER_)/.test(
        key,
      )
    ) {
      delete env[key];
    }
  }
  return { ...env, NODE_ENV: 'test', ...vars };
}

export interface Spawned {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export const children: ChildProcess[] = [];

export function spawnCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  entry = CLI,
  node = process.execPath,
): Spawned {
  const child = spawn(node, [entry, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** The JSON log line `bookgraph started` of a spawned CLI (LOG_LEVEL info or lower). */
export function startedLine(cli: Spawned): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    // Generous: the CLI loads the whole app; four suites at once on two cores took over 60 s.
    const timer = setTimeout(
      () => reject(new Error(`not started: ${cli.stdout()} ${cli.stderr()}`)),
      240_000,
    );
    const onData = () => {
      const line = cli
        .stdout()
        .split('\n')
        .find((l) => l.includes('"bookgraph started"'));
      if (!line) return;
      clearTimeout(timer);
      cli.child.stdout?.off('data', onData);
      resolve(JSON.parse(line) as Record<string, unknown>);
    };
    cli.child.stdout?.on('data', onData);
    void cli.exited.then(({ code }) => reject(new Error(`exited ${code}: ${cli.stderr()}`)));
  });
}

export function killChildren(): void {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
