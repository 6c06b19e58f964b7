import ccxt, { type Exchange, NetworkError } from 'ccxt';

/**
 * Building the ccxt pro exchange a feed or an execution venue drives: the unmodified ccxt class,
 * with its URLs rebased on local overrides and the few things ccxt derives from its own URLs kept
 * right (see `keepUrlDerivedBehaviour`).
 */

export type ExchangeClass = new (config?: Record<string, unknown>) => Exchange;

export interface CcxtBackoff {
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * A ccxt pro exchange from its id and constructor config, with its URLs rebased on
 * `restUrl`/`wsUrl` when given, and its unawaited WebSocket sends made safe (see below).
 */
export function createExchange(
  id: string,
  config: Record<string, unknown>,
  restUrl: string | undefined,
  wsUrl: string | undefined,
): Exchange {
  const Exchange = exchangeClass(id);
  const rebased =
    restUrl || wsUrl
      ? { ...config, urls: { api: rebaseUrls(new Exchange().urls.api, restUrl, wsUrl) } }
      : config;
  const exchange = new Exchange(rebased);
  if (wsUrl) keepUrlDerivedBehaviour(exchange);
  observeUnawaitedSends(exchange);
  return exchange;
}

/** What a rebased Binance-family exchange is told about its spot WebSocket URLs. */
interface SpotUrlTest {
  isSpotUrl(client: { url: string }): boolean;
}

/**
 * ccxt's Binance classes tell a spot `depthUpdate`/`trade` from a perpetual one (both say
 * `BTCUSDT`) by finding `/stream` in the socket URL, which only the venue's hostname
 * (`wss://stream.binance.com`) supplies. Rebased on `ws://proxy:port`, every spot message would
 * be taken for the perpetual's, and with the perpetual listed (as Binance lists it) the spot book
 * never updates. So, for a class that loads spot markets, a socket whose URL starts with the
 * exchange's own (rebased) spot or margin WebSocket URL counts as spot too. Rebased, the spot and
 * COIN-M URLs are the same: `binanceCoinMConflict` refuses a feed that would need both.
 */
function keepUrlDerivedBehaviour(exchange: Exchange): void {
  const tested = exchange as unknown as Partial<SpotUrlTest>;
  const ownTest = tested.isSpotUrl;
  if (typeof ownTest !== 'function' || !loadsSpot(exchange)) return;
  const ws = wsUrls(exchange);
  const spotUrls = [ws.spot, ws.margin].filter((url): url is string => typeof url === 'string');
  tested.isSpotUrl = (client) =>
    ownTest.call(exchange, client) || spotUrls.some((url) => client.url.startsWith(`${url}/`));
}

function wsUrls(exchange: Exchange): Record<string, unknown> {
  return (exchange.urls.api as { ws?: Record<string, unknown> }).ws ?? {};
}

function loadsSpot(exchange: Exchange): boolean {
  const types = (exchange.options as { fetchMarkets?: { types?: unknown } }).fetchMarkets?.types;
  return Array.isArray(types) && types.includes('spot');
}

/**
 * Why a Binance-family exchange with a rebased WebSocket URL cannot follow these markets, or
 * undefined: spot and COIN-M (inverse) markets would share one socket URL, and ccxt tells them
 * apart by that URL alone.
 */
export function binanceCoinMConflict(
  exchange: Exchange,
  markets: readonly { symbol: string; spot?: boolean; inverse?: boolean }[],
): string | undefined {
  const ws = wsUrls(exchange);
  if (typeof (exchange as unknown as Partial<SpotUrlTest>).isSpotUrl !== 'function') return undefined;
  if (ws.delivery !== ws.spot || !loadsSpot(exchange)) return undefined;
  const inverse = markets.filter((m) => m.inverse === true).map((m) => m.symbol);
  if (inverse.length === 0) return undefined;
  return (
    `${exchange.id}: with one WebSocket URL override, spot and COIN-M streams share a URL and ccxt ` +
    `cannot tell them apart; follow ${inverse.join(', ')} with the binancecoinm exchange instead`
  );
}

/**
 * ccxt sends a subscription after its rate-limit throttle without awaiting the send: when the
 * socket closes in between, that send rejects with nobody listening, and an unhandled rejection
 * ends a Node process (seen in tests that drop a venue's connections). The close itself reaches
 * the feed as a failed watch, which reconnects, so each send's rejection is marked observed here;
 * code that awaits a send still gets it.
 */
function observeUnawaitedSends(exchange: Exchange): void {
  const client = exchange.client.bind(exchange);
  const patched = new WeakSet<object>();
  exchange.client = (url) => {
    const ws = client(url);
    if (!patched.has(ws)) {
      patched.add(ws);
      const send = ws.send.bind(ws);
      ws.send = (message: unknown) => {
        const sent = send(message);
        sent.catch(() => {});
        return sent;
      };
    }
    return ws;
  };
}

/** ccxt's pro class for an exchange id, or an error naming it. */
export function exchangeClass(id: string): ExchangeClass {
  const classes = ccxt.pro as unknown as Record<string, ExchangeClass | undefined>;
  const Exchange = Object.hasOwn(classes, id) ? classes[id] : undefined;
  if (typeof Exchange !== 'function') {
    throw new Error(`"${id}" is not a ccxt exchange with WebSocket support (ccxt.pro)`);
  }
  return Exchange;
}

/**
 * Every URL in ccxt's `urls.api` tree with its origin replaced: http(s) ones by `restUrl`, ws(s)
 * ones by `wsUrl`, paths kept, so a fake venue serving the real paths works unchanged.
 */
export function rebaseUrls(api: unknown, restUrl: string | undefined, wsUrl: string | undefined): unknown {
  if (typeof api === 'string') {
    const match = /^(https?|wss?):\/\/[^/?#]+(.*)$/.exec(api);
    if (!match) return api;
    const base = match[1]!.startsWith('http') ? restUrl : wsUrl;
    return base ? `${base.replace(/\/+$/, '')}${match[2]}` : api;
  }
  if (Array.isArray(api)) return api.map((v) => rebaseUrls(v, restUrl, wsUrl));
  if (api && typeof api === 'object') {
    return Object.fromEntries(Object.entries(api).map(([k, v]) => [k, rebaseUrls(v, restUrl, wsUrl)]));
  }
  return api;
}

/** Exponential with jitter: half the delay fixed, half random, so reconnects spread out. */
export function backoffDelay(
  failures: number,
  options: CcxtBackoff = {},
  random: () => number = Math.random,
): number {
  const initial = options.initialDelayMs ?? 250;
  const max = options.maxDelayMs ?? 30_000;
  const delay = Math.min(max, initial * 2 ** Math.min(failures, 30));
  return delay / 2 + (random() * delay) / 2;
}

/**
 * Runs `attempt` until it succeeds, backing off after each failure that is the network's (ccxt's
 * `NetworkError`: venue unreachable, timeout, 5xx), calling `onFailure` with each; any other error
 * (a symbol the venue does not list, a bad configuration) is thrown at once. `sleep` resolves
 * false once the caller stops caring (the feed is stopping): the last error is thrown then.
 */
export async function retryNetwork<T>(
  attempt: () => Promise<T>,
  options: {
    backoff?: CcxtBackoff;
    sleep: (ms: number) => Promise<boolean>;
    onFailure: (error: Error, failures: number) => void;
  },
): Promise<T> {
  for (let failures = 0; ; ) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error;
      failures += 1;
      options.onFailure(error, failures);
      if (!(await options.sleep(backoffDelay(failures - 1, options.backoff)))) throw error;
    }
  }
}

/** The book depths a venue offers on its stream, where it has a fixed list (ccxt rejects others only at the first watch). */
const VENUE_DEPTHS: Readonly<Record<string, readonly number[]>> = {
  kraken: [10, 25, 100, 500, 1000],
  bybit: [1, 50, 200, 1000],
};

/** Why `depth` cannot be subscribed at on this exchange, or undefined. */
export function unsupportedDepth(exchange: string, depth: number | undefined): string | undefined {
  const offered = Object.hasOwn(VENUE_DEPTHS, exchange) ? VENUE_DEPTHS[exchange] : undefined;
  if (depth === undefined || !offered || offered.includes(depth)) return undefined;
  return `${exchange} streams books at ${offered.join(', ')} levels, not ${depth} (BOOK_DEPTH)`;
}
