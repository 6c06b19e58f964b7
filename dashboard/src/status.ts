import { byId, clock, el, setText } from './dom.ts';
import type { FrameScheduler } from './frame.ts';

/** What the page shows in its header, always visible. */
export type ConnectionState = 'connecting' | 'live' | 'stale' | 'resync' | 'reconnecting' | 'error';

const LOG_MAX = 30;

/** The connection state badge, the serving region and copy, and a short log of what happened. */
export class StatusView {
  private state: ConnectionState = 'connecting';
  private detail = '';
  private region = '';
  private copy = '';
  private readonly log: { at: number; state: ConnectionState; detail: string }[] = [];
  private readonly render = () => this.paint();

  constructor(private readonly frames: FrameScheduler) {}

  set(state: ConnectionState, detail = ''): void {
    if (state === this.state && detail === this.detail) return;
    this.state = state;
    this.detail = detail;
    this.log.unshift({ at: Date.now(), state, detail });
    this.log.length = Math.min(this.log.length, LOG_MAX);
    this.frames.schedule(this.render);
  }

  current(): ConnectionState {
    return this.state;
  }

  setRegion(region: string, copy: string): void {
    this.region = region;
    this.copy = copy;
    this.frames.schedule(this.render);
  }

  private paint(): void {
    const conn = byId('conn');
    conn.dataset.state = this.state;
    setText(byId('conn-state'), this.state === 'resync' ? 'RESET · resyncing' : this.state);
    setText(byId('conn-detail'), this.detail);
    const region = byId('region');
    region.dataset.region = this.region;
    region.dataset.copy = this.copy;
    setText(
      region,
      this.region
        ? `region ${this.region} · copy ${this.copy || '–'}${this.copy && this.copy !== this.region ? ' (another region)' : ''}`
        : '',
    );
    byId('conn-log').replaceChildren(
      ...this.log.map((entry) =>
        el(
          'li',
          { data: { state: entry.state } },
          el('time', { text: clock(entry.at) }),
          document.createTextNode(` ${entry.state} ${entry.detail}`),
        ),
      ),
    );
  }
}
