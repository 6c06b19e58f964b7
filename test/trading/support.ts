import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ExecutionResult } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { BookEvent, Level, Market } from '../../src/marketdata/types.ts';
import type { BookStore } from '../../src/redis/book-store.ts';
import { exchangesKey } from '../../src/redis/keys.ts';
import type { App } from '../../src/server/app.ts';
import { encodeBookEvent } from '../../src/wire/codec.ts';
import { REGION } from '../helpers/stack.ts';

const CLI = fileURLToPath(new URL('../../bin/bookgraph-dev.js', import.meta.url));
const run = promisify(execFile);

/** `bookgraph <args>` against `redisUrl`, as an operator runs it. */
export async function cli(args: string[], redisUrl: string): Promise<{ stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    REDIS_URL: redisUrl,
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
  };
  return run(process.execPath, [CLI, ...args], { env, timeout: 120_000 });
}

export interface CreatedClient {
  id: string;
  key: string;
  name: string;
  scopes: string[];
}

/** A client made with `bookgraph clients create --json`. */
export async function createClientWithCli(
  redisUrl: string,
  name: string,
  scopes?: string,
): Promise<CreatedClient> {
  const args = ['clients', 'create', '--name', name, '--json'];
  if (scopes) args.push('--scopes', scopes);
  const { stdout } = await cli(args, redisUrl);
  return JSON.parse(stdout) as CreatedClient;
}

/** One GraphQL request over HTTP through `yoga.fetch`, with the key as a bearer token. */
export async function gql<T = Record<string, unknown>>(
  app: App,
  query: string,
  variables: Record<string, unknown> = {},
  key?: string,
): Promise<ExecutionResult<T>> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json',
  };
  if (key) headers.authorization = `Bearer ${key}`;
  const response = await app.yoga.fetch('http://bookgraph.test/graphql', {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as ExecutionResult<T>;
}

/** `data` of a request that must not fail. */
export async function gqlOk<T = Record<string, unknown>>(
  app: App,
  query: string,
  variables: Record<string, unknown>,
  key: string,
): Promise<T> {
  const result = await gql<T>(app, query, variables, key);
  if (result.errors || !result.data) throw new Error(`expected no errors, got ${JSON.stringify(result)}`);
  return result.data;
}

/** A graphql-ws client authenticating with `connectionParams.authorization`. */
export function wsClient(
  url: string,
  key: string | undefined,
  onClose?: (code: number, reason: string) => void,
): Client {
  return createClient({
    url,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    // The close is what these tests watch for; graphql-ws would also print it.
    onNonLazyError: () => {},
    connectionParams: key ? { authorization: `Bearer ${key}` } : {},
    on: { closed: (event) => onClose?.((event as CloseEvent).code, (event as CloseEvent).reason) },
  });
}

/** One result of a query or mutation over graphql-ws. */
export function wsRequest<T>(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<ExecutionResult<T>> {
  return new Promise((resolve, reject) => {
    let result: ExecutionResult<T> | undefined;
    client.subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          result = value as ExecutionResult<T>;
        },
        error: reject,
        complete: () => (result ? resolve(result) : reject(new Error('no result'))),
      },
    );
  });
}

/** Resolves when `predicate` holds, checked on every call of the returned `check`. */
export function waitFor(
  predicate: () => boolean,
  timeoutMs = 60_000,
  what = 'condition',
): { check: () => void; done: Promise<void> } {
  let resolve: () => void = () => {};
  let reject: (error: Error) => void = () => {};
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
  const check = () => {
    if (predicate()) {
      clearTimeout(timer);
      resolve();
    }
  };
  check();
  return { check, done };
}

const OPENING_BIDS: Level[] = [
  ['100', '1'],
  ['99.9', '2'],
];
const OPENING_ASKS: Level[] = [
  ['100.1', '1'],
  ['100.2', '2'],
];

/**
 * A market whose book the test writes itself (exchange `lab`), event by event through the same
 * script the ingester uses, so resting orders can be crossed exactly when a test says so.
 */
export class ScriptedMarket {
  static readonly market: Market = {
    exchange: 'lab',
    symbol: 'BTC/USDT',
    base: 'BTC',
    quote: 'USDT',
    tickSize: '0.1',
    lotSize: '0.001',
    minAmount: '0.001',
    minNotional: '10',
    active: true,
  };
  private seq = 0;
  private readonly epoch = `lab-${Date.now()}`;

  constructor(private readonly store: BookStore) {}

