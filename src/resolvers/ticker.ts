import type { Level } from '../marketdata/types.ts';
import type { LastTrade } from '../redis/book-store.ts';
import type { ResolverDeps } from './deps.ts';
import { markets } from './markets.ts';
import { orderBook } from './orderbook.ts';

export interface TickerState {
  exchange: string;
  symbol: string;
  bestBid: Level | undefined;
  bestAsk: Level | undefined;
  lastTrade: LastTrade | null;
  seq: number;
  receiveTs: number;
  stale: boolean;
}

export async function ticker(
  deps: ResolverDeps,
  args: { exchange: string; symbol: string },
): Promise<TickerState> {
  const [book, lastTrade] = await Promise.all([
    orderBook(deps, { ...args, depth: 1 }),
    deps.store.readLastTrade(args.exchange, args.symbol),
  ]);
  return {
    exchange: book.exchange,
    symbol: book.symbol,
    bestBid: book.bids[0],
    bestAsk: book.asks[0],
    lastTrade,
    seq: book.seq,
    receiveTs: book.receiveTs,
    stale: book.stale,
  };
}

export async function tickers(deps: ResolverDeps, args: { exchange: string }): Promise<TickerState[]> {
  const list = await markets(deps, args);
  return Promise.all(list.map((m) => ticker(deps, { exchange: m.exchange, symbol: m.symbol })));
}
