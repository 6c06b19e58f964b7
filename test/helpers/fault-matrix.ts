import type { Redis } from 'ioredis';
import { ApiClientRegistry } from '../../src/auth/api-keys.ts';
import { ClientBook, checkClients } from './book-checker.ts';
import { type FaultProxy, startFaultProxy } from './fault-proxy.ts';
import { type Clients, executeOk, followBook, trackedClients } from './graphql-clients.ts';
import { startTestRedis, type TestRedis } from './redis.ts';
import { type Stack, type StackOptions, startStack } from './stack.ts';
import { checkOrders, Trader } from './trader.ts';

/**
 * The fault matrix's world: a private redis-server, the fault proxy in front of it, a stack
 * (ingester + server) talking to Redis through the proxy, book subscribers over graphql-ws and
 * SSE, and a trader placing and canceling paper orders on the server over HTTP. A case provokes
 * one fault; `runFaultCase` measures how long the clients took to be whole again and checks both
 * contracts: "nothing lost" for every book client, "no acknowledged order lost or duplicated"
 * for the trader.
 */
export const EXCHANGE = 'sim1';
export const SYMBOL = 'BTC/USDT';
export const QUOTE = { asset: 'USDT', amount: '100000' };
const BASE = 'BTC';

export interface MatrixWorld {
  redis: TestRedis;
  proxy: FaultProxy;
  stack: Stack;
  /** The test's own connection to Redis, not through the proxy (to provoke faults). */
  direct: Redis;
  books: ClientBook[];
  trader: Trader;
  /** Opens a new session and starts a trader on it (the caller puts it in `trader`). */
  openTrader(): Promise<Trader>;
  /** The trader's API key and client id. */
  key: string;
  clientId: string;
  results: FaultResult[];
  /** Book subscriptions the server ended (none should end: every fault is announced in-stream). */
  ended: string[];
  stop(): Promise<void>;
}

export interface FaultResult {
  fault: string;
  /** From provoking the fault to its end (what the case waited for). */
  faultMs: number;
  /** From the fault's end until every book client was caught up with the writer (after a new message). */
  booksMs: number;
  /** From the fault's end until the trader's next acknowledgement. */
  ordersMs: number;
  /** RESET reasons the book clients got during the case. */
  resets: string[];
  /** Answers the trader had to retry during the case, by kind. */
  retried: Record<string, number>;
}

export interface MatrixOptions {
  /** redis-server arguments (an append-only file, say). */
  redisArgs?: string[];
  stack?: StackOptions;
}

const SESSION = `mutation($balances: [BalanceInput!]!) { openSession(balances: $balances) { id } }`;

/** Starts the world, waits until every book client is live and the trader has its first acknowledgement. */
export async function startMatrixWorld(options: MatrixOptions = {}): Promise<MatrixWorld> {
  const redis = await startTestRedis({ args: options.redisArgs });
  const proxy = await startFaultProxy({ host: '127.0.0.1', port: redis.server.port });
  const stack = await startStack(redis, {
    simulator: { seed: 14, updatesPerSecond: 20, venues: [EXCHANGE], symbols: [SYMBOL, 'ETH/USDT'] },
    redisUrl: proxy.url,
    ...options.stack,
  });
  const direct = redis.client();
  // Reconnects by itself after a restart; its errors meanwhile are expected.
  direct.on('error', () => {});
  const clients: Clients = trackedClients();
  const books = [
    new ClientBook(EXCHANGE, SYMBOL, 10),
    new ClientBook(EXCHANGE, 'ETH/USDT', 5),
    new ClientBook(EXCHANGE, SYMBOL, 1),
  ];
  const ws = clients.ws(stack.wsUrl);
  const closes: string[] = [];
  ws.on('closed', (event) => {
    const { code, reason } = event as CloseEvent;
    closes.push(`graphql-ws closed ${code} ${reason}`);
  });
  const sse = clients.sse(stack.httpUrl);
  const handles = [followBook(ws, books[0]!), followBook(sse, books[1]!), followBook(sse, books[2]!)];
  const ended: string[] = [];
  handles.forEach((handle, i) => {
    void handle.done.then(({ kind }) => {
      if (!stopping)
        ended.push(
          `${books[i]!.name}: subscription ended (${kind}): ${JSON.stringify(handle.errors)} ${closes}`,
        );
    });
  });
  let stopping = false;

  const { client, key } = await new ApiClientRegistry(direct).create({
    name: 'matrix-trader',
    scopes: ['marketdata:read', 'trade'],
  });
  await Promise.all(books.map((book) => book.until(() => book.hasBook)));
  const top = await executeOk<{ orderBook: { bids: { price: string }[] } }>(
    stack.app,
    `{ orderBook(exchange: "${EXCHANGE}", symbol: "${SYMBOL}", depth: 1) { bids { price } } }`,
  );
  // Half the market: never fills; 0.0003 BTC of it is above the simulator's 5 USDT minimum.
  const restingPrice = String(Math.floor(Number(top.orderBook.bids[0]!.price) / 2));
  const openTrader = () => startTrader(stack, key, restingPrice);
  const trader = await openTrader();
  await trader.untilAckAfter(0, 'the trader to start');

  const results: FaultResult[] = [];
  const world: MatrixWorld = {
    redis,
    proxy,
    stack,
    direct,
    books,
    trader,
    key,
    clientId: client.id,
    results,
    ended,
    openTrader,
    async stop() {
      stopping = true;
      await world.trader.stop();
      for (const handle of handles) handle.unsubscribe();
      await clients.dispose();
      await stack.stop();
      await proxy.stop();
      await redis.stop();
      printResults(results);
    },
  };
  return world;
}

