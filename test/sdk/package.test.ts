import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { type Stack, startStack } from '../helpers/stack.ts';

/**
 * "An integrator can install it": the SDK is built with the root's TypeScript, packed with
 * `npm pack` (its `files`, `exports` and `prepack`), unpacked into a fresh project as
 * node_modules/@bookgraph/sdk, and that project imports it by name, type-checks against its
 * declarations and talks to a real server. Its dependencies come from the root's node_modules
 * (linked in), as a registry install would provide them.
 */
const exec = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const sdk = join(root, 'sdk');
const tsc = join(root, 'node_modules', '.bin', 'tsc');
const DEPENDENCIES = [
  'graphql',
  'graphql-ws',
  'graphql-sse',
  'ws',
  '@graphql-typed-document-node',
  '@types',
  // What sdk/README.md's codegen recipe installs.
  '@graphql-codegen',
];

let redis: TestRedis;
let stack: Stack;
let work: string;
let project: string;

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startStack(redis, { simulator: { venues: ['sim1'], symbols: ['BTC/USDT'] } });
  work = await mkdtemp(join(tmpdir(), 'bookgraph-sdk-'));
  project = join(work, 'project');
  await mkdir(join(project, 'node_modules', '@bookgraph'), { recursive: true });
  for (const name of DEPENDENCIES) {
    await symlink(join(root, 'node_modules', name), join(project, 'node_modules', name), 'dir');
  }
});

