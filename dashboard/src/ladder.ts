import type { Level, LocalOrderBook } from '../../sdk/src/index.ts';
import { byId, el, setText, short } from './dom.ts';
import type { FrameScheduler } from './frame.ts';

type Side = 'bid' | 'ask';

const FLASH_UP = 'rgba(38, 166, 91, 0.3)';
const FLASH_DOWN = 'rgba(214, 69, 65, 0.3)';

interface Row {
  node: HTMLDivElement;
  bar: HTMLSpanElement;
  price: HTMLSpanElement;
  size: HTMLSpanElement;
  total: HTMLSpanElement;
}

/**
 * The live ladder of one venue's book: asks above (best at the bottom), bids below, each level
 * with a bar as long as its size against the largest shown, and a flash on levels whose size
 * changed since the last frame (green grew or new, red shrank).
 */
export class LadderView {
  private book: LocalOrderBook | undefined;
  private depth = 20;
  private readonly previous = { bid: new Map<string, string>(), ask: new Map<string, string>() };
  private readonly rows: { bid: Row[]; ask: Row[] } = { bid: [], ask: [] };
  private readonly root = byId('ladder');
  private readonly spread = el('div', { class: 'spread' });
  private readonly render = () => this.paint();

  constructor(private readonly frames: FrameScheduler) {}

  /** A new market or depth: empties the ladder until its first book. */
  reset(depth: number): void {
    this.depth = depth;
    this.book = undefined;
    this.previous.bid.clear();
    this.previous.ask.clear();
    const make = (side: Side) =>
      Array.from({ length: depth }, () => {
        const bar = el('span', { class: 'bar' });
        const price = el('span', { class: 'price' });
        const size = el('span', { class: 'size' });
        const total = el('span', { class: 'total' });
        const node = el('div', { class: `level ${side}`, data: { side } }, bar, price, size, total);
        return { node, bar, price, size, total };
      });
    this.rows.bid = make('bid');
    this.rows.ask = make('ask');
    const header = el(
      'div',
      { class: 'level head' },
      el('span'),
      el('span', { text: 'price' }),
      el('span', { text: 'size' }),
      el('span', { text: 'total' }),
    );
    this.root.replaceChildren(
      header,
      ...[...this.rows.ask].reverse().map((r) => r.node),
      this.spread,
      ...this.rows.bid.map((r) => r.node),
    );
    delete this.root.dataset.seq;
    this.frames.schedule(this.render);
  }

  update(book: LocalOrderBook | undefined): void {
    this.book = book;
    this.frames.schedule(this.render);
  }

  private paint(): void {
    const book = this.book;
    const root = this.root;
    root.dataset.empty = String(!book);
    if (!book) {
      delete root.dataset.seq;
      setText(this.spread, 'no book (waiting for a snapshot)');
      for (const side of ['bid', 'ask'] as const) this.paintSide(side, []);
      return;
    }
    root.dataset.seq = String(book.seq);
    root.dataset.epoch = book.epoch;
    root.dataset.stale = String(book.stale);
    const max = Math.max(0, ...[...book.bids, ...book.asks].map((l) => Number(l.size)));
    this.paintSide('bid', book.bids, max);
    this.paintSide('ask', book.asks, max);
    const bid = book.bids[0]?.price;
    const ask = book.asks[0]?.price;
    setText(
      this.spread,
      bid && ask
        ? `spread ${short(String(Number(ask) - Number(bid)), 8)} · seq ${book.seq}${book.stale ? ' · STALE' : ''}`
        : `seq ${book.seq}`,
    );
    setText(byId('ladder-meta'), `${book.exchange} ${book.symbol} · depth ${this.depth}`);
  }

  private paintSide(side: Side, levels: readonly Level[], max = 0): void {
    const previous = this.previous[side];
    const seen = new Map<string, string>();
    let total = 0;
    this.rows[side].forEach((row, i) => {
      const level = levels[i];
      if (!level) {
        row.node.hidden = true;
        delete row.node.dataset.price;
        return;
      }
      row.node.hidden = false;
      total += Number(level.size);
      seen.set(level.price, level.size);
      row.node.dataset.price = level.price;
      row.node.dataset.size = level.size;
      setText(row.price, level.price);
      setText(row.size, level.size);
      setText(row.total, short(String(total)));
      row.bar.style.width = `${max > 0 ? (100 * Number(level.size)) / max : 0}%`;
      const before = previous.get(level.price);
      if (before !== level.size && previous.size > 0) {
        const grew = before === undefined || Number(level.size) > Number(before);
        row.node.dataset.changed = grew ? 'up' : 'down';
        // A compositor animation: no forced layout, a newer change simply replaces it.
        row.node.animate(
          [{ backgroundColor: grew ? FLASH_UP : FLASH_DOWN }, { backgroundColor: 'transparent' }],
          {
            duration: 500,
            easing: 'ease-out',
          },
        );
      }
    });
    this.previous[side] = seen;
  }
}
