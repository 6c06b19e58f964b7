import type { Feed, FeedSink } from '../../src/marketdata/feed.ts';
import { MarketSimulator } from '../../src/marketdata/simulator.ts';

/** The simulator, stepped by the test instead of a timer. */
export class SteppedFeed implements Feed {
  readonly name = 'stepped';
  readonly sim = new MarketSimulator({ seed: 7, venues: ['sim1'], symbols: ['BTC/USDT'] });
  /** Snapshots the ingester asked for. */
  snapshotsAsked = 0;
  private sink: FeedSink | undefined;
  markets() {
    return this.sim.markets();
  }
  async start(sink: FeedSink) {
    this.sink = sink;
  }
  async stop() {}
  snapshot(exchange: string, symbol: string) {
    this.snapshotsAsked += 1;
    return this.sim.snapshot(exchange, symbol);
  }
  /** `rounds` rounds of book updates; with `trades`, their trades too. */
  step(rounds: number, { trades = false } = {}) {
    for (let i = 0; i < rounds; i++) {
      const round = this.sim.round();
      for (const update of round.books) this.sink!.book(update);
      if (trades) for (const trade of round.trades) this.sink!.trade(trade);
    }
  }
}
