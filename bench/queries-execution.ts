/**
 * The execution of bench/queries.ts's orderBook document alone, in process: CPU per execution
 * with @graphql-tools/executor (what Yoga runs) and with graphql-jit's compiled query
 * (src/server/plugins/use-compiled-queries.ts), each followed by JSON.stringify, over a 60-level
 * book served as a live replica would. Interleaved rounds, medians; the answers are compared.
 *
 *   NODE_ENV=production npx tsx bench/queries-execution.ts [--rounds=5] [--runs=3000]
 */
import { loadavg } from 'node:os';
import { execute } from '@graphql-tools/executor';
import { type DocumentNode, parse } from 'graphql';
import { compileQuery, isCompiledQuery } from 'graphql-jit';
import { OrderBook } from '../src/marketdata/order-book.ts';
import type { Level } from '../src/marketdata/types.ts';
import { schema } from '../src/schema/index.ts';
import { flag, fmt, median } from './lib.ts';

const ROUNDS = flag('rounds', 5);
const RUNS = flag('runs', 3000);

const side = (from: number, step: number): Level[] =>
  Array.from({ length: 60 }, (_, i) => [String(from + i * step), String((i % 7) + 0.125)]);
const now = Date.now();
const replica = {
  book: OrderBook.from(side(64_000, -0.5), side(64_001, 0.5)),
  region: 'bench',
  epoch: 'e1',
  seq: 42,
  exchangeTs: now,
  receiveTs: now,
};
// The resolver's deps, as far as orderBook reads them from a live replica.
const contextValue = {
  deps: {
    hub: { liveReplica: () => replica },
    limits: { maxDepth: 100, staleAfterMs: 5_000 },
    now: () => Date.now(),
    redisReady: () => true,
  },
};
const BOOK = parse(
  '{ orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 20) { exchange symbol epoch seq stale ' +
    'receiveTimestamp region bids { price size } asks { price size } bestBid { price size } bestAsk { price size } } }',
);
const compiled = compileQuery(schema, BOOK);
if (!isCompiledQuery(compiled)) throw new Error(`graphql-jit: ${JSON.stringify(compiled)}`);

const executor = (document: DocumentNode) => async () =>
  JSON.stringify(await execute({ schema, document, contextValue }));
const variants: Record<string, () => Promise<string>> = {
  '{ __typename }, executor': executor(parse('{ __typename }')),
  'orderBook, executor': executor(BOOK),
  'orderBook, graphql-jit': async () => JSON.stringify(await compiled.query(undefined, contextValue, {})),
};
const a = await variants['orderBook, executor']!();
const b = await variants['orderBook, graphql-jit']!();
if (a !== b) throw new Error(`answers differ:\n${a}\n${b}`);
const cpu = new Map<string, number[]>(Object.keys(variants).map((name) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of Object.entries(variants)) {
    for (let i = 0; i < RUNS / 10; i++) await run();
    const start = process.cpuUsage();
    for (let i = 0; i < RUNS; i++) await run();
    const used = process.cpuUsage(start);
    cpu.get(name)!.push((used.user + used.system) / RUNS);
  }
}
console.log(
  `answers equal (${a.length} bytes); CPU µs per execution + stringify, median of ${ROUNDS} rounds of ${RUNS}:`,
);
for (const [name, list] of cpu)
  console.log(`  ${name}: ${fmt(median(list), 1)} (${list.map((x) => fmt(x, 1)).join(' / ')})`);
console.log(
  `load average ${loadavg()
    .map((x) => fmt(x, 1))
    .join(' ')}`,
);
