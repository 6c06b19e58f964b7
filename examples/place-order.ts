/**
 * Place a limit order on the simulator and follow it until it fills, or cancel it.
 *
 *   npm start                                                        # in another terminal
 *   node bin/bookgraph.js clients create --name me --scopes marketdata:read,trade   # prints a key
 *   BOOKGRAPH_TOKEN=bgk_… npx tsx examples/place-order.ts [--url …] [--exchange sim1] [--symbol BTC/USDT]
 *       [--side BUY|SELL] [--amount 0.01] [--price P | --take] [--wait-ms 5000] [--session ID]
 *
 * Opens a paper session (or uses `--session`), follows its orders with the SDK's `followOrders`
 * (every `orderUpdates` message in seq order, gaps repaired), places a GTC limit order — at the
 * opposite best price and 0.5 % through it with `--take` (it fills at once, as taker), else
 * `--price`, else 1 % away from the touch (it rests) — prints each update of it, and cancels it if it is not filled within
 * `--wait-ms`. Expected failures (`InsufficientBalance`, `InvalidPrecision`, …) are typed results
 * of `placeOrder`, printed with their code.
 *
 * In your own project, import from '@bookgraph/sdk' instead of '../sdk/src/index.ts'.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  addDecimal,
  BookgraphError,
  cancelOrder,
  closeSession,
  compareDecimal,
  createBookgraphClient,
  type FollowedOrder,
  followOrders,
  isFinalStatus,
  MarketsDocument,
  OrderBookDocument,
  type OrderSide,
  type OrderUpdate,
  openSession,
  type PlaceOrderResult,
  placeOrder,
  subtractDecimal,
} from '../sdk/src/index.ts';

export interface PlaceOrderOptions {
  /** @default 'http://127.0.0.1:4000/graphql' */
  url?: string;
  /** An API key with the `trade` scope. @default process.env.BOOKGRAPH_TOKEN */
  token?: string;
  /** @default 'sim1' */
  exchange?: string;
  /** @default 'BTC/USDT' */
  symbol?: string;
  /** @default 'BUY' */
  side?: OrderSide;
  /** @default '0.01' */
  amount?: string;
  /** The limit price. @default 1 % away from the touch, on the market's tick (0.5 % through the opposite side with `take`) */
  price?: string;
  /** Price the order through the opposite best price, so it fills at once as taker. @default false */
  take?: boolean;
  /** Cancel the order if it is not final after this long. @default 5000 */
  waitMs?: number;
  /** Use this session instead of opening one (it is then left open). */
  sessionId?: string;
  /** Balances of the session opened. @default 100000 of the quote, 10 of the base */
  balances?: { asset: string; amount: string }[];
  /** How long one request may take before it fails with NETWORK_ERROR. @default the SDK's 10 s */
  timeoutMs?: number;
  /** @default console.log */
  print?: (line: string) => void;
}

export interface PlaceOrderRun {
  sessionId: string;
  /** What placeOrder returned: the order, or a typed trading error. */
  result: PlaceOrderResult;
  /** The order as the follower ended with it (undefined if none was placed). */
  order: FollowedOrder | undefined;
  /** Every update of the order, in seq order. */
  updates: OrderUpdate[];
  canceled: boolean;
}

/** A decimal string as an integer of `places` decimal places (truncating). */
function scaled(value: string, places: number): bigint {
  const [int, frac = ''] = value.split('.');
  return BigInt(`${int}${frac.padEnd(places, '0').slice(0, places)}`);
}

function unscaled(value: bigint, places: number): string {
  const digits = value.toString().padStart(places + 1, '0');
  return places === 0 ? digits : `${digits.slice(0, -places)}.${digits.slice(-places)}`;
}

/** `price` × (1 + `bps` / 10000), exactly, rounded down to a multiple of `tick`. */
function shifted(price: string, bps: bigint, tick: string): string {
  const places = Math.max(price.split('.')[1]?.length ?? 0, tick.split('.')[1]?.length ?? 0);
  const moved = (scaled(price, places) * (10_000n + bps)) / 10_000n;
  const step = scaled(tick, places);
  return unscaled((moved / step) * step, places);
}

const describe = (u: OrderUpdate) =>
  `#${u.seq} ${u.type.padEnd(8)} ${u.order.status.padEnd(16)} filled ${u.order.filled}/${u.order.amount}` +
  (u.fill
    ? `  fill ${u.fill.amount} @ ${u.fill.price} fee ${u.fill.fee} ${u.fill.feeAsset} ${u.fill.liquidity}`
    : '');

