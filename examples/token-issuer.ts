/**
 * Token issuer's view: one token's book merged across every venue that lists it, with spread,
 * depth and liquidity as they change.
 *
 *   npm start                          # in another terminal
 *   npx tsx examples/token-issuer.ts [--url …] [--symbol KITE/USDT] [--transport ws|sse] [--updates 50]
 *
 * The merged book comes from the API itself (`Subscription.consolidatedBook`, followed by the
 * SDK's `watchConsolidatedBook`): levels with the venues quoting them, the best bid and ask
 * across venues, a `crossed` flag when one venue's bid is above another's ask, stale venues, and
 * the liquidity analytics (depth within ±0.5/1/2 % of mid, spread in bps, imbalance, each
 * venue's share of the depth). Prices and sizes stay exact decimal strings.
 *
 * In your own project, import from '@bookgraph/sdk' instead of '../sdk/src/index.ts'.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  BookgraphError,
  type ConsolidatedLevel,
  createBookgraphClient,
  type LocalConsolidatedBook,
  type SubscriptionTransportName,
  sumDecimals,
  watchConsolidatedBook,
} from '../sdk/src/index.ts';

export interface TokenIssuerOptions {
  /** @default 'http://127.0.0.1:4000/graphql' */
  url?: string;
  /** @default 'KITE/USDT' */
  symbol?: string;
  /** Venues merged. @default every venue of the region listing the symbol */
  venues?: readonly string[];
  /** Levels per side of the merged book, summed into depth. @default 10 */
  depth?: number;
  /** At most one merged book per this many ms. @default 100 */
  throttleMs?: number;
  /** The liquidity band printed, in % of mid: '0.5', '1' or '2'. @default '1' */
  band?: string;
  /** @default 'ws' */
  transport?: SubscriptionTransportName;
  /** An API key with `marketdata:read` (not needed where anonymous market data is allowed). */
  token?: string;
  /** Stop after printing this many changes. @default unlimited */
  updates?: number;
  /** Stop after this long. @default unlimited */
  durationMs?: number;
  signal?: AbortSignal;
  /** @default console.log */
  print?: (line: string) => void;
}

/** What one printed line shows. */
export interface ConsolidatedLine {
  bid: string;
  bidVenues: string[];
  ask: string;
  askVenues: string[];
  spread: string;
  spreadBps: string;
  bidDepth: string;
  askDepth: string;
  band: string;
  bandBid: string;
  bandAsk: string;
  imbalance: string;
  crossed: boolean;
  staleVenues: string[];
}

const venuesOf = (level: ConsolidatedLevel | null) => level?.venues.map((v) => v.exchange) ?? [];

export function summarise(book: LocalConsolidatedBook, band = '1'): ConsolidatedLine {
  const figures = book.liquidity.consolidated;
  const inBand = figures.bands.find((b) => b.percent === band);
  return {
    bid: book.bestBid?.price ?? '-',
    bidVenues: venuesOf(book.bestBid),
    ask: book.bestAsk?.price ?? '-',
    askVenues: venuesOf(book.bestAsk),
    spread: book.spread ?? '-',
    spreadBps: figures.spreadBps ?? '-',
    bidDepth: sumDecimals(book.bids.map((l) => l.size)),
    askDepth: sumDecimals(book.asks.map((l) => l.size)),
    band,
    bandBid: inBand?.bidBase ?? '-',
    bandAsk: inBand?.askBase ?? '-',
    imbalance: inBand?.imbalance ?? '-',
    crossed: book.crossed,
    staleVenues: book.staleVenues,
  };
}

export const formatLine = (l: ConsolidatedLine) =>
  `bid ${l.bid} (${l.bidVenues.join('+')}) ask ${l.ask} (${l.askVenues.join('+')}) spread ${l.spread} (${l.spreadBps} bps)` +
  `  depth ${l.bidDepth} / ${l.askDepth}  ±${l.band}% ${l.bandBid} / ${l.bandAsk} imbalance ${l.imbalance}` +
  `${l.crossed ? '  CROSSED' : ''}${l.staleVenues.length > 0 ? `  STALE ${l.staleVenues.join(',')}` : ''}`;