afterAll(async () => {
  await stack?.stop();
  await redis?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('@bookgraph/sdk as a package', () => {
  it('packs the built dist and nothing of the sources', async () => {
    const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', work], { cwd: sdk });
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    const files = packed!.files.map((f) => f.path);
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('dist/local-book.js');
    expect(files).toContain('dist/consolidated-book.js');
    expect(files).toContain('dist/follow-orders.js');
    expect(files).toContain('dist/trading.d.ts');
    expect(files).toContain('operations/trading.graphql');
    expect(files).toContain('README.md');
    expect(files).toContain('schema.graphql');
    expect(files.filter((f) => f.startsWith('src/') || f.endsWith('.test.ts'))).toEqual([]);

    const target = join(project, 'node_modules', '@bookgraph', 'sdk');
    await mkdir(target);
    await exec('tar', ['-xzf', join(work, packed!.filename), '-C', target, '--strip-components=1']);
    expect(await readdir(target)).toEqual(
      expect.arrayContaining(['dist', 'package.json', 'README.md', 'schema.graphql']),
    );
    // The server's committed contract, as is.
    expect(await readFile(join(target, 'schema.graphql'), 'utf8')).toBe(
      await readFile(join(root, 'schema.graphql'), 'utf8'),
    );
  });

  it('type-checks an integrator program against the declarations', async () => {
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2023', 'DOM'],
          types: [],
          strict: true,
          noEmit: true,
        },
        include: ['*.ts'],
      }),
    );
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({ name: 'integrator', type: 'module', private: true }),
    );
    await writeFile(
      join(project, 'check.ts'),
      `import { BookgraphError, createBookgraphClient, followOrders, isOrder, OrderBookDocument, placeOrder, watchConsolidatedBook, watchOrderBook } from '@bookgraph/sdk';
const client = createBookgraphClient({ url: 'http://127.0.0.1:4000/graphql', token: 't', retry: { attempts: 1 } });
const { orderBook } = await client.query(OrderBookDocument, { exchange: 'sim1', symbol: 'BTC/USDT' });
const seq: number = orderBook.seq;
const price: string | undefined = orderBook.bids[0]?.price;
const watch = watchOrderBook(client, { exchange: 'sim1', symbol: 'BTC/USDT', depth: 5 });
watch.on('change', (book) => { const s: string = book.epoch; void s; });
// @ts-expect-error the symbol is required
await client.query(OrderBookDocument, { exchange: 'sim1' });
const error = new BookgraphError('x', { code: 'MARKET_NOT_FOUND' });
const merged = watchConsolidatedBook(client, { symbol: 'BTC/USDT', depth: 5, throttleMs: 100 });
merged.on('change', (book, change) => {
  const crossed: boolean = book.crossed;
  const venues: string[] = book.bestBid?.venues.map((v) => v.exchange) ?? [];
  const bps: string | null = book.liquidity.consolidated.spreadBps;
  const stale: string[] = change.becameStale;
  void [crossed, venues, bps, stale];
});
const follower = followOrders(client, { sessionId: 'ses_x' });
follower.on('update', (update, order) => { const s: number = update.seq; const f: string = order.filled; void [s, f]; });
const result = await placeOrder(client, { sessionId: 'ses_x', exchange: 'sim1', symbol: 'BTC/USDT', side: 'BUY', type: 'LIMIT', price: '1', amount: '1' });
if (result.__typename === 'InsufficientBalance') { const needed: string = result.required; void needed; }
else if (isOrder(result)) { const status: string = result.status; void status; }
// @ts-expect-error a side is BUY or SELL
await placeOrder(client, { sessionId: 'ses_x', exchange: 'sim1', symbol: 'BTC/USDT', side: 'LONG', type: 'LIMIT', amount: '1' });
export { seq, price, error };
`,
    );
    const result = await exec(tsc, ['-p', project]).catch((e: { stdout: string; stderr: string }) => e);
    expect(`${result.stdout}${result.stderr}`).toBe('');
  });

  it("generates an integrator's own operation with the README's codegen recipe, and takes plain strings", async () => {
    const readme = await readFile(join(sdk, 'README.md'), 'utf8');
    const recipe = /```ts\n(import type \{ CodegenConfig \}[\s\S]*?)```/.exec(readme)?.[1];
    expect(recipe, 'sdk/README.md shows a codegen.ts').toBeDefined();
    await writeFile(join(project, 'codegen.ts'), recipe ?? '');
    await mkdir(join(project, 'src'), { recursive: true });
    const operation = /```graphql\n# src\/top\.graphql\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(operation, 'sdk/README.md shows src/top.graphql').toBeDefined();
    await writeFile(join(project, 'src', 'top.graphql'), operation ?? '');
    await exec(join(root, 'node_modules', '.bin', 'graphql-codegen'), ['--config', 'codegen.ts'], {
      cwd: project,
    });
    expect(await readFile(join(project, 'src', 'gql', 'graphql.ts'), 'utf8')).toContain('TopDocument');
    await writeFile(
      join(project, 'own.ts'),
      `import { createBookgraphClient } from '@bookgraph/sdk';
import { TopDocument } from './src/gql/graphql.js';
const client = createBookgraphClient({ url: 'http://127.0.0.1:4000/graphql' });
const { orderBook } = await client.query(TopDocument, { exchange: 'sim1', symbol: 'BTC/USDT' });
const seq: number = orderBook.seq;
const bid: string | undefined = orderBook.bids[0]?.price;
// @ts-expect-error the generated document's variables are checked
await client.query(TopDocument, { exchange: 'sim1' });
const { region } = await client.query<{ region: string }>('{ region }');
const untyped = await client.query('{ exchanges }');
export { seq, bid, region, untyped };
`,
    );
    await writeFile(
      join(project, 'tsconfig.own.json'),
      JSON.stringify({ extends: './tsconfig.json', include: ['own.ts', 'src/gql/*.ts'] }),
    );
    const result = await exec(tsc, ['-p', join(project, 'tsconfig.own.json')]).catch(
      (e: { stdout: string; stderr: string }) => e,
    );
    expect(`${result.stdout}${result.stderr}`).toBe('');
  });

  it('the installed package queries and watches a real server', async () => {
    await writeFile(
      join(project, 'run.mjs'),
      `import { createBookgraphClient, MarketsDocument, watchConsolidatedBook, watchOrderBook } from '@bookgraph/sdk';
const [url, transport] = process.argv.slice(2);
const client = createBookgraphClient({ url, transport });
const { region, markets } = await client.query(MarketsDocument, { exchange: 'sim1' });
const plain = await client.query('query($x: String!) { orderBook(exchange: $x, symbol: "BTC/USDT", depth: 1) { exchange } }', { x: 'sim1' });
const watch = watchOrderBook(client, { exchange: 'sim1', symbol: 'BTC/USDT', depth: 3 });
const book = await watch.ready();
await watch.close();
const merged = watchConsolidatedBook(client, { symbol: 'BTC/USDT', depth: 3, throttleMs: 50 });
const consolidated = await merged.ready();
await merged.close();
await client.dispose();
console.log(JSON.stringify({ plain: plain.orderBook.exchange, region, symbols: markets.map((m) => m.symbol), bids: book.bids.length, seq: book.seq, venues: consolidated.venues.map((v) => v.exchange) }));
`,
    );
    for (const transport of ['ws', 'sse']) {
      const { stdout } = await exec(process.execPath, ['run.mjs', stack.httpUrl, transport], {
        cwd: project,
      });
      const out = JSON.parse(stdout) as {
        region: string;
        symbols: string[];
        bids: number;
        seq: number;
        venues: string[];
      };
      expect(out).toMatchObject({
        plain: 'sim1',
        region: 'test',
        symbols: ['BTC/USDT'],
        bids: 3,
        venues: ['sim1'],
      });
      expect(out.seq).toBeGreaterThan(0);
    }
    const manifest = JSON.parse(
      await readFile(join(project, 'node_modules/@bookgraph/sdk/package.json'), 'utf8'),
    );
    expect(manifest.name).toBe('@bookgraph/sdk');
  });
});
