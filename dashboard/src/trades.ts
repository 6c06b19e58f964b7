import type { TradeFieldsFragment } from '../../sdk/src/index.ts';
import { byId, clock, el } from './dom.ts';
import type { FrameScheduler } from './frame.ts';

const SHOWN = 60;

/** The trades tape: newest on top, the last SHOWN kept; a burst is inserted once per frame. */
export class TradesView {
  private pending: TradeFieldsFragment[] = [];
  private readonly list = byId<HTMLOListElement>('trades');
  private readonly render = () => this.paint();

  constructor(private readonly frames: FrameScheduler) {}

  reset(): void {
    this.pending = [];
    this.list.replaceChildren();
  }

  add(trades: readonly TradeFieldsFragment[]): void {
    this.pending.push(...trades);
    // A tab in the background renders nothing: keep only what could be shown.
    if (this.pending.length > SHOWN) this.pending = this.pending.slice(-SHOWN);
    this.frames.schedule(this.render);
  }

  private paint(): void {
    if (this.pending.length === 0) return;
    const rows = this.pending.map((t) =>
      el(
        'li',
        {
          class: t.side === 'BUY' ? 'buy' : t.side === 'SELL' ? 'sell' : '',
          data: { id: t.id, price: t.price },
        },
        el('time', { text: clock(Number(t.exchangeTimestamp ?? t.receiveTimestamp)) }),
        el('span', { class: 'price', text: t.price }),
        el('span', { class: 'size', text: t.amount }),
      ),
    );
    this.pending = [];
    this.list.prepend(...rows.reverse());
    while (this.list.children.length > SHOWN) this.list.lastElementChild?.remove();
  }
}
