import type { Page } from 'playwright-core';

/** The ladder as the page shows it: its seq, and each side's levels best first. */
export interface ShownLadder {
  seq: number | undefined;
  bids: { price: string; size: string }[];
  asks: { price: string; size: string }[];
}

/** Reads the ladder from the DOM in one evaluation (one frame's rendering, never half of two). */
export function shownLadder(page: Page): Promise<ShownLadder> {
  // No named inner functions: tsx (esbuild keepNames) would wrap them in a helper the page lacks.
  return page.evaluate(() => {
    const root = document.getElementById('ladder')!;
    const sides: Record<string, { price: string; size: string }[]> = { bid: [], ask: [] };
    for (const row of root.querySelectorAll<HTMLElement>('.level[data-side]')) {
      if (row.hidden || !row.dataset.price) continue;
      sides[row.dataset.side!]!.push({ price: row.dataset.price, size: row.dataset.size! });
    }
    // Asks are shown highest first, the best (lowest) next to the spread.
    return {
      seq: root.dataset.seq ? Number(root.dataset.seq) : undefined,
      bids: sides.bid!,
      asks: sides.ask!.reverse(),
    };
  });
}

export const connState = (page: Page) => page.locator('#conn').getAttribute('data-state');
export const connLog = (page: Page) => page.locator('#conn-log').textContent();
