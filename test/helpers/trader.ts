import {
  addDecimal,
  compareDecimal,
  multiplyDecimal,
  subtractDecimal,
} from '../../src/marketdata/decimal.ts';
import type { OrderView } from '../trading/support.ts';
import { Wakeups } from './book-checker.ts';

/**
 * A client that keeps trading paper orders through faults, as a careful integrator does: every
 * placement carries its own clientOrderId, and an answer that says nothing definite (a network
 * error, a timeout, `UNAVAILABLE`, an HTTP 5xx) is retried with the same clientOrderId (or, for a
 * cancel, the same order id) until one does. It records every acknowledgement, so `checkOrders`
 * can tell afterwards whether the server lost or duplicated anything it acknowledged.
 *
 * Each worker loops: a resting limit buy far below the market (canceled again, except every
 * `KEEP_EVERY`-th, which stays open), and every `MARKET_EVERY`-th step a small market buy that
 * fills against the live book (or is rejected while the book is stale: also an acknowledged order).
 */
export interface TraderOptions {
  /** The GraphQL endpoint; a function, for a server that comes back elsewhere. */
  url: string | (() => string);
  key: string;
  sessionId: string;
  exchange: string;
  symbol: string;
  /** Price of the resting buys: far enough below the market never to fill. */
  restingPrice: string;
  restingAmount: string;
  marketAmount: string;
  /** Loops placing and canceling at once (orders in flight together). @default 2 */
  workers?: number;
  /** Pause between one worker's steps and between retries, so the trader is steady, not a flood. @default 80 */
  paceMs?: number;
  /** Prefix of the clientOrderIds (one trader per session). @default 'tr' */
  prefix?: string;
}

/** Resting orders kept open: every KEEP_EVERY-th; the others are canceled right after placing. */
const KEEP_EVERY = 5;
/** Every MARKET_EVERY-th step is a market buy. */
const MARKET_EVERY = 4;
/** A single try's bound: far above any answer a live server gives, so a hung request counts as unknown. */
const REQUEST_TIMEOUT_MS = 30_000;

interface PlacedAck {
  clientOrderId: string;
  id: string;
  status: string;
  at: number;
}

/** What one try answered: definite (with the payload) or unknown (retry). */
type Attempt = { definite: true; value: Record<string, unknown> } | { definite: false; why: string };

export class Trader {
  /** Placements the server acknowledged (an order id came back), by clientOrderId. */
  readonly placed = new Map<string, PlacedAck>();
  /** Order ids whose cancel the server acknowledged (answered CANCELED). */
  readonly canceled = new Set<string>();
  /** Placements answered with a typed refusal (no order made), by clientOrderId, with the code. */
  readonly refused = new Map<string, string>();
  /** Every clientOrderId the trader sent. */
  readonly sent = new Set<string>();
  /** Answers that said nothing definite, by kind (`UNAVAILABLE`, `fetch failed`, `HTTP 503`...). */
  readonly unknown = new Map<string, number>();
  /** When the last acknowledgement (placement or cancel) came back. */
  lastAckAt = 0;
  private lastUnknownAt = 0;
  /** Requests sent and not answered yet: when each was sent. */
  private readonly inFlight = new Map<number, number>();
  /** How each request ended: an HTTP answer (whatever it said), or none (a network error). */
  readonly outcomes = new Map<number, 'answered' | 'no answer'>();
  private requestId = 0;
  private running = false;
  private paused = false;
  private loops: Promise<void>[] = [];
  private idle = 0;
  private readonly wakeups = new Wakeups();
  private step = 0;

  constructor(readonly options: TraderOptions) {}

  get url(): string {
    const { url } = this.options;
    return typeof url === 'string' ? url : url();
  }

  start(): void {
    this.running = true;
    const workers = this.options.workers ?? 2;
    this.loops = Array.from({ length: workers }, (_, w) => this.loop(w));
  }

  /** Resolves once every worker has finished its step (nothing in flight, nothing unknown). */
  async pause(): Promise<void> {
    this.paused = true;
    await this.wakeups.until(
      () => this.idle === this.loops.length,
      120_000,
      'the trader to finish its steps',
    );
  }

  resume(): void {
    this.paused = false;
    this.wakeups.notify();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.resume();
    await Promise.all(this.loops);
  }

  /** Resolves once the trader got an acknowledgement after `at` (ms since the epoch). */
  untilAckAfter(at: number, what = 'an acknowledged order', timeoutMs = 180_000): Promise<void> {
    return this.wakeups.until(() => this.lastAckAt > at, timeoutMs, what);
  }

  /** Resolves once `count` placements were acknowledged in all. */
  untilAcks(count: number): Promise<void> {
    return this.wakeups.until(() => this.placed.size >= count, 120_000, `${count} acknowledged placements`);
  }

  /** Resolves once an answer after `at` said nothing definite (the fault reached the trader). */
  untilUnknownAfter(at: number, what = 'the trader to see the fault'): Promise<void> {
    return this.wakeups.until(() => this.lastUnknownAt > at, 120_000, what);
  }

