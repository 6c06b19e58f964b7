import { describe, expect, it } from 'vitest';
import { consolidate, type VenueBook } from '../../src/marketdata/consolidation.ts';
import { liquidity } from '../../src/marketdata/liquidity.ts';
import type { Level } from '../../src/marketdata/types.ts';

function venue(exchange: string, bids: Level[], asks: Level[]): VenueBook {
  return { exchange, epoch: 'e', seq: 1, exchangeTs: 0, receiveTs: 0, stale: false, bids, asks };
}

describe('consolidation', () => {
  const a = venue(
    'a',
    [
      ['100', '1'],
      ['99', '2'],
    ],
    [
      ['101', '1'],
      ['102', '3'],
    ],
  );
  const b = venue(
    'b',
    [
      ['100', '0.5'],
      ['98', '1'],
    ],
    [['100.5', '2']],
  );

  it('merges levels by exact price with venue attribution and flags a crossed book', () => {
    const top = consolidate([b, a], 2);
    expect(top.bids).toEqual([
      {
        price: '100',
        size: '1.5',
        venues: [
          { exchange: 'a', size: '1' },
          { exchange: 'b', size: '0.5' },
        ],
      },
      { price: '99', size: '2', venues: [{ exchange: 'a', size: '2' }] },
    ]);
    expect(top.asks[0]).toEqual({ price: '100.5', size: '2', venues: [{ exchange: 'b', size: '2' }] });
    expect(top.crossed).toBe(false);
    expect(top.mid).toBe('100.25');
    const crossed = consolidate([a, venue('c', [['101.5', '1']], [['103', '1']])], 5);
    expect(crossed.crossed).toBe(true);
    expect(crossed.bids[0]?.price).toBe('101.5');
  });

  it('computes depth bands, spread in bps, imbalance and shares', () => {
    const l = liquidity([a, b]);
    // Consolidated mid 100.25: the 0.5 % band is [99.74875, 100.75125]; a holds 100 of 351 quoted.
    expect(l.consolidated.bands[0]).toEqual({
      percent: '0.5',
      bidBase: '1.5',
      bidQuote: '150',
      askBase: '2',
      askQuote: '201',
      imbalance: '-0.142857',
    });
    expect(l.consolidated.spreadBps).toBe('49.88');
    expect(l.venues.map((v) => v.shares[0]?.share)).toEqual(['0.2849', '0.7151']);
    expect(l.venues[0]).toMatchObject({ exchange: 'a', mid: '100.5', spread: '1', spreadBps: '99.5' });
  });
});