/** Opens a paper session for `key` and starts a trader on it. */
async function startTrader(stack: Stack, key: string, restingPrice: string): Promise<Trader> {
  return openTraderAt(stack.httpUrl, key, restingPrice);
}

/** Opens a paper session for `key` on the server at `url` and starts a trader on it. */
export async function openTraderAt(
  url: string | (() => string),
  key: string,
  restingPrice: string,
): Promise<Trader> {
  const at = typeof url === 'string' ? url : url();
  const call = async <T>(query: string, variables: object = {}): Promise<T> => {
    const response = await fetch(at, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T; errors?: unknown };
    if (!body.data) throw new Error(JSON.stringify(body));
    return body.data;
  };
  const { openSession } = await call<{ openSession: { id: string } }>(SESSION, {
    balances: [{ asset: QUOTE.asset, amount: QUOTE.amount }],
  });
  const trader = new Trader({
    url,
    key,
    sessionId: openSession.id,
    exchange: EXCHANGE,
    symbol: SYMBOL,
    restingPrice,
    restingAmount: '0.0003',
    marketAmount: '0.0001',
  });
  trader.start();
  return trader;
}

export interface FaultCase {
  name: string;
  /** Provokes the fault; resolves once it is over (recovery is measured from then). */
  inject(world: MatrixWorld): Promise<void>;
}

/**
 * Provokes one fault under the running subscribers and trader, then waits for recovery: every book
 * client caught up with the writer after a message sent since the fault ended, and the trader
 * acknowledged again. Then pauses the trader and checks both contracts from the start of the run.
 */
export async function runFaultCase(
  world: MatrixWorld,
  fault: FaultCase,
): Promise<{ result: FaultResult; problems: string[] }> {
  const { books, stack } = world;
  const resetsBefore = books.map((book) => book.resets.length);
  const retriedBefore = new Map(world.trader.unknown);
  const started = Date.now();
  await fault.inject(world);
  const ended = Date.now();
  // The case may have put a new trader in place (a new session after data loss).
  const { trader } = world;
  const messagesAtEnd = books.map((book) => book.messages.length);
  const [booksMs, ordersMs] = await Promise.all([
    Promise.all(books.map((book, i) => caughtUpAfter(world, book, messagesAtEnd[i]!))).then(
      () => Date.now() - ended,
    ),
    trader
      .untilAckAfter(ended, `the trader to be acknowledged after ${fault.name}`)
      .then(() => Date.now() - ended),
  ]);
  await trader.pause();
  const problems = [
    ...world.ended,
    ...checkClients(stack.reference, books),
    ...(await checkOrders(trader, QUOTE, BASE)),
  ];
  trader.resume();
  const retried: Record<string, number> = {};
  for (const [why, n] of trader.unknown) {
    const more = n - (retriedBefore.get(why) ?? 0);
    if (more > 0) retried[why] = more;
  }
  const result: FaultResult = {
    fault: fault.name,
    faultMs: ended - started,
    booksMs,
    ordersMs,
    resets: books.flatMap((book, i) => book.resets.slice(resetsBefore[i])),
    retried,
  };
  world.results.push(result);
  return { result, problems };
}

/** Resolves once `book` got a message after its first `after` ones and equals the writer's latest book. */
async function caughtUpAfter(world: MatrixWorld, book: ClientBook, after: number): Promise<void> {
  const what = `${book.name}: a message after the fault`;
  await book
    .until(() => book.messages.length > after, 60_000, what)
    .catch((error: Error) => {
      throw new Error(`${error.message}; ${world.ended.join('; ') || 'no subscription ended'}`);
    });
  await book.untilCaughtUp(world.stack.reference);
}

export function printResults(results: readonly FaultResult[]): void {
  if (results.length === 0) return;
  const lines = results.map(
    (r) =>
      `${r.fault.padEnd(44)} fault ${String(r.faultMs).padStart(6)} ms  books ${String(r.booksMs).padStart(6)} ms  orders ${String(r.ordersMs).padStart(6)} ms  resets [${r.resets.join(',')}]  retried ${JSON.stringify(r.retried)}`,
  );
  console.log(`fault matrix recovery times:\n${lines.join('\n')}`);
}
