import {
  CandlestickSeries,
  ColorType,
  createChart,
  type IChartApi,
  type ISeriesApi,
  type UTCTimestamp,
} from 'lightweight-charts';
import type { CandleFieldsFragment, CandleInterval } from '../../sdk/src/index.ts';
import { byId, el, setText, short } from './dom.ts';
import type { FrameScheduler } from './frame.ts';

export const INTERVALS: readonly { interval: CandleInterval; label: string; ms: number }[] = [
  { interval: 'ONE_MINUTE', label: '1m', ms: 60_000 },
  { interval: 'FIVE_MINUTES', label: '5m', ms: 300_000 },
  { interval: 'ONE_HOUR', label: '1h', ms: 3_600_000 },
];

const bar = (c: CandleFieldsFragment) => ({
  time: Math.floor(Number(c.start) / 1000) as UTCTimestamp,
  open: Number(c.open),
  high: Number(c.high),
  low: Number(c.low),
  close: Number(c.close),
});

/**
 * Candles of the selected market (TradingView's lightweight-charts): the history from
 * `Query.candles`, then `Subscription.candles` moves the live (last, open) candle and starts new ones.
 */
export class CandlesView {
  private readonly chart: IChartApi;
  private readonly series: ISeriesApi<'Candlestick'>;
  /** Updates of the live candle(s) since the last frame, by start time: only the latest matters. */
  private pending = new Map<number, CandleFieldsFragment>();
  private live: CandleFieldsFragment | undefined;
  private lastTime = 0;
  private readonly render = () => this.paint();

  constructor(
    private readonly frames: FrameScheduler,
    onInterval: (interval: CandleInterval) => void,
  ) {
    const box = byId('candles');
    this.chart = createChart(box, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: 'transparent' }, textColor: '#aab' },
      grid: { vertLines: { color: '#223' }, horzLines: { color: '#223' } },
      timeScale: { timeVisible: true, secondsVisible: false },
    });
    this.series = this.chart.addSeries(CandlestickSeries, {
      upColor: '#26a65b',
      downColor: '#d64541',
      wickUpColor: '#26a65b',
      wickDownColor: '#d64541',
      borderVisible: false,
    });
    byId('candle-intervals').replaceChildren(
      ...INTERVALS.map(({ interval, label }) => {
        const button = el('button', { text: label, data: { interval } });
        button.type = 'button';
        button.addEventListener('click', () => onInterval(interval));
        return button;
      }),
    );
  }

  reset(interval: CandleInterval, history: readonly CandleFieldsFragment[]): void {
    for (const button of byId('candle-intervals').querySelectorAll('button')) {
      button.setAttribute('aria-pressed', String(button.dataset.interval === interval));
    }
    this.pending.clear();
    const bars = history.map(bar).sort((a, b) => a.time - b.time);
    this.series.setData(bars);
    this.lastTime = bars.at(-1)?.time ?? 0;
    this.live = history.at(-1);
    byId('candles').dataset.count = String(bars.length);
    this.frames.schedule(this.render);
  }

  update(candle: CandleFieldsFragment): void {
    this.pending.set(Number(candle.start), candle);
    this.frames.schedule(this.render);
  }

  private paint(): void {
    for (const candle of [...this.pending.values()].sort((a, b) => Number(a.start) - Number(b.start))) {
      const next = bar(candle);
      // The chart accepts the last bar or a newer one; an older one would throw.
      if (next.time < this.lastTime) continue;
      this.series.update(next);
      this.lastTime = next.time;
      this.live = candle;
    }
    this.pending.clear();
    const live = this.live;
    const box = byId('candles');
    box.dataset.live = live ? String(live.start) : '';
    setText(
      byId('candle-live'),
      live
        ? `live: O ${short(live.open)} H ${short(live.high)} L ${short(live.low)} C ${short(live.close)} · ${live.trades} trades`
        : 'no trades yet',
    );
  }
}