export interface TokenIssuerResult {
  /** The last merged book seen. */
  book: LocalConsolidatedBook;
  /** The last line printed. */
  line: ConsolidatedLine;
  printed: number;
}

/**
 * Watches the token's consolidated book and prints a line whenever its spread, depth, band depth,
 * crossed flag or stale venues change, then each venue's share of the band's depth; ends after
 * `updates` lines, `durationMs`, or the signal.
 */
export async function main(options: TokenIssuerOptions = {}): Promise<TokenIssuerResult> {
  const print = options.print ?? console.log;
  const symbol = options.symbol ?? 'KITE/USDT';
  const depth = options.depth ?? 10;
  const band = options.band ?? '1';
  const client = createBookgraphClient({
    url: options.url ?? 'http://127.0.0.1:4000/graphql',
    transport: options.transport ?? 'ws',
    ...(options.token ? { token: options.token } : {}),
  });
  const stop = new AbortController();
  const timer = options.durationMs ? setTimeout(() => stop.abort(), options.durationMs) : undefined;
  options.signal?.addEventListener('abort', () => stop.abort(), { once: true });
  const watch = watchConsolidatedBook(client, {
    symbol,
    depth,
    throttleMs: options.throttleMs ?? 100,
    ...(options.venues ? { exchanges: options.venues } : {}),
  });
  let printed = 0;
  let last: ConsolidatedLine | undefined;
  let lastBook: LocalConsolidatedBook | undefined;
  let failure: unknown;
  try {
    watch.on('change', (book, change) => {
      if (stop.signal.aborted) return;
      if (!lastBook) {
        print(
          `${symbol} on ${book.venues.map((v) => v.exchange).join(', ')}, top ${depth} levels merged (depth = bid size / ask size)`,
        );
      }
      for (const venue of change.becameStale) print(`${venue} turned stale (still merged)`);
      for (const venue of change.becameUnavailable) print(`${venue} left the merge (no book)`);
      const line = summarise(book, band);
      const text = formatLine(line);
      const changed = !last || formatLine(last) !== text;
      lastBook = book;
      if (!changed) return;
      last = line;
      print(text);
      printed += 1;
      if (options.updates !== undefined && printed >= options.updates) stop.abort();
    });
    watch.on('error', (error) => {
      failure = error;
      stop.abort();
    });
    await new Promise<void>((resolve) => {
      if (stop.signal.aborted) resolve();
      else stop.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    if (failure) throw failure;
    if (!lastBook || !last) throw new Error(`no consolidated book of ${symbol} arrived`);
    const shares = lastBook.liquidity.venues.map((v) => {
      const share = v.shares.find((s) => s.percent === band)?.share ?? '-';
      return `${v.exchange} ${share}`;
    });
    print(`share of ±${band}% depth: ${shares.join(', ')}`);
    return { book: lastBook, line: last, printed };
  } finally {
    clearTimeout(timer);
    await watch.close();
    await client.dispose();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      symbol: { type: 'string' },
      transport: { type: 'string' },
      updates: { type: 'string' },
      token: { type: 'string' },
    },
  });
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  const token = values.token ?? process.env.BOOKGRAPH_TOKEN;
  main({
    ...(values.url ? { url: values.url } : {}),
    ...(values.symbol ? { symbol: values.symbol } : {}),
    ...(token ? { token } : {}),
    transport: values.transport === 'sse' ? 'sse' : 'ws',
    ...(values.updates ? { updates: Number(values.updates) } : {}),
    signal: stop.signal,
  }).catch((error: unknown) => {
    console.error(BookgraphError.is(error) ? `${error.code}: ${error.message}` : error);
    process.exitCode = 1;
  });
}