  private async loop(worker: number): Promise<void> {
    while (this.running) {
      if (this.paused) {
        this.idle += 1;
        this.wakeups.notify();
        await this.wakeups.until(() => !this.paused, 3_600_000, 'the trader to resume');
        this.idle -= 1;
        continue;
      }
      const n = ++this.step;
      const clientOrderId = `${this.options.prefix ?? 'tr'}-${worker}-${n}`;
      if (n % MARKET_EVERY === 0) {
        await this.place(clientOrderId, { type: 'MARKET', amount: this.options.marketAmount });
      } else {
        const ack = await this.place(clientOrderId, {
          type: 'LIMIT',
          price: this.options.restingPrice,
          amount: this.options.restingAmount,
        });
        if (ack && ack.status === 'NEW' && n % KEEP_EVERY !== 0) await this.cancel(ack.id);
      }
      await this.pace();
    }
    this.idle += 1;
    this.wakeups.notify();
  }

  private pace(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.options.paceMs ?? 80));
  }

  private async place(clientOrderId: string, order: Record<string, unknown>): Promise<PlacedAck | null> {
    this.sent.add(clientOrderId);
    const input = {
      sessionId: this.options.sessionId,
      exchange: this.options.exchange,
      symbol: this.options.symbol,
      side: 'BUY',
      clientOrderId,
      ...order,
    };
    for (;;) {
      const answer = await this.tryOnce(PLACE, { input });
      if (answer.definite) {
        const result = answer.value.placeOrder as Record<string, unknown>;
        const made = (result.__typename === 'OrderRejected' ? result.order : result) as
          | { id?: string; status?: string }
          | undefined;
        if (made?.id) {
          const ack = { clientOrderId, id: made.id, status: made.status ?? '?', at: Date.now() };
          this.placed.set(clientOrderId, ack);
          this.acked();
          return ack;
        }
        this.refused.set(clientOrderId, String(result.code ?? result.__typename));
        return null;
      }
      this.sawUnknown(answer.why);
      if (!this.running) return null;
      await this.pace();
    }
  }

  private async cancel(id: string): Promise<void> {
    for (;;) {
      const answer = await this.tryOnce(CANCEL, { id });
      if (answer.definite) {
        const result = answer.value.cancelOrder as { __typename: string; status?: string };
        if (result.status === 'CANCELED') {
          this.canceled.add(id);
          this.acked();
        }
        return;
      }
      this.sawUnknown(answer.why);
      if (!this.running) return;
      await this.pace();
    }
  }

  private acked(): void {
    this.lastAckAt = Date.now();
    this.wakeups.notify();
  }

  private sawUnknown(why: string): void {
    this.unknown.set(why, (this.unknown.get(why) ?? 0) + 1);
    this.lastUnknownAt = Date.now();
    this.wakeups.notify();
  }

  /** Ids of the requests sent before `at` and not answered yet. */
  sentBefore(at: number): number[] {
    return [...this.inFlight].filter(([, sentAt]) => sentAt < at).map(([id]) => id);
  }

  /** Resolves once every request in `ids` ended (answered or not). */
  untilEnded(ids: readonly number[]): Promise<void> {
    return this.wakeups.until(
      () => ids.every((id) => this.outcomes.has(id)),
      120_000,
      'requests in flight to end',
    );
  }

  private async tryOnce(query: string, variables: Record<string, unknown>): Promise<Attempt> {
    const id = ++this.requestId;
    this.inFlight.set(id, Date.now());
    const ended = (outcome: 'answered' | 'no answer') => {
      this.inFlight.delete(id);
      this.outcomes.set(id, outcome);
      this.wakeups.notify();
    };
    const attempt = await this.send(query, variables);
    ended(attempt.definite || !attempt.network ? 'answered' : 'no answer');
    return attempt;
  }

  private async send(
    query: string,
    variables: Record<string, unknown>,
  ): Promise<Attempt & { network?: boolean }> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
          authorization: `Bearer ${this.options.key}`,
        },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      return { definite: false, network: true, why: error instanceof Error ? error.message : String(error) };
    }
    const body = (await response.json().catch(() => null)) as {
      data?: Record<string, unknown> | null;
      errors?: { extensions?: { code?: string } }[];
    } | null;
    const value = body?.data ? Object.values(body.data)[0] : undefined;
    if (value && !body?.errors) return { definite: true, value: body!.data! };
    const code = body?.errors?.[0]?.extensions?.code;
    return { definite: false, why: code ? String(code) : `HTTP ${response.status}` };
  }
}

export const TRADER_ORDER_FIELDS =
  'id clientOrderId status side type price amount filled remaining fills { price amount fee }';

