import type { FeedHealthFieldsFragment } from '../../sdk/src/index.ts';
import { byId, resizeRows, setText, table } from './dom.ts';
import type { FrameScheduler } from './frame.ts';

/** A feed is shown stale when its state says so, or its last message is older than this. */
const SILENT_MS = 10_000;

/** Feed health of every venue in every region: state, message rate, gaps, errors, stale markers. */
export class FeedsView {
  private readonly feeds = new Map<string, FeedHealthFieldsFragment>();
  private readonly grid = table([
    'venue',
    'feed',
    'region',
    'state',
    'msg/s',
    'gaps',
    'resyncs',
    'last message',
    'last error',
  ]);
  private readonly render = () => this.paint();

  constructor(private readonly frames: FrameScheduler) {
    byId('feeds').replaceChildren(this.grid.table);
    // Ages move without messages.
    setInterval(() => this.frames.schedule(this.render), 1000);
  }

  /** The feed health stream ended with an error: said under the table (the rows stay, marked old). */
  failed(message: string): void {
    const note = document.createElement('p');
    note.className = 'flag';
    note.textContent = `feed health not updating: ${message}`;
    byId('feeds').append(note);
  }

  update(feed: FeedHealthFieldsFragment): void {
    this.feeds.set(`${feed.exchange}|${feed.feed}|${feed.status?.region ?? ''}`, feed);
    this.frames.schedule(this.render);
  }

  private paint(): void {
    const feeds = [...this.feeds.values()].sort((a, b) => a.exchange.localeCompare(b.exchange));
    const now = Date.now();
    resizeRows(this.grid.body, feeds.length, 9).forEach((row, i) => {
      const f = feeds[i]!;
      const s = f.status;
      const age = s?.lastMessageTimestamp ? now - Number(s.lastMessageTimestamp) : undefined;
      const stale = f.state !== 'CONNECTED' || age === undefined || age > SILENT_MS;
      row.dataset.exchange = f.exchange;
      row.dataset.state = f.state;
      row.dataset.stale = String(stale);
      const cells = [...row.cells];
      const text = [
        f.exchange,
        f.feed,
        s?.region ?? '–',
        stale && f.state === 'CONNECTED' ? 'CONNECTED · silent' : f.state,
        s ? s.messagesPerSecond.toFixed(1) : '–',
        s ? String(s.gaps) : '–',
        s ? String(s.resyncs) : '–',
        age === undefined ? '–' : `${(age / 1000).toFixed(1)} s ago`,
        s?.lastError ?? '',
      ];
      for (const [j, t] of text.entries()) setText(cells[j]!, t ?? '–');
    });
  }
}
