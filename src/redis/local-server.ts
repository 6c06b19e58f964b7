import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface LocalRedisServer {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** setpriv's exit code when the program to run is not on the PATH (as a shell's). */
const EXIT_NOT_FOUND = 127;

function onPath(program: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, program)));
}

const PDEATHSIG = process.platform === 'linux' && onPath('setpriv');

export class RedisNotInstalledError extends Error {
  override readonly name = 'RedisNotInstalledError';
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Whether a Redis server answers PING at host:port within `timeoutMs`. */
export function redisAnswers(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (data) =>
      done(data.toString().startsWith('+PONG') || data.toString().startsWith('-NOAUTH')),
    );
    socket.connect(port, host, () => socket.write('PING\r\n'));
  });
}

/**
 * Starts a private, non-persistent `redis-server` from the PATH on a free loopback port, in a
 * temporary directory removed on stop. Used by `bookgraph start` when no Redis is configured,
 * and by the tests and benchmarks, which never touch a shared instance.
 */
export async function startLocalRedis(
  options: {
    args?: string[];
    /** A fixed port, to bring a stopped server back where its clients reconnect. @default a free one */
    port?: number;
    /**
     * A config file to read first: a Sentinel needs one (it rewrites it with what it learns).
     * @default none
     */
    configFile?: string;
  } = {},
): Promise<LocalRedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'bookgraph-redis-'));
  const port = options.port ?? (await freePort());
  const serverArgs = [
    ...(options.configFile ? [options.configFile] : []),
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    ...(options.args ?? []),
  ];
  // With setpriv (util-linux) the server gets SIGKILL when its parent dies, however it dies: a
  // killed test run or a crashed `bookgraph start` leaves no redis-server behind.
  const [command, args]: [string, string[]] = PDEATHSIG
    ? ['setpriv', ['--pdeathsig', 'KILL', 'redis-server', ...serverArgs]]
    : ['redis-server', serverArgs];
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    if (output.length < 10_000) output += d.toString();
  });
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new RedisNotInstalledError('redis-server was not found on the PATH')
          : error,
      );
    });
    child.once('exit', (code) =>
      reject(
        code === EXIT_NOT_FOUND
          ? new RedisNotInstalledError('redis-server was not found on the PATH')
          : new Error(`redis-server exited with code ${code}: ${output.slice(-500)}`),
      ),
    );
  });
  // Generous: a loaded machine can take seconds to start a process.
  const deadline = Date.now() + 30_000;
  const ready = (async () => {
    while (Date.now() < deadline) {
      if (await redisAnswers(port, '127.0.0.1', 200)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`redis-server did not answer on port ${port} within 30 s`);
  })();
  try {
    await Promise.race([ready, failed]);
  } catch (error) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  failed.catch(() => {});
  let stopped: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? 0,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          await exited;
        }
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
