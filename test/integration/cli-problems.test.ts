import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { misspelledVariables } from '../../src/cli/env-typos.ts';
import { ENV_VARIABLES } from '../../src/config.ts';
import { freePort } from '../../src/redis/local-server.ts';
import { CLI, cliEnv, killChildren, type Spawned, spawnCli, startedLine } from '../helpers/cli.ts';

/**
 * What a user sees when a command line or the environment is wrong: one line per problem, every
 * problem at once, no stack trace, a non-zero exit; and each command's own --help.
 */

afterEach(killChildren);

const run = promisify(execFile);
const NO_STACK = /\n\s+at |Error:|ERR_PARSE_ARGS/;

async function failed(cli: Spawned): Promise<{ code: number | null; lines: string[] }> {
  const { code } = await cli.exited;
  return { code, lines: cli.stderr().trim().split('\n') };
}

describe('bookgraph CLI problems', () => {
  it.each(['start', 'serve', 'ingest', 'record', 'replay', 'clients', 'regions'])(
    '%s --help prints that command’s usage',
    async (command) => {
      const { stdout } = await run(process.execPath, [CLI, command, '--help']);
      expect(stdout.split('\n')[0]).toMatch(new RegExp(`^Usage: bookgraph ${command}\\b`));
    },
  );

  it('replay without its file: one line, exit 2', async () => {
    const { code, lines } = await failed(
      spawnCli(['replay', 'no/such.ndjson', '--speed', 'fast'], cliEnv({})),
    );
    expect(code).toBe(2);
    expect(lines).toEqual([
      'bookgraph replay: FILE: no such file "no/such.ndjson"',
      'bookgraph replay: --speed: "fast" is not a number >= 0',
      '(bookgraph replay --help for usage)',
    ]);
  });

  it('unknown options, a missing value and a stray argument: one line each, exit 2', async () => {
    const cli = spawnCli(['start', '--bogus', '--symbols', '--prot=4000', 'extra'], cliEnv({}));
    const { code, lines } = await failed(cli);
    expect(code).toBe(2);
    expect(lines).toEqual([
      'bookgraph start: unknown option --bogus',
      'bookgraph start: --symbols needs a value',
      'bookgraph start: unknown option --prot',
      'bookgraph start: unexpected argument "extra"',
      '(bookgraph start --help for usage)',
    ]);
    expect(cli.stderr()).not.toMatch(NO_STACK);
  });

  it('a port in use and an unreachable Redis are reported together, exit 1', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    const nothing = await freePort();
    try {
      const cli = spawnCli(
        ['serve', '--port', String(taken)],
        cliEnv({ REDIS_URL: `redis://127.0.0.1:${nothing}`, HOST: '127.0.0.1' }),
      );
      const { code, lines } = await failed(cli);
      expect(code).toBe(1);
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(new RegExp(`^bookgraph: PORT: 127\\.0\\.0\\.1:${taken} is already in use`));
      expect(lines[1]).toMatch(
        new RegExp(`^bookgraph: REDIS_URL: Redis at redis://127\\.0\\.0\\.1:${nothing} does not answer`),
      );
      expect(cli.stderr()).not.toMatch(NO_STACK);
    } finally {
      blocker.close();
    }
  });

  it('clients and replay with an unreachable Redis: one line, exit 1', async () => {
    const nothing = await freePort();
    for (const args of [
      ['clients', 'list'],
      ['replay', 'data/sample-sim.ndjson.gz'],
    ]) {
      const cli = spawnCli(args, cliEnv({ REDIS_URL: `redis://127.0.0.1:${nothing}` }));
      const { code, lines } = await failed(cli);
      expect(code, args.join(' ')).toBe(1);
      expect(lines, args.join(' ')).toEqual([
        expect.stringMatching(
          new RegExp(`^bookgraph: REDIS_URL: Redis at redis://127\\.0\\.0\\.1:${nothing} does not answer`),
        ),
      ]);
    }
  });

  it('unknown ccxt ids and bad variables at once, with a warning for misspelled names', async () => {
    const cli = spawnCli(
      ['ingest'],
      cliEnv({
        FEEDS: 'ccxt:notanexchange,ccxt:binanse',
        PORT: 'abc',
        REDIS_URI: 'redis://x',
        SIM_UPDATES_PER_SECOND: '5',
      }),
    );
    const { code, lines } = await failed(cli);
    expect(code).toBe(1);
    expect(lines).toEqual([
      'bookgraph: warning: REDIS_URI is not a bookgraph variable and is ignored; did you mean REDIS_URL?',
      'bookgraph: warning: SIM_UPDATES_PER_SECOND is not a bookgraph variable and is ignored; did you mean SIM_UPDATES_PER_SEC?',
      expect.stringMatching(/^bookgraph: PORT: /),
      'bookgraph: FEEDS: "ccxt:notanexchange" is not a ccxt exchange with WebSocket support (ccxt.pro.exchanges)',
      'bookgraph: FEEDS: "ccxt:binanse" is not a ccxt exchange with WebSocket support (ccxt.pro.exchanges); did you mean binance?',
    ]);
  });

  it('misspelled-variable warnings: close names only, never the usual environment', () => {
    const env = {
      REDIS_URI: '',
      PATH: '',
      HOME: '',
      HOSTNAME: '',
      TERM: '',
      SHELL: '',
      LOGNAME: '',
      PWD: '',
      LANG: '',
    };
    expect(misspelledVariables(env, ENV_VARIABLES)).toEqual([{ name: 'REDIS_URI', suggestion: 'REDIS_URL' }]);
    expect(misspelledVariables({ BINANCE_API_KEY: '', GRAPHIQ: '', MAX_DEPHT: '' }, ENV_VARIABLES)).toEqual([
      { name: 'GRAPHIQ', suggestion: 'GRAPHIQL' },
      { name: 'MAX_DEPHT', suggestion: 'MAX_DEPTH' },
    ]);
  });
});

describe('bookgraph start with a private redis-server', () => {
  // The URL file lives under the temp dir: this test's own, not the user's.
  const tmp = mkdtempSync(join(tmpdir(), 'bookgraph-cli-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('clients finds the Redis start launched; SIGKILL of start takes the redis-server with it', async () => {
    const nothing = await freePort();
    const env = cliEnv({ TMPDIR: tmp, LOCAL_REDIS_PORT: String(nothing), PORT: '0', LOG_LEVEL: 'info' });
    const start = spawnCli(['start'], env);
    const started = await startedLine(start);
    const privateRedis = started.privateRedis as { pid: number; urlFile: string };
    expect(privateRedis.urlFile.startsWith(tmp)).toBe(true);
    const url = readFileSync(privateRedis.urlFile, 'utf8').trim();
    expect(url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);

    // `clients create` with no REDIS_URL: the key lands in the private Redis that start serves from.
    const created = spawnCli(['clients', 'create', '--name', 'cli-test', '--json'], env);
    expect((await created.exited).code, created.stderr()).toBe(0);
    const { key } = JSON.parse(created.stdout()) as { key: string };
    const response = await fetch(`http://127.0.0.1:${Number(started.port)}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: '{ region }' }),
    });
    expect(await response.json()).toEqual({ data: { region: 'local' } });

    const alive = () => {
      try {
        process.kill(privateRedis.pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(alive()).toBe(true);
    start.child.kill('SIGKILL');
    await start.exited;
    await expect.poll(alive, { timeout: 60_000, interval: 50 }).toBe(false);
  });
});
