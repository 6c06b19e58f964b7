import { type Exchange, InvalidNonce } from 'ccxt';
import type { CheckedMarket, VenueContinuity } from './types.ts';

/** A break of a venue's stream that our own check found. */
export interface ContinuityBreak {
  /** The unified symbols resynchronised (one, unless several followed markets share the venue id). */
  symbols: string[];
  marketId: string;
  check: 'sequence' | 'checksum';
  reason: string;
  /** The socket's URL. */
  url: string;
}

/** The part of ccxt's WebSocket client the hook uses. */
export interface CcxtClient {
  url: string;
  subscriptions: Record<string, unknown>;
  futures: Record<string, unknown>;
  send(message: unknown): Promise<unknown>;
  reject(error: unknown, messageHash: string): void;
}

type Handler = (client: CcxtClient, ...rest: unknown[]) => unknown;

/**
 * Puts our check in front of ccxt's message handling: every raw message goes through
 * `check.inspect` first. A held message never reaches ccxt; a break is not handed to ccxt either,
 * and the market is resynchronised the way ccxt does after its own gap errors: its book dropped,
 * its waiting watch rejected with an `InvalidNonce` (the feed then reports a resync and opens a new epoch)
 * and its subscription forgotten, so the next watch subscribes again (after an unsubscribe, for a
 * venue that refuses a second subscription) and the venue sends a fresh snapshot.
 */
export function installContinuityCheck(
  exchange: Exchange,
  check: VenueContinuity,
  markets: readonly CheckedMarket[],
  onBreak: (event: ContinuityBreak) => void,
): void {
  const target = exchange as unknown as Record<'handleMessage' | 'onClose' | 'onError', Handler>;
  const handle = target.handleMessage.bind(exchange);
  target.handleMessage = (client, message) => {
    const verdict = check.inspect(message, client.url);
    if (verdict.kind === 'pass') return handle(client, message);
    if (verdict.kind === 'hold') return undefined;
    const broken = markets.filter((m) => m.id === verdict.marketId);
    check.reset(verdict.marketId, client.url);
    for (const market of broken) {
      const error = new InvalidNonce(
        `${exchange.id} ${market.symbol}: ${verdict.check} check failed: ${verdict.reason}`,
      );
      dropBook(
        exchange,
        client,
        market.symbol,
        check.messageHash(market.symbol),
        check.unsubscribe?.(market),
        error,
      );
    }
    onBreak({
      symbols: broken.map((m) => m.symbol),
      marketId: verdict.marketId,
      check: verdict.check,
      reason: verdict.reason,
      url: client.url,
    });
    return undefined;
  };
  if (check.bookDepth !== undefined) {
    // ccxt sizes a new book by its snapshot's length: a thinner snapshot would cut every later book.
    const fixed = check.bookDepth;
    const target2 = exchange as unknown as { orderBook: (snapshot?: object, depth?: number) => unknown };
    const orderBook = target2.orderBook.bind(exchange);
    target2.orderBook = (snapshot = {}) => orderBook(snapshot, fixed);
  }
  // A new socket on the same URL starts from nothing.
  for (const name of ['onClose', 'onError'] as const) {
    const original = target[name].bind(exchange);
    target[name] = (client, ...rest) => {
      check.forget(client.url);
      return original(client, ...rest);
    };
  }
}

/**
 * Resynchronises one market's book the way ccxt does after its own gap errors: the book dropped,
 * the subscription forgotten (after `unsubscribe` is sent, for a venue that refuses a second
 * subscription), the waiting watch rejected with `error` (an `InvalidNonce`: the feed reports a
 * resync and opens a new epoch). The next watch subscribes again and the venue sends a fresh
 * snapshot.
 */
export function dropBook(
  exchange: Exchange,
  client: CcxtClient,
  symbol: string,
  hash: string,
  unsubscribe: unknown,
  error: Error,
): void {
  // A failed send means the socket is going: the reconnect resubscribes anyway.
  if (unsubscribe !== undefined) client.send(unsubscribe).catch(() => {});
  delete (exchange.orderbooks as unknown as Record<string, unknown>)[symbol];
  delete client.subscriptions[hash];
  // With no watch waiting, ccxt would keep the rejection and leave the rejected future in
  // place, failing the next two watches and losing the new snapshot's resolve: the next watch
  // subscribes again and gets a new book object instead, which the feed takes for a resync.
  if (hash in client.futures) client.reject(error, hash);
}

/**
 * The socket and message hash of a market's book subscription: the check's hash where bookgraph
 * checks the venue, else the subscription whose hash names the symbol and an order book.
 */
function bookSubscription(
  exchange: Exchange,
  symbol: string,
  hash: string | undefined,
): { client: CcxtClient; hash: string } | undefined {
  const clients = Object.values(exchange.clients as unknown as Record<string, CcxtClient>);
  for (const client of clients) {
    const keys = [...Object.keys(client.subscriptions), ...Object.keys(client.futures)];
    const found =
      hash !== undefined
        ? keys.find((key) => key === hash)
        : keys.find((key) => key.includes(symbol) && key.toLowerCase().includes('orderbook'));
    if (found !== undefined) return { client, hash: found };
  }
  return undefined;
}

/** What a continuity check knows of a market's book subscription. */
export interface CheckedBook {
  hash: string;
  unsubscribe: unknown;
  reset(url: string): void;
}

/** A check's view of each followed market's book subscription, by unified symbol. */
export function checkedBooks(
  check: VenueContinuity,
  markets: readonly CheckedMarket[],
): (symbol: string) => CheckedBook | undefined {
  return (symbol) => {
    const market = markets.find((m) => m.symbol === symbol);
    if (!market) return undefined;
    const unsubscribe = check.unsubscribe?.(market);
    return { hash: check.messageHash(symbol), unsubscribe, reset: (url) => check.reset(market.id, url) };
  };
}

/**
 * Resynchronises a market's book from outside the stream (the audit found it wrong): `dropBook` on
 * its subscription. False when the book has no subscription (a reconnect is under way).
 */
export function resyncBook(
  exchange: Exchange,
  symbol: string,
  checked: CheckedBook | undefined,
  error: Error,
): boolean {
  const found = bookSubscription(exchange, symbol, checked?.hash);
  if (!found) return false;
  checked?.reset(found.client.url);
  dropBook(exchange, found.client, symbol, found.hash, checked?.unsubscribe, error);
  return true;
}
