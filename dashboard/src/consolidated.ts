import type { ConsolidatedLevel, LocalConsolidatedBook } from '../../sdk/src/index.ts';
import { byId, el, resizeRows, setText, short, table } from './dom.ts';
import type { FrameScheduler } from './frame.ts';

/** A stable colour per venue, so attribution reads the same in every row. */
const PALETTE = ['#4e9af1', '#f1a94e', '#b36ef1', '#4ef1c8', '#f14e8c', '#c8f14e'];
export function venueColor(venue: string, venues: readonly string[]): string {
  const i = venues.indexOf(venue);
  return PALETTE[(i < 0 ? venues.length : i) % PALETTE.length]!;
}

/**
 * The symbol merged across venues: each level's total and who quotes it (a stacked bar and the
 * venues' sizes), each venue's seq and staleness, and a warning while the book is crossed.
 */
export class ConsolidatedView {
  private book: LocalConsolidatedBook | undefined;
  private error = '';
  private readonly bids = table(['bid', 'size', 'venues']);
  private readonly asks = table(['ask', 'size', 'venues']);
  private readonly venues = el('ul', { class: 'venues' });
  private readonly render = () => this.paint();

  constructor(private readonly frames: FrameScheduler) {
    byId('consolidated').replaceChildren(
      this.venues,
      el('div', { class: 'sides' }, this.bids.table, this.asks.table),
    );
  }

  update(book: LocalConsolidatedBook | undefined, error = ''): void {
    this.book = book;
    this.error = error;
    this.frames.schedule(this.render);
  }

  private paint(): void {
    const book = this.book;
    const crossed = byId('crossed');
    crossed.hidden = !book?.crossed;
    if (book?.crossed) {
      setText(
        crossed,
        `CROSSED: best bid ${book.bestBid?.price} (${names(book.bestBid)}) is at or above best ask ${book.bestAsk?.price} (${names(book.bestAsk)})`,
      );
    }
    const root = byId('consolidated');
    root.dataset.symbol = book?.symbol ?? '';
    if (!book) {
      setText(byId('consolidated-meta'), this.error || 'waiting');
      resizeRows(this.bids.body, 0, 3);
      resizeRows(this.asks.body, 0, 3);
      return;
    }
    const all = book.venues.map((v) => v.exchange);
    setText(
      byId('consolidated-meta'),
      `${book.symbol} · ${all.length} venues · region ${book.region}${book.stale ? ' · STALE' : ''}${book.connected ? '' : ' · disconnected'}`,
    );
    this.venues.replaceChildren(
      ...book.venues.map((v) => {
        const item = el('li', { data: { venue: v.exchange, stale: String(v.stale) } });
        const swatch = el('span', { class: 'swatch' });
        swatch.style.background = venueColor(v.exchange, all);
        item.append(swatch, document.createTextNode(`${v.exchange} seq ${v.seq}${v.stale ? ' STALE' : ''}`));
        return item;
      }),
      ...book.unavailableVenues.map((v) => el('li', { class: 'unavailable', text: `${v} unavailable` })),
    );
    this.paintSide(this.bids.body, book.bids, all);
    this.paintSide(this.asks.body, book.asks, all);
  }

  private paintSide(
    body: HTMLTableSectionElement,
    levels: readonly ConsolidatedLevel[],
    all: string[],
  ): void {
    const max = Math.max(0, ...levels.map((l) => Number(l.size)));
    resizeRows(body, levels.length, 3).forEach((row, i) => {
      const level = levels[i]!;
      row.dataset.price = level.price;
      row.dataset.venues = level.venues.map((v) => v.exchange).join(',');
      const [price, size, venues] = [...row.cells] as [
        HTMLTableCellElement,
        HTMLTableCellElement,
        HTMLTableCellElement,
      ];
      setText(price, level.price);
      setText(size, short(level.size));
      const bar = el('div', { class: 'stack' });
      bar.style.width = `${max > 0 ? (100 * Number(level.size)) / max : 0}%`;
      for (const v of level.venues) {
        const part = el('span', { title: `${v.exchange} ${v.size}` });
        part.style.flexGrow = String(Number(v.size));
        part.style.background = venueColor(v.exchange, all);
        bar.append(part);
      }
      venues.replaceChildren(
        bar,
        el('span', {
          class: 'who',
          text: level.venues.map((v) => `${v.exchange} ${short(v.size)}`).join(' · '),
        }),
      );
    });
  }
}

function names(level: ConsolidatedLevel | null | undefined): string {
  return level?.venues.map((v) => v.exchange).join(', ') ?? '–';
}
