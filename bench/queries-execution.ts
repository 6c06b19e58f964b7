/**
 * The execution of bench/queries.ts's orderBook document alone, in process: CPU per execution
 * with @graphql-tools/executor (what Yoga runs) and with graphql-jit's compiled query
 * (src/server/plugins/use-compiled-queries.ts), each followed by JSON.stringify, over a 60-level
 * book served as a live replica would. Interleaved rounds, medians; the answers are compared.
 *
 * Also what persisted operations would save on this path: with Yoga's parse cache (ours:
 * src/server/edge/documents.ts) a repeated document already costs no parse, so a persisted id
 * only replaces the request body's document text (JSON.parse of the body, then the cache lookup
 * by that text) with a short id and a map lookup. Both intakes are timed on the bench's body.
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
import { DocumentCache } from '../src/server/edge/documents.ts';
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
const BOOK_TEXT =
  '{ orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 20) { exchange symbol epoch seq stale ' +
  'receiveTimestamp region bids { price size } asks { price size } bestBid { price size } bestAsk { price size } } }';
const BOOK = parse(BOOK_TEXT);
const compiled = compileQuery(schema, BOOK);
if (!isCompiledQuery(compiled)) throw new Error(`graphql-jit: ${JSON.stringify(compiled)}`);

const executor = (document: DocumentNode) => async () =>
  JSON.stringify(await execute({ schema, document, contextValue }));
// Request intake: each request's body is a fresh string (as read from the socket), so its
// document text is hashed again at every lookup, which is what a persisted id would spare.
const documents = new DocumentCache(10 * 2 ** 20);
documents.set(BOOK_TEXT, BOOK);
const persisted = new Map([['a3f1c0de', BOOK]]);
const bodyWithText = JSON.stringify({ query: BOOK_TEXT });
const bodyWithId = JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: 'a3f1c0de' } } });
const fresh = (text: string) => ` ${text}`.slice(1);
const variants: Record<string, () => Promise<unknown>> = {
  '{ __typename }, executor': executor(parse('{ __typename }')),
  'orderBook, executor': executor(BOOK),
  'orderBook, graphql-jit': async () => JSON.stringify(await compiled.query(undefined, contextValue, {})),
  'intake, document text + parse cache': async () =>
    documents.get((JSON.parse(fresh(bodyWithText)) as { query: string }).query),
  'intake, persisted id + map': async () =>
    persisted.get(
      (JSON.parse(fresh(bodyWithId)) as { extensions: { persistedQuery: { sha256Hash: string } } }).extensions
        .persistedQuery.sha256Hash,
    ),
};
if ((await variants['intake, document text + parse cache']!()) !== BOOK)
  throw new Error('the parse cache missed');
const a = (await variants['orderBook, executor']!()) as string;
const b = (await variants['orderBook, graphql-jit']!()) as string;
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
  `answers equal (${a.length} bytes); CPU µs per execution + stringify (intake: per request body), median of ${ROUNDS} rounds of ${RUNS}:`,
);
for (const [name, list] of cpu)
  console.log(`  ${name}: ${fmt(median(list), 1)} (${list.map((x) => fmt(x, 1)).join(' / ')})`);
console.log(
  `load average ${loadavg()
    .map((x) => fmt(x, 1))
    .join(' ')}`,
);