  /** Lists the market and writes its first book: by default 100 / 100.1 at the touch, a level behind each. */
  async start(bids: Level[] = OPENING_BIDS, asks: Level[] = OPENING_ASKS): Promise<void> {
    await this.store.writeMarkets('lab', [ScriptedMarket.market]);
    await this.store.redis.sadd(exchangesKey(REGION), 'lab');
    await this.write('snapshot', bids, asks);
  }

  delta(bids: Level[], asks: Level[]): Promise<void> {
    return this.write('delta', bids, asks);
  }

  private async write(kind: 'snapshot' | 'delta', bids: Level[], asks: Level[]): Promise<void> {
    this.seq += 1;
    const now = Date.now();
    const event: BookEvent = {
      kind,
      exchange: 'lab',
      symbol: 'BTC/USDT',
      region: REGION,
      epoch: this.epoch,
      seq: this.seq,
      bids,
      asks,
      exchangeTs: now,
      receiveTs: now,
    };
    await this.store.writeBookEvent(event, encodeBookEvent(event));
  }
}

/**
 * Limits of a stack trading on the scripted `lab` book: it moves only when a test says so, so it
 * must never count as stale (paper orders do not fill against a stale book).
 */
export const SCRIPTED_BOOK_LIMITS = { staleOverrides: { lab: 3_600_000 } };

export const OPEN_SESSION = `mutation Open($balances: [BalanceInput!]!) {
  openSession(balances: $balances) { id status region balances { asset total locked available } }
}`;

/** A session opened over HTTP by `client` on `app`, with `balances` (10000 USDT); its id. */
export async function openSessionOver(
  app: App,
  client: CreatedClient,
  balances: { asset: string; amount: string }[] = [{ asset: 'USDT', amount: '10000' }],
): Promise<string> {
  const opened = await gqlOk<{ openSession: { id: string } }>(app, OPEN_SESSION, { balances }, client.key);
  return opened.openSession.id;
}

/** A session's seq, balances and orders: what a write changes (to compare before and after). */
export const SESSION_STATE = `query($id: ID!) {
  session(id: $id) { lastSeq balances { asset total locked } orders(first: 100) { edges { node { id status } } } }
}`;

export const ORDER_FIELDS = `id clientOrderId sessionId status side type price amount filled remaining averagePrice fee timeInForce postOnly rejectReason`;

export const PLACE_ORDER = `mutation Place($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    __typename
    ... on Order { ${ORDER_FIELDS} fills { price amount fee liquidity } }
    ... on TradingError { code message }
    ... on InvalidPrecision { field value increment }
    ... on BelowMinimum { field value minimum }
    ... on InsufficientBalance { asset required available }
    ... on OrderRejected { reason order { id status rejectReason } }
    ... on IdempotencyConflict { conflictingClientOrderId: clientOrderId orderId }
    ... on SessionNotFound { sessionId }
  }
}`;

export const CANCEL_ORDER = `mutation Cancel($id: ID, $clientOrderId: String) {
  cancelOrder(id: $id, clientOrderId: $clientOrderId) {
    __typename
    ... on Order { ${ORDER_FIELDS} }
    ... on TradingError { code message }
  }
}`;

/** An order's status and fill, by id. */
export const ORDER_STATUS = `query($id: ID!) { order(id: $id) { id status filled remaining } }`;

export const ORDER_UPDATES = `subscription Updates($sessionId: ID!, $afterSeq: Long) {
  orderUpdates(sessionId: $sessionId, afterSeq: $afterSeq) {
    seq type sessionId timestamp
    order { id status filled remaining }
    fill { id price amount fee liquidity }
  }
}`;

export interface OrderView {
  id: string;
  clientOrderId: string | null;
  sessionId: string;
  status: string;
  side: string;
  type: string;
  price: string | null;
  amount: string;
  filled: string;
  remaining: string;
  averagePrice: string | null;
  fee: string;
  timeInForce: string;
  postOnly: boolean;
  rejectReason: string | null;
  fills?: { price: string; amount: string; fee: string; liquidity: string }[];
}

export type PlaceResult = OrderView & {
  __typename: string;
  code?: string;
  message?: string;
  [k: string]: unknown;
};

export interface UpdateView {
  seq: number;
  type: string;
  sessionId: string;
  order: { id: string; status: string; filled: string; remaining: string };
  fill: { id: string; price: string; amount: string; fee: string; liquidity: string } | null;
}

/** A GTC limit buy on the test's own market (`lab`), resting below its best ask. */
export const LAB_LIMIT_BUY = {
  exchange: 'lab',
  symbol: 'BTC/USDT',
  side: 'BUY',
  type: 'LIMIT',
  price: '99.5',
  amount: '0.5',
} as const;

export function orderInput(
  sessionId: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return { sessionId, ...LAB_LIMIT_BUY, ...overrides };
}
