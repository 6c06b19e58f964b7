import type { TradeFieldsFragment } from '../../sdk/src/index.ts';
import { byId, clock, el } from './dom.ts';
import type { FrameScheduler } from './frame.ts';

const SHOWN = 60;

/**
 * The trades tape: newest on top, the last SHOWN kept; a burst is inserted once per frame. The
 * live stream starts before the history is read; a trade in both is shown once (by id).
 */
export class TradesView {
  private pending: TradeFieldsFragment[] = [];
  /** History (newest first) still to be put under what the stream already showed. */
  private older: TradeFieldsFragment[] = [];
  private seen = new Set<string>();
  private readonly list = byId<HTMLOListElement>('trades');
  private readonly render = () => this.paint();

  constructor(private readonly frames: FrameScheduler) {}

  reset(): void {
    this.pending = [];
    this.older = [];
    this.seen.clear();
    this.list.replaceChildren();
  }

  /** Live trades, oldest first. */
  add(trades: readonly TradeFieldsFragment[]): void {
    this.pending.push(...trades.filter((t) => this.remember(t.id)));
    // A tab in the background renders nothing: keep only what could be shown.
    if (this.pending.length > SHOWN) this.pending = this.pending.slice(-SHOWN);
    this.frames.schedule(this.render);
  }

  /** `Query.trades` (newest first): shown below the live ones. */
  history(trades: readonly TradeFieldsFragment[]): void {
    this.older = trades.filter((t) => this.remember(t.id)).slice(0, SHOWN);
    this.frames.schedule(this.render);
  }

  private remember(id: string): boolean {
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    // Bounded: ids older than a few screens of trades are never sent again.
    if (this.seen.size > SHOWN * 4) this.seen = new Set([...this.seen].slice(-SHOWN * 2));
    return true;
  }

  private row(t: TradeFieldsFragment): HTMLLIElement {
    return el(
      'li',
      {
        class: t.side === 'BUY' ? 'buy' : t.side === 'SELL' ? 'sell' : '',
        data: { id: t.id, price: t.price },
      },
      el('time', { text: clock(Number(t.exchangeTimestamp ?? t.receiveTimestamp)) }),
      el('span', { class: 'price', text: t.price }),
      el('span', { class: 'size', text: t.amount }),
    );
  }

  private paint(): void {
    if (this.pending.length > 0) this.list.prepend(...this.pending.reverse().map((t) => this.row(t)));
    if (this.older.length > 0) this.list.append(...this.older.map((t) => this.row(t)));
    this.pending = [];
    this.older = [];
    while (this.list.children.length > SHOWN) this.list.lastElementChild?.remove();
  }
}
