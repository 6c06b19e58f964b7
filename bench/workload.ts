/**
 * Deterministic synthetic book updates for the ingest benchmark: `books` books of ~`levels` levels
 * per side, then deltas that change exactly `k` distinct price levels each (size changes near the
 * top, some removals, some new levels), round-robin over the books. Same seed, same events.
 */
import { ticksToDecimal } from '../src/marketdata/decimal.ts';
import { createPrng } from '../src/marketdata/prng.ts';
import type { BookEvent, Level, Market } from '../src/marketdata/types.ts';

export const BENCH_EXCHANGE = 'bench';
const TICK = '0.01';
const LOT = '0.0001';

interface ModelBook {
  symbol: string;
  epoch: string;
  seq: number;
  /** tick -> lots */
  bids: Map<number, number>;
  asks: Map<number, number>;
}

export interface Workload {
  markets: Market[];
  /** The first `books` events are snapshots (seq 1), then deltas with exactly `k` levels each. */
  events: BookEvent[];
  /** The final top of every book as the generator holds it, for a check against Redis. */
  finalBooks: Map<string, { bids: Level[]; asks: Level[] }>;
}

function sortedLevels(levels: Map<number, number>, descending: boolean): Level[] {
  return [...levels.keys()]
    .sort(descending ? (a, b) => b - a : (a, b) => a - b)
    .map((t) => [ticksToDecimal(t, TICK), ticksToDecimal(levels.get(t)!, LOT)] as const);
}

export function generateWorkload(options: {
  seed: number;
  books: number;
  levels: number;
  k: number;
  deltas: number;
}): Workload {
  const random = createPrng(options.seed);
  const books: ModelBook[] = [];
  const markets: Market[] = [];
  const events: BookEvent[] = [];
  const lots = (depth: number) => 1 + Math.floor(random() * 50_000 * (1 + depth * 0.05));
  for (let b = 0; b < options.books; b++) {
    const symbol = `BK${b}/USDT`;
    markets.push({
      exchange: BENCH_EXCHANGE,
      symbol,
      base: `BK${b}`,
      quote: 'USDT',
      tickSize: TICK,
      lotSize: LOT,
      minAmount: LOT,
      active: true,
    });
    const mid = 10_000 * (b + 1);
    const book: ModelBook = {
      symbol,
      epoch: `bench-${options.seed}-${b}`,
      seq: 1,
      bids: new Map(),
      asks: new Map(),
    };
    let bid = mid - 1;
    let ask = mid + 1;
    for (let i = 0; i < options.levels; i++) {
      book.bids.set(bid, lots(i));
      book.asks.set(ask, lots(i));
      bid -= 1 + Math.floor(random() * 2);
      ask += 1 + Math.floor(random() * 2);
    }
    books.push(book);
    events.push({
      kind: 'snapshot',
      exchange: BENCH_EXCHANGE,
      symbol,
      region: 'bench',
      epoch: book.epoch,
      seq: 1,
      exchangeTs: 1_700_000_000_000,
      receiveTs: 1_700_000_000_000,
      bids: sortedLevels(book.bids, true),
      asks: sortedLevels(book.asks, false),
    });
  }
  for (let d = 0; d < options.deltas; d++) {
    const book = books[d % books.length]!;
    const touched = new Set<string>();
    const bids: Level[] = [];
    const asks: Level[] = [];
    const sortTicks = (isBid: boolean) =>
      [...(isBid ? book.bids : book.asks).keys()].sort(isBid ? (a, b) => b - a : (a, b) => a - b);
    const sorted = { bid: sortTicks(true), ask: sortTicks(false) };
    let guard = 0;
    while (touched.size < options.k && guard++ < 10_000) {
      const isBid = random() < 0.5;
      const levels = isBid ? book.bids : book.asks;
      const ticks = isBid ? sorted.bid : sorted.ask;
      let depth = 0;
      while (depth < ticks.length - 1 && random() > 0.25) depth++;
      const r = random();
      let tick: number;
      let size: number;
      // 70% size changes; otherwise a cancel or a new level, whichever brings the side back
      // towards `levels` levels (a coin flip when it has exactly that many).
      const cancel = ticks.length > options.levels || (ticks.length === options.levels && r < 0.85);
      if (r < 0.7) {
        tick = ticks[depth]!; // size change
        size = lots(depth);
      } else if (cancel) {
        tick = ticks[Math.max(1, depth)]!; // cancel (never the touch)
        size = 0;
      } else {
        // a new level next to the one at `depth`, on the far side (so the book neither crosses
        // nor drifts), or beyond the far end when that tick is taken
        const near = ticks[depth]! + (isBid ? -1 : 1);
        const far = ticks[ticks.length - 1]! + (isBid ? -1 : 1);
        tick = levels.has(near) ? far : near;
        size = lots(depth);
      }
      const key = `${isBid ? 'b' : 'a'}${tick}`;
      if (touched.has(key)) continue;
      touched.add(key);
      const structural = size === 0 || !levels.has(tick);
      if (size === 0) levels.delete(tick);
      else levels.set(tick, size);
      if (structural) {
        if (isBid) sorted.bid = sortTicks(true);
        else sorted.ask = sortTicks(false);
      }
      (isBid ? bids : asks).push([ticksToDecimal(tick, TICK), ticksToDecimal(size, LOT)]);
    }
    book.seq += 1;
    events.push({
      kind: 'delta',
      exchange: BENCH_EXCHANGE,
      symbol: book.symbol,
      region: 'bench',
      epoch: book.epoch,
      seq: book.seq,
      exchangeTs: 1_700_000_000_000 + d,
      receiveTs: 1_700_000_000_000 + d,
      bids,
      asks,
    });
  }
  const finalBooks = new Map<string, { bids: Level[]; asks: Level[] }>();
  for (const book of books) {
    finalBooks.set(book.symbol, {
      bids: sortedLevels(book.bids, true),
      asks: sortedLevels(book.asks, false),
    });
  }
  return { markets, events, finalBooks };
}
