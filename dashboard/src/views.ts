import type { CandleInterval } from '../../sdk/src/index.ts';
import { CandlesView } from './candles.ts';
import { ConsolidatedView } from './consolidated.ts';
import { DepthChartView } from './depth-chart.ts';
import { FeedsView } from './feeds.ts';
import { FrameScheduler } from './frame.ts';
import { LadderView } from './ladder.ts';
import { LiquidityView } from './liquidity.ts';
import { StatusView } from './status.ts';
import { TradesView } from './trades.ts';

/** Counters the benchmark and the tests read (`window.bookgraphDashboard.stats`). */
export interface DashboardStats {
  /** Book messages applied (SNAPSHOT and DELTA) by the local-book client. */
  updates: number;
  /** Books dropped, by reason: CLIENT_GAP would mean the page lost an update. */
  resets: Record<string, number>;
}

export interface Views {
  frames: FrameScheduler;
  status: StatusView;
  ladder: LadderView;
  depth: DepthChartView;
  trades: TradesView;
  candles: CandlesView;
  consolidated: ConsolidatedView;
  liquidity: LiquidityView;
  feeds: FeedsView;
  stats: DashboardStats;
}

export function createViews(onInterval: (interval: CandleInterval) => void): Views {
  const frames = new FrameScheduler();
  return {
    frames,
    status: new StatusView(frames),
    ladder: new LadderView(frames),
    depth: new DepthChartView(frames),
    trades: new TradesView(frames),
    candles: new CandlesView(frames, onInterval),
    consolidated: new ConsolidatedView(frames),
    liquidity: new LiquidityView(frames),
    feeds: new FeedsView(frames),
    stats: { updates: 0, resets: {} },
  };
}