export async function main(options: PlaceOrderOptions = {}): Promise<PlaceOrderRun> {
  const print = options.print ?? console.log;
  const exchange = options.exchange ?? 'sim1';
  const symbol = options.symbol ?? 'BTC/USDT';
  const side = options.side ?? 'BUY';
  const amount = options.amount ?? '0.01';
  const token = options.token ?? process.env.BOOKGRAPH_TOKEN;
  if (!token) throw new Error('an API key with the trade scope is needed: --token or BOOKGRAPH_TOKEN');
  const client = createBookgraphClient({
    url: options.url ?? 'http://127.0.0.1:4000/graphql',
    token,
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  const follower: { close(): Promise<void> }[] = [];
  try {
    const { markets } = await client.query(MarketsDocument, { exchange });
    const market = markets.find((m) => m.symbol === symbol);
    if (!market)
      throw new BookgraphError(`${symbol} is not listed on ${exchange}`, { code: 'MARKET_NOT_FOUND' });

    let sessionId = options.sessionId;
    if (!sessionId) {
      const session = await openSession(
        client,
        options.balances ?? [
          { asset: market.quote, amount: '100000' },
          { asset: market.base, amount: '10' },
        ],
      );
      sessionId = session.id;
      print(
        `session ${session.id} opened: ${session.balances.map((b) => `${b.available} ${b.asset}`).join(', ')}`,
      );
    }

    // Follow before placing: every update of the order is seen, from NEW on.
    const orders = followOrders(client, { sessionId });
    follower.push(orders);
    await orders.ready();

    const { orderBook } = await client.query(OrderBookDocument, { exchange, symbol, depth: 1 });
    const touch = side === 'BUY' ? orderBook.bestAsk?.price : orderBook.bestBid?.price;
    const near = side === 'BUY' ? orderBook.bestBid?.price : orderBook.bestAsk?.price;
    if (!touch || !near) throw new Error(`${exchange} ${symbol} has no book to price against`);
    // Taking: 0.5 % through the touch, so the order still crosses if the book moves meanwhile (it
    // fills at the book's prices; the limit is only a cap). Resting: 1 % away from the near side.
    const buy = side === 'BUY';
    const price =
      options.price ??
      (options.take
        ? shifted(touch, buy ? 50n : -50n, market.tickSize)
        : shifted(near, buy ? -100n : 100n, market.tickSize));
    print(`${exchange} ${symbol}: bid ${orderBook.bestBid?.price} ask ${orderBook.bestAsk?.price}`);

    const clientOrderId = `example-${Date.now().toString(36)}`;
    const updates: OrderUpdate[] = [];
    let orderId: string | undefined;
    const early: OrderUpdate[] = [];
    orders.on('update', (update) => {
      if (orderId === undefined) early.push(update);
      else if (update.order.id === orderId) {
        updates.push(update);
        print(describe(update));
      }
    });

    print(`placing ${side} ${amount} ${symbol} LIMIT @ ${price} GTC (${clientOrderId})`);
    const result = await placeOrder(client, {
      sessionId,
      exchange,
      symbol,
      side,
      type: 'LIMIT',
      price,
      amount,
      timeInForce: 'GTC',
      clientOrderId,
    });
    if (result.__typename !== 'Order') {
      print(`not placed: ${result.__typename} ${result.code}: ${result.message}`);
      return { sessionId, result, order: undefined, updates, canceled: false };
    }
    orderId = result.id;
    print(`order ${result.id} ${result.status}, filled ${result.filled}/${result.amount}`);
    // Updates that arrived while the mutation was answered.
    for (const update of early.splice(0)) {
      if (update.order.id !== orderId) continue;
      updates.push(update);
      print(describe(update));
    }

    const id = result.id;
    let canceled = false;
    const final = (o: FollowedOrder) => isFinalStatus(o.status);
    let order = await orders
      .waitForOrder(id, final, { signal: AbortSignal.timeout(options.waitMs ?? 5_000) })
      .catch((error: unknown) => {
        if (error instanceof DOMException && error.name === 'TimeoutError') return undefined;
        throw error;
      });
    if (!order) {
      print(`not filled after ${options.waitMs ?? 5_000} ms: canceling`);
      const canceledResult = await cancelOrder(client, { id });
      if (canceledResult.__typename === 'Order') canceled = true;
      else print(`cancel: ${canceledResult.__typename} ${canceledResult.code}: ${canceledResult.message}`);
      order = await orders.waitForOrder(id, final, { signal: AbortSignal.timeout(10_000) });
    }
    const average = order.averagePrice ? ` avg ${trim(order.averagePrice)}` : '';
    print(
      `order ${order.id} ${order.status}: filled ${order.filled}/${order.amount}${average}, fee ${order.fee} ${order.feeAsset}, ${order.fills.length} fills`,
    );
    await orders.close();
    if (!options.sessionId) {
      const closed = await closeSession(client, sessionId);
      if (closed.__typename === 'Session') {
        print(
          `session closed: ${closed.balances.map((b) => `${b.total} ${b.asset} (${signed(subtractDecimal(b.total, b.initial))})`).join(', ')}`,
        );
      }
    }
    return { sessionId, result, order, updates, canceled };
  } finally {
    await Promise.all(follower.map((f) => f.close()));
    await client.dispose();
  }
}

const trim = (value: string) => addDecimal(value, '0');
const signed = (value: string) => (compareDecimal(value, '0') >= 0 ? `+${value}` : value);

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      exchange: { type: 'string' },
      symbol: { type: 'string' },
      side: { type: 'string' },
      amount: { type: 'string' },
      price: { type: 'string' },
      take: { type: 'boolean' },
      'wait-ms': { type: 'string' },
      session: { type: 'string' },
    },
  });
  main({
    ...(values.url ? { url: values.url } : {}),
    ...(values.token ? { token: values.token } : {}),
    ...(values.exchange ? { exchange: values.exchange } : {}),
    ...(values.symbol ? { symbol: values.symbol } : {}),
    side: values.side?.toUpperCase() === 'SELL' ? 'SELL' : 'BUY',
    ...(values.amount ? { amount: values.amount } : {}),
    ...(values.price ? { price: values.price } : {}),
    ...(values.take ? { take: true } : {}),
    ...(values['wait-ms'] ? { waitMs: Number(values['wait-ms']) } : {}),
    ...(values.session ? { sessionId: values.session } : {}),
  }).catch((error: unknown) => {
    console.error(BookgraphError.is(error) ? `${error.code}: ${error.message}` : error);
    process.exitCode = 1;
  });
}
