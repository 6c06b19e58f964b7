/**
 * Token issuer's view: one token's live book on every venue, with spread and depth as they change.
 *
 *   npm start                          # in another terminal
 *   npx tsx examples/token-issuer.ts [--url …] [--symbol KITE/USDT] [--transport ws|sse] [--updates 50]
 *
 * Each venue is a local book kept by the SDK (`watchOrderBook`): a SNAPSHOT then DELTAs applied
 * with exact decimals, repaired by itself after any gap or restart.
 *
 * Later: the consolidated (cross-venue) book and liquidity analytics will come from the API
 * itself; this example then swaps its per-venue loop for that subscription. Until then it only
 * compares venues side by side and does no cross-venue arithmetic beyond the best bid and ask.
 *
 * In your own project, import from '@bookgraph/sdk' instead of '../sdk/src/index.ts'.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  BookgraphError,
  compareDecimal,
  createBookgraphClient,
  type LocalOrderBook,
  type SubscriptionTransportName,
  subtractDecimal,
  sumDecimals,
  watchOrderBook,
} from '../sdk/src/index.ts';

export interface TokenIssuerOptions {
  /** @default 'http://127.0.0.1:4000/graphql' */
  url?: string;
  /** @default 'KITE/USDT' */
  symbol?: string;
  /** @default ['sim1', 'sim2', 'sim3'] */
  venues?: readonly string[];
  /** Levels per side watched and summed into depth. @default 10 */
  depth?: number;
  /** @default 'ws' */
  transport?: SubscriptionTransportName;
  token?: string;
  /** Stop after printing this many changes. @default unlimited */
  updates?: number;
  /** Stop after this long. @default unlimited */
  durationMs?: number;
  signal?: AbortSignal;
  /** @default console.log */
  print?: (line: string) => void;
}

/** What one venue's line shows. */
export interface VenueLine {
  venue: string;
  bid: string;
  ask: string;
  spread: string;
  bidDepth: string;
  askDepth: string;
  epoch: string;
  seq: number;
  stale: boolean;
}

export function summarise(venue: string, book: LocalOrderBook): VenueLine {
  const bid = book.bids[0]?.price;
  const ask = book.asks[0]?.price;
  return {
    venue,
    bid: bid ?? '-',
    ask: ask ?? '-',
    spread: bid && ask ? subtractDecimal(ask, bid) : '-',
    bidDepth: sumDecimals(book.bids.map((l) => l.size)),
    askDepth: sumDecimals(book.asks.map((l) => l.size)),
    epoch: book.epoch,
    seq: book.seq,
    stale: book.stale,
  };
}

const format = (l: VenueLine) =>
  `${l.venue.padEnd(5)} seq ${String(l.seq).padStart(6)}  bid ${l.bid} ask ${l.ask} spread ${l.spread}  depth ${l.bidDepth} / ${l.askDepth}${l.stale ? '  STALE' : ''}`;

/**
 * Watches the token on every venue and prints a line whenever a venue's spread or depth changes,
 * then the best venues; ends after `updates` lines, `durationMs`, or the signal. Returns the last
 * line of each venue.
 */
export async function main(options: TokenIssuerOptions = {}): Promise<Map<string, VenueLine>> {
  const print = options.print ?? console.log;
  const symbol = options.symbol ?? 'KITE/USDT';
  const venues = options.venues ?? ['sim1', 'sim2', 'sim3'];
  const depth = options.depth ?? 10;
  const client = createBookgraphClient({
    url: options.url ?? 'http://127.0.0.1:4000/graphql',
    transport: options.transport ?? 'ws',
    ...(options.token ? { token: options.token } : {}),
  });
  const latest = new Map<string, VenueLine>();
  const stop = new AbortController();
  const timer = options.durationMs ? setTimeout(() => stop.abort(), options.durationMs) : undefined;
  options.signal?.addEventListener('abort', () => stop.abort(), { once: true });
  const watches = venues.map((venue) => watchOrderBook(client, { exchange: venue, symbol, depth }));
  let printed = 0;
  let failure: unknown;
  try {
    print(`${symbol} on ${venues.join(', ')}, top ${depth} levels (depth = bid size / ask size)`);
    watches.forEach((watch, i) => {
      const venue = venues[i]!;
      watch.on('change', (book) => {
        const line = summarise(venue, book);
        const before = latest.get(venue);
        latest.set(venue, line);
        const changed =
          !before ||
          before.spread !== line.spread ||
          before.bidDepth !== line.bidDepth ||
          before.askDepth !== line.askDepth;
        if (!changed || stop.signal.aborted) return;
        print(format(line));
        printed += 1;
        if (options.updates !== undefined && printed >= options.updates) stop.abort();
      });
      watch.on('reset', (reason) =>
        print(`${venue.padEnd(5)} book dropped (${reason}), waiting for a snapshot`),
      );
      watch.on('error', (error) => {
        failure = error;
        stop.abort();
      });
    });
    await new Promise<void>((resolve) => {
      if (stop.signal.aborted) resolve();
      else stop.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    if (failure) throw failure;
    const lines = [...latest.values()];
    const bestBid = lines.filter((l) => l.bid !== '-').sort((a, b) => compareDecimal(b.bid, a.bid))[0];
    const bestAsk = lines.filter((l) => l.ask !== '-').sort((a, b) => compareDecimal(a.ask, b.ask))[0];
    if (bestBid && bestAsk) {
      print(`best bid ${bestBid.bid} on ${bestBid.venue}, best ask ${bestAsk.ask} on ${bestAsk.venue}`);
    }
    return latest;
  } finally {
    clearTimeout(timer);
    await Promise.all(watches.map((w) => w.close()));
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
    },
  });
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  main({
    ...(values.url ? { url: values.url } : {}),
    ...(values.symbol ? { symbol: values.symbol } : {}),
    transport: values.transport === 'sse' ? 'sse' : 'ws',
    ...(values.updates ? { updates: Number(values.updates) } : {}),
    signal: stop.signal,
  }).catch((error: unknown) => {
    console.error(BookgraphError.is(error) ? `${error.code}: ${error.message}` : error);
    process.exitCode = 1;
  });
}
