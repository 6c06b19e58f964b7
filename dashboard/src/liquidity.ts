import type { LocalConsolidatedBook } from '../../sdk/src/index.ts';
import { byId, el, short } from './dom.ts';
import type { FrameScheduler } from './frame.ts';

/**
 * Whether the band ±percent around mid reaches past the levels held (the book's `depth` levels on
 * a side, when the side is full): its figures are then a lower bound, not the whole band.
 */
export function bandPastHeldDepth(
  book: LocalConsolidatedBook,
  percent: string,
): { bid: boolean; ask: boolean } {
  const mid = Number(book.liquidity.consolidated.mid);
  if (!Number.isFinite(mid)) return { bid: false, ask: false };
  const p = Number(percent) / 100;
  const lastBid = book.bids.at(-1);
  const lastAsk = book.asks.at(-1);
  return {
    bid: book.bids.length >= book.depth && !!lastBid && Number(lastBid.price) > mid * (1 - p),
    ask: book.asks.length >= book.depth && !!lastAsk && Number(lastAsk.price) < mid * (1 + p),
  };
}

/**
 * For token issuers: depth within ±0.5/1/2 % of the consolidated mid (base and quote per side),
 * spread, imbalance, and each venue's share of each band, flagged where a band reaches past the
 * depth held.
 */
export class LiquidityView {
  private book: LocalConsolidatedBook | undefined;
  private readonly render = () => this.paint();

  constructor(private readonly frames: FrameScheduler) {}

  update(book: LocalConsolidatedBook | undefined): void {
    this.book = book;
    this.frames.schedule(this.render);
  }

  private paint(): void {
    const root = byId('liquidity');
    const book = this.book;
    if (!book) {
      root.replaceChildren(el('p', { text: 'waiting for the consolidated book' }));
      return;
    }
    const { consolidated, venues } = book.liquidity;
    const summary = el('p', {
      class: 'summary',
      text: `mid ${short(consolidated.mid, 8)} · spread ${short(consolidated.spread, 8)} (${consolidated.spreadBps ?? '–'} bps)`,
    });
    const head = el(
      'tr',
      {},
      ...[
        'band',
        'bid base',
        'ask base',
        'bid quote',
        'ask quote',
        'imbalance',
        ...venues.map((v) => `${v.exchange} share`),
      ].map((h) => el('th', { text: h })),
    );
    const rows = consolidated.bands.map((band) => {
      const past = bandPastHeldDepth(book, band.percent);
      const flag = past.bid || past.ask;
      const shares = venues.map((v) => {
        const share = v.shares.find((s) => s.percent === band.percent)?.share;
        return el('td', {
          text: share === null || share === undefined ? '–' : `${(Number(share) * 100).toFixed(1)} %`,
        });
      });
      return el(
        'tr',
        { data: { band: band.percent, pastHeldDepth: String(flag) } },
        el('td', {
          text: `±${band.percent} %${flag ? ' ⚠' : ''}`,
          title: flag
            ? `This band reaches past the ${book.depth} levels held on the ${[past.bid && 'bid', past.ask && 'ask'].filter(Boolean).join(' and ')} side: its figures are a lower bound.`
            : '',
        }),
        el('td', { text: lowerBound(short(band.bidBase), past.bid) }),
        el('td', { text: lowerBound(short(band.askBase), past.ask) }),
        el('td', { text: lowerBound(short(band.bidQuote, 2), past.bid) }),
        el('td', { text: lowerBound(short(band.askQuote, 2), past.ask) }),
        el('td', { text: band.imbalance ?? '–' }),
        ...shares,
      );
    });
    const anyPast = rows.some((r) => r.dataset.pastHeldDepth === 'true');
    root.replaceChildren(
      summary,
      el('table', {}, el('thead', {}, head), el('tbody', {}, ...rows)),
      ...(anyPast
        ? [
            el('p', {
              class: 'flag',
              text: `⚠ a band reaches past the ${book.depth} levels held: ≥ marks a lower bound (pick a larger depth).`,
            }),
          ]
        : []),
    );
  }
}

const lowerBound = (text: string, past: boolean) => (past ? `≥ ${text}` : text);
