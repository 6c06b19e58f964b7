import type { Page } from 'playwright-core';

/** The ladder as the page shows it: its seq, and each side's levels best first. */
export interface ShownLadder {
  seq: number | undefined;
  bids: { price: string; size: string }[];
  asks: { price: string; size: string }[];
}

/** Reads the ladder from the DOM in one evaluation (one frame's rendering, never half of two). */
export function shownLadder(page: Page): Promise<ShownLadder> {
  return page.evaluate(() => {
    const root = document.getElementById('ladder')!;
    const side = (s: string) =>
      [...root.querySelectorAll<HTMLElement>(`.level[data-side="${s}"]`)]
        .filter((row) => !row.hidden && row.dataset.price)
        .map((row) => ({ price: row.dataset.price!, size: row.dataset.size! }));
    const asks = side('ask').reverse(); // shown highest first, best (lowest) next to the spread
    return { seq: root.dataset.seq ? Number(root.dataset.seq) : undefined, bids: side('bid'), asks };
  });
}

export const connState = (page: Page) => page.locator('#conn').getAttribute('data-state');
export const connLog = (page: Page) => page.locator('#conn-log').textContent();
