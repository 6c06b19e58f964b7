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
interface CcxtClient {
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
  const books = exchange.orderbooks as unknown as Record<string, unknown>;
  const handle = target.handleMessage.bind(exchange);
  target.handleMessage = (client, message) => {
    const verdict = check.inspect(message, client.url);
    if (verdict.kind === 'pass') return handle(client, message);
    if (verdict.kind === 'hold') return undefined;
    const broken = markets.filter((m) => m.id === verdict.marketId);
    check.reset(verdict.marketId, client.url);
    for (const market of broken) {
      const unsubscribe = check.unsubscribe?.(market);
      // A failed send means the socket is going: the reconnect resubscribes anyway.
      if (unsubscribe !== undefined) client.send(unsubscribe).catch(() => {});
      const hash = check.messageHash(market.symbol);
      delete books[market.symbol];
      delete client.subscriptions[hash];
      // With no watch waiting, ccxt would keep the rejection and leave the rejected future in
      // place, failing the next two watches and losing the new snapshot's resolve: the next watch
      // subscribes again and gets a new book object instead, which the feed takes for a resync.
      if (hash in client.futures) {
        const error = new InvalidNonce(
          `${exchange.id} ${market.symbol}: ${verdict.check} check failed: ${verdict.reason}`,
        );
        client.reject(error, hash);
      }
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
