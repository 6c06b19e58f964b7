/**
 * Dashboard: every market of one exchange with its book top and ticker, as a table.
 *
 *   npm start                          # in another terminal
 *   npx tsx examples/dashboard.ts [--url http://127.0.0.1:4000/graphql] [--exchange sim1]
 *
 * In your own project, import from '@bookgraph/sdk' instead of '../sdk/src/index.ts'.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  BookgraphError,
  createBookgraphClient,
  MarketsDocument,
  OrderBookDocument,
  TickersDocument,
} from '../sdk/src/index.ts';

export interface DashboardOptions {
  /** @default 'http://127.0.0.1:4000/graphql' */
  url?: string;
  /** @default 'sim1' */
  exchange?: string;
  /** Book levels summed into the depth columns. @default 10 */
  depth?: number;
  token?: string;
  /** How long one request may take before it fails with NETWORK_ERROR. @default the SDK's 10 s */
  timeoutMs?: number;
  /** Where lines go. @default console.log */
  print?: (line: string) => void;
}

export interface DashboardRow {
  symbol: string;
  bid: string;
  ask: string;
  spread: string;
  bidLevels: number;
  askLevels: number;
  last: string;
  stale: boolean;
}

/** Queries markets, tickers and books of an exchange, prints the table and returns its rows. */
export async function main(options: DashboardOptions = {}): Promise<DashboardRow[]> {
  const print = options.print ?? console.log;
  const exchange = options.exchange ?? 'sim1';
  const depth = options.depth ?? 10;
  const client = createBookgraphClient({
    url: options.url ?? 'http://127.0.0.1:4000/graphql',
    ...(options.token ? { token: options.token } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  try {
    const [{ region, markets }, { tickers }] = await Promise.all([
      client.query(MarketsDocument, { exchange }),
      client.query(TickersDocument, { exchange }),
    ]);
    const books = await Promise.all(
      markets.map((m) => client.query(OrderBookDocument, { exchange, symbol: m.symbol, depth })),
    );
    const rows = markets.map((market, i): DashboardRow => {
      const ticker = tickers.find((t) => t.symbol === market.symbol);
      const book = books[i]!.orderBook;
      return {
        symbol: market.symbol,
        bid: ticker?.bestBid?.price ?? '-',
        ask: ticker?.bestAsk?.price ?? '-',
        spread: ticker?.spread ?? '-',
        bidLevels: book.bids.length,
        askLevels: book.asks.length,
        last: ticker?.lastTrade
          ? `${ticker.lastTrade.side} ${ticker.lastTrade.amount} @ ${ticker.lastTrade.price}`
          : '-',
        stale: ticker?.stale ?? true,
      };
    });
    print(`${exchange} in region ${region}: ${markets.length} markets`);
    for (const line of table(rows)) print(line);
    return rows;
  } finally {
    await client.dispose();
  }
}

function table(rows: readonly DashboardRow[]): string[] {
  const header = ['symbol', 'bid', 'ask', 'spread', 'levels', 'last trade', 'stale'];
  const cells = rows.map((r) => [
    r.symbol,
    r.bid,
    r.ask,
    r.spread,
    `${r.bidLevels}/${r.askLevels}`,
    r.last,
    r.stale ? 'yes' : 'no',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { url: { type: 'string' }, exchange: { type: 'string' } } });
  main(values).catch((error: unknown) => {
    console.error(BookgraphError.is(error) ? `${error.code}: ${error.message}` : error);
    process.exitCode = 1;
  });
}
