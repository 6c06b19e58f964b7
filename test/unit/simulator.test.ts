import { describe, expect, it } from 'vitest';
import { parseDecimal } from '../../src/marketdata/decimal.ts';
import { normaliseBookUpdate, normaliseTrade } from '../../src/marketdata/normaliser.ts';
import { OrderBook } from '../../src/marketdata/order-book.ts';
import { MarketSimulator, SIM_SYMBOLS } from '../../src/marketdata/simulator.ts';
import { bookId, type Market } from '../../src/marketdata/types.ts';

const clock = () => 1_700_000_000_000;

/** Whether `value` is a whole multiple of `step`, exactly (both decimal strings). */
function isMultipleOf(value: string, step: string): boolean {
  const v = parseDecimal(value);
  const s = parseDecimal(step);
  const scale = Math.max(v.scale, s.scale);
  const units = v.units * 10n ** BigInt(scale - v.scale);
  const stepUnits = s.units * 10n ** BigInt(scale - s.scale);
  return units % stepUnits === 0n;
}

describe('MarketSimulator', () => {
  it('lists 3 venues x 4 symbols with ids sim1..sim3', () => {
    const markets = new MarketSimulator({ clock }).markets();
    expect(markets).toHaveLength(12);
    expect(new Set(markets.map((m) => m.exchange))).toEqual(new Set(['sim1', 'sim2', 'sim3']));
    expect(new Set(markets.map((m) => m.symbol))).toEqual(new Set(SIM_SYMBOLS));
    expect(SIM_SYMBOLS).toHaveLength(4);
    expect(new Set(markets.map((m) => bookId(m.exchange, m.symbol))).size).toBe(12);
    for (const m of markets) {
      expect(m.symbol).toBe(`${m.base}/${m.quote}`);
      expect(m.active).toBe(true);
      expect(isMultipleOf(m.minAmount, m.lotSize)).toBe(true);
    }
  });

  it('runs only the venues and symbols asked for, and refuses unknown venues', () => {
    const sim = new MarketSimulator({ clock, venues: ['sim2'], symbols: ['ETH/USDT'] });
    expect(sim.markets().map((m) => bookId(m.exchange, m.symbol))).toEqual(['sim2:ETH/USDT']);
    expect(() => new MarketSimulator({ venues: ['binance'] })).toThrow(/unknown simulated venue/);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = new MarketSimulator({ seed: 7, clock });
    const b = new MarketSimulator({ seed: 7, clock });
    const c = new MarketSimulator({ seed: 8, clock });
    let differs = false;
    for (let i = 0; i < 200; i++) {
      const ra = a.round();
      expect(b.round()).toEqual(ra);
      if (JSON.stringify(c.round()) !== JSON.stringify(ra)) differs = true;
    }
    expect(differs).toBe(true);
    expect(a.snapshot('sim1', 'BTC/USDT')).toEqual(b.snapshot('sim1', 'BTC/USDT'));
    expect(a.snapshot('sim9', 'BTC/USDT')).toBeUndefined();
  });

  it('yields one snapshot per book first, then deltas', () => {
    const sim = new MarketSimulator({ clock });
    const first = sim.round();
    expect(first.books).toHaveLength(12);
    expect(first.books.every((u) => u.kind === 'snapshot')).toBe(true);
    expect(first.trades).toEqual([]);
    expect(first.books.every((u) => u.exchangeTs === clock() && u.receiveTs === clock())).toBe(true);
    const second = sim.round();
    expect(second.books.map((u) => u.kind)).toEqual(new Array(12).fill('delta'));
  });

  it('keeps every book deep, uncrossed, on its grid, with trades at the touch, over 2,000 rounds', () => {
    const sim = new MarketSimulator({ seed: 1234, clock });
    const markets = new Map<string, Market>(sim.markets().map((m) => [bookId(m.exchange, m.symbol), m]));
    const books = new Map<string, OrderBook>();
    // Plain checks collected per round: an expect() per level would make this test slow.
    const problems: string[] = [];
    const check = (ok: boolean, problem: () => string) => {
      if (!ok) problems.push(problem());
    };
    let trades = 0;
    for (let round = 0; round < 2_000 && problems.length === 0; round++) {
      const { books: updates, trades: roundTrades } = sim.round();
      for (const update of updates) {
        const id = bookId(update.exchange, update.symbol);
        const market = markets.get(id)!;
        // Simulator output is already canonical: the normaliser changes nothing.
        const normalised = normaliseBookUpdate(update);
        check(JSON.stringify(normalised) === JSON.stringify(update), () => `${id} not canonical at ${round}`);
        for (const [price, size] of [...update.bids, ...update.asks]) {
          check(isMultipleOf(price, market.tickSize), () => `${id} price ${price} off the tick grid`);
          check(isMultipleOf(size, market.lotSize), () => `${id} size ${size} not whole lots`);
          check(parseDecimal(price).units > 0n, () => `${id} price ${price} not positive`);
        }
        if (update.kind === 'snapshot') {
          check(!books.has(id), () => `${id} second snapshot at round ${round}`);
          books.set(id, OrderBook.from(update.bids, update.asks));
        } else {
          books.get(id)!.apply(update.bids, update.asks);
        }
        const book = books.get(id)!;
        check(book.bids.entries.length >= 50, () => `${id} ${book.bids.entries.length} bids at ${round}`);
        check(book.asks.entries.length >= 50, () => `${id} ${book.asks.entries.length} asks at ${round}`);
        const bid = Number(book.bestBid?.[0]);
        const ask = Number(book.bestAsk?.[0]);
        check(bid < ask, () => `${id} crossed or empty at round ${round}: ${bid} / ${ask}`);
      }
      for (const trade of roundTrades) {
        trades += 1;
        const id = bookId(trade.exchange, trade.symbol);
        const market = markets.get(id)!;
        const book = books.get(id)!;
        check(
          JSON.stringify(normaliseTrade(trade)) === JSON.stringify(trade),
          () => `${id} trade not canonical`,
        );
        const touch = trade.side === 'buy' ? book.bestAsk : book.bestBid;
        check(trade.price === touch?.[0], () => `${id} ${trade.side} at ${trade.price}, touch ${touch?.[0]}`);
        check(isMultipleOf(trade.amount, market.lotSize), () => `${id} trade amount ${trade.amount}`);
        check(parseDecimal(trade.amount).units > 0n, () => `${id} empty trade`);
      }
    }
    expect(problems.slice(0, 10)).toEqual([]);
    expect(books.size).toBe(12);
    // About one book in four trades each round.
    expect(trades).toBeGreaterThan(2_000);
  });

  it('resynchronising snapshot equals the book built from the deltas', () => {
    const sim = new MarketSimulator({ seed: 99, clock, venues: ['sim3'], symbols: ['KITE/USDT'] });
    const book = new OrderBook();
    for (let i = 0; i < 300; i++) {
      const [update] = sim.round().books;
      if (update!.kind === 'snapshot') book.replace(update!.bids, update!.asks);
      else book.apply(update!.bids, update!.asks);
    }
    const snap = sim.snapshot('sim3', 'KITE/USDT')!;
    expect(snap.kind).toBe('snapshot');
    expect(book.top(10_000)).toEqual({ bids: snap.bids, asks: snap.asks });
  });
});

describe('the simulator behind schedule', () => {
  it('emits at most one second of rounds in one tick after a stall, never the whole backlog', async () => {
    const sim = new MarketSimulator({
      clock,
      venues: ['sim1'],
      symbols: ['BTC/USDT'],
      updatesPerSecond: 100,
    });
    let books = 0;
    await sim.start({
      book: () => {
        books += 1;
      },
      trade: () => {},
      health: () => {},
    });
    try {
      // The process stalls for 3 s (a starved machine): 300 rounds fall due.
      const stallUntil = performance.now() + 3_000;
      while (performance.now() < stallUntil) {}
      const before = books;
      // The simulator's timer, due long ago, runs before this one: its catch-up is one tick.
      await new Promise((r) => setTimeout(r, 0));
      const burst = books - before;
      expect(burst).toBeGreaterThan(0);
      expect(burst).toBeLessThanOrEqual(100);
    } finally {
      await sim.stop();
    }
  });
});