const PLACE = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  __typename
  ... on Order { id status }
  ... on OrderRejected { reason order { id status } }
  ... on TradingError { code }
} }`;

const CANCEL = `mutation($id: ID) { cancelOrder(id: $id) {
  __typename ... on Order { id status } ... on TradingError { code }
} }`;

const ORDERS = `query($sessionId: ID!, $after: String) {
  orders(filter: { sessionId: $sessionId }, first: 100, after: $after) {
    edges { node { ${TRADER_ORDER_FIELDS} } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const BALANCES = `query($id: ID!) { session(id: $id) { balances { asset total locked } } }`;

export type StoredOrder = Pick<
  OrderView,
  'id' | 'clientOrderId' | 'status' | 'side' | 'type' | 'price' | 'amount' | 'filled' | 'remaining'
> & { fills: { price: string; amount: string; fee: string }[] };

const OPEN = new Set(['NEW', 'PARTIALLY_FILLED']);
/** Fee rates are below 1%: what an open buy reserves lies between its notional and 1.01 × that. */
const MAX_FEE = '1.01';

async function request<T>(url: string, key: string, query: string, variables: object): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (body.errors || !body.data) throw new Error(`${query.slice(0, 40)}…: ${JSON.stringify(body)}`);
  return body.data;
}

/** Every order of the session, read through the API (as the client would after the fault). */
export async function sessionOrders(url: string, key: string, sessionId: string): Promise<StoredOrder[]> {
  const orders: StoredOrder[] = [];
  let after: string | null = null;
  for (;;) {
    const page: {
      orders: { edges: { node: StoredOrder }[]; pageInfo: { hasNextPage: boolean; endCursor: string } };
    } = await request(url, key, ORDERS, { sessionId, after });
    orders.push(...page.orders.edges.map((e) => e.node));
    if (!page.orders.pageInfo.hasNextPage) return orders;
    after = page.orders.pageInfo.endCursor;
  }
}

/**
 * "No acknowledged order lost or duplicated", checked from the outside once the trader is paused:
 * every placement acknowledged exists exactly once with its id; every order in the session is
 * one the trader sent (at most one per clientOrderId, acknowledged or not); an acknowledged cancel
 * left the order CANCELED; and the balances are what the orders say: the quote spent is what the
 * fills cost with their fees, the base held what they bought, the quote locked what open orders
 * reserve. Returns the problems (empty when all holds).
 */
export async function checkOrders(
  trader: Trader,
  initialQuote: { asset: string; amount: string },
  base: string,
): Promise<string[]> {
  const { url } = trader;
  const { key, sessionId } = trader.options;
  const orders = await sessionOrders(url, key, sessionId);
  const problems: string[] = [];
  const byClientId = new Map<string, StoredOrder[]>();
  for (const order of orders) {
    if (order.clientOrderId === null || !trader.sent.has(order.clientOrderId)) {
      problems.push(`order ${order.id} (${order.clientOrderId}) was never sent by the trader`);
      continue;
    }
    byClientId.set(order.clientOrderId, [...(byClientId.get(order.clientOrderId) ?? []), order]);
  }
  for (const [clientOrderId, same] of byClientId) {
    if (same.length > 1) problems.push(`${clientOrderId}: ${same.length} orders ${same.map((o) => o.id)}`);
  }
  for (const ack of trader.placed.values()) {
    const stored = byClientId.get(ack.clientOrderId);
    if (!stored) problems.push(`${ack.clientOrderId}: acknowledged as ${ack.id} but lost`);
    else if (stored[0]!.id !== ack.id)
      problems.push(`${ack.clientOrderId}: acknowledged ${ack.id}, stored ${stored[0]!.id}`);
  }
  for (const [clientOrderId, code] of trader.refused) {
    if (byClientId.has(clientOrderId)) problems.push(`${clientOrderId}: refused (${code}) yet stored`);
  }
  const byId = new Map(orders.map((o) => [o.id, o]));
  for (const id of trader.canceled) {
    const status = byId.get(id)?.status;
    if (status !== 'CANCELED') problems.push(`${id}: cancel acknowledged, status ${status}`);
  }

  let spent = '0';
  let bought = '0';
  let reserved = '0';
  for (const order of orders) {
    for (const fill of order.fills) {
      spent = addDecimal(spent, addDecimal(multiplyDecimal(fill.price, fill.amount), fill.fee));
      bought = addDecimal(bought, fill.amount);
    }
    if (OPEN.has(order.status) && order.price) {
      reserved = addDecimal(reserved, multiplyDecimal(order.price, order.remaining));
    }
  }
  const { session } = await request<{
    session: { balances: { asset: string; total: string; locked: string }[] };
  }>(url, key, BALANCES, { id: sessionId });
  const balance = (asset: string) => session.balances.find((b) => b.asset === asset);
  const quote = balance(initialQuote.asset);
  const expectedQuote = subtractDecimal(initialQuote.amount, spent);
  if (quote?.total !== expectedQuote) {
    problems.push(`${initialQuote.asset} total ${quote?.total}, fills say ${expectedQuote}`);
  }
  if ((balance(base)?.total ?? '0') !== bought) {
    problems.push(`${base} total ${balance(base)?.total}, fills say ${bought}`);
  }
  const locked = quote?.locked ?? '0';
  if (
    compareDecimal(locked, reserved) < 0 ||
    compareDecimal(locked, multiplyDecimal(reserved, MAX_FEE)) > 0
  ) {
    problems.push(`${initialQuote.asset} locked ${locked}, open orders reserve ${reserved} (+ fees < 1%)`);
  }
  return problems;
}
