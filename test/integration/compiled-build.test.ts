import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { COMPILED_CLI, cliEnv, killChildren, spawnCli, startedLine } from '../helpers/cli.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';

/**
 * What production runs: `npm run build:server` (run here first, so the test never reads a stale
 * dist/), then bin/bookgraph.js on the compiled JavaScript, with no tsx, on the Node running the
 * tests and on the Node 24 binary of the `node` devDependency.
 */

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const NODE_24 = fileURLToPath(new URL('../../node_modules/node/bin/node', import.meta.url));
/** The machine's own Node: the first `node` on the PATH outside node_modules/.bin (npm puts 24 first). */
const MACHINE_NODE = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((dir) => dir && !dir.includes('node_modules'))
  .map((dir) => join(dir, 'node'))
  .find((file) => existsSync(file));
const nodes = [...new Set([process.execPath, NODE_24, ...(MACHINE_NODE ? [MACHINE_NODE] : [])])].filter((n) =>
  existsSync(n),
);

afterEach(killChildren);

describe('the compiled build (dist/server)', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    await run('npm', ['run', 'build:server'], { cwd: root });
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('the Node 24 binary of the node devDependency is there to test with', async () => {
    expect(existsSync(NODE_24), 'npm ci installs node_modules/node/bin/node').toBe(true);
    const { stdout } = await run(NODE_24, ['--version']);
    expect(stdout).toMatch(/^v24\./);
  });

  it.each(nodes)('%s: --help answers from dist/ loading no dependency at all', async (node) => {
    // A resolve hook prints every module the CLI loads.
    const hook = `data:text/javascript,export async function resolve(s, c, next) { const r = await next(s, c); process._rawDebug('LOADED ' + r.url); return r; }`;
    const { stdout, stderr } = await run(node, [
      '--import',
      `data:text/javascript,import { register } from 'node:module'; register(${JSON.stringify(hook)});`,
      COMPILED_CLI,
      '--help',
    ]);
    expect(stdout).toMatch(/^Usage: bookgraph <command>/);
    const loaded = [...stderr.matchAll(/^LOADED (\S+)$/gm)].map((m) => m[1] ?? '');
    expect(loaded).toContain(new URL('../../dist/server/cli.js', import.meta.url).href);
    expect(loaded.filter((url) => url.includes('/node_modules/') || url.includes('/src/'))).toEqual([]);
  });

  it.each(nodes)('%s: start serves GraphQL from dist/ and exits 0 on SIGTERM', async (node) => {
    const cli = spawnCli(
      ['start'],
      cliEnv({ REDIS_URL: redis.url, PORT: '0', REGION: 'compiled', LOG_LEVEL: 'info' }),
      COMPILED_CLI,
      node,
    );
    const started = await startedLine(cli);
    const response = await fetch(`http://127.0.0.1:${Number(started.port)}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ region }' }),
    });
    expect(await response.json()).toEqual({ data: { region: 'compiled' } });
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.stderr()).toBe('');
  });

  it.each(nodes)(
    '%s: serve --workers 2 forks its workers from dist/ and drains them on SIGTERM',
    async (node) => {
      const cli = spawnCli(
        ['serve', '--workers', '2'],
        cliEnv({ REDIS_URL: redis.url, PORT: '0', LOG_LEVEL: 'info', ALLOW_ANONYMOUS_MARKETDATA: '1' }),
        COMPILED_CLI,
        node,
      );
      const started = await startedLine(cli);
      expect(started.pids).toHaveLength(2);
      const response = await fetch(`http://127.0.0.1:${Number(started.port)}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ region }' }),
      });
      expect(response.headers.get('x-bookgraph-worker')).toMatch(/^[12]$/);
      expect(await response.json()).toEqual({ data: { region: 'local' } });
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toEqual({ code: 0, signal: null });
      expect(cli.stderr()).toBe('');
    },
  );
});
