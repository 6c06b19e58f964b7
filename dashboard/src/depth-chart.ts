import type { Level, LocalOrderBook } from '../../sdk/src/index.ts';
import { byId } from './dom.ts';
import type { FrameScheduler } from './frame.ts';

const BID = '#26a65b';
const ASK = '#d64541';

/** Cumulative size by price, bids left of the mid and asks right, drawn on one canvas per frame. */
export class DepthChartView {
  private book: LocalOrderBook | undefined;
  private readonly canvas = byId<HTMLCanvasElement>('depth-chart');
  private readonly render = () => this.paint();

  constructor(private readonly frames: FrameScheduler) {
    new ResizeObserver(() => this.frames.schedule(this.render)).observe(this.canvas);
  }

  update(book: LocalOrderBook | undefined): void {
    this.book = book;
    this.frames.schedule(this.render);
  }

  private paint(): void {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const book = this.book;
    canvas.dataset.seq = book ? String(book.seq) : '';
    if (!book || book.bids.length === 0 || book.asks.length === 0) {
      ctx.fillStyle = '#888';
      ctx.fillText('no book', 8, 16);
      return;
    }
    const bids = cumulative(book.bids);
    const asks = cumulative(book.asks);
    const low = bids.at(-1)![0];
    const high = asks.at(-1)![0];
    const top = Math.max(bids.at(-1)![1], asks.at(-1)![1]) * 1.05;
    const pad = { left: 4, right: 4, top: 14, bottom: 16 };
    const x = (price: number) =>
      pad.left + ((price - low) / (high - low || 1)) * (width - pad.left - pad.right);
    const y = (size: number) => height - pad.bottom - (size / (top || 1)) * (height - pad.top - pad.bottom);
    drawSide(ctx, bids, x, y, y(0), BID);
    drawSide(ctx, asks, x, y, y(0), ASK);
    ctx.fillStyle = '#999';
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'alphabetic';
    ctx.fillText(String(low), pad.left, height - 3);
    const right = String(high);
    ctx.fillText(right, width - pad.right - ctx.measureText(right).width, height - 3);
    ctx.fillText(`Σ ${top.toPrecision(4)}`, pad.left, 11);
  }
}

/** [price, cumulative size] from the best level outwards. */
function cumulative(levels: readonly Level[]): [number, number][] {
  let total = 0;
  return levels.map((l) => {
    total += Number(l.size);
    return [Number(l.price), total];
  });
}

function drawSide(
  ctx: CanvasRenderingContext2D,
  points: [number, number][],
  x: (price: number) => number,
  y: (size: number) => number,
  base: number,
  color: string,
): void {
  ctx.beginPath();
  ctx.moveTo(x(points[0]![0]), base);
  let lastY = base;
  for (const [price, size] of points) {
    ctx.lineTo(x(price), lastY);
    lastY = y(size);
    ctx.lineTo(x(price), lastY);
  }
  ctx.lineTo(x(points.at(-1)![0]), base);
  ctx.closePath();
  ctx.globalAlpha = 0.25;
  ctx.fillStyle = color;
  ctx.fill();
  ctx.globalAlpha = 1;
  ctx.strokeStyle = color;
  ctx.stroke();
}
