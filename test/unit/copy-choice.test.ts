import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CopyFreshness, chooseCopy, isFresh } from '../../src/redis/copy-choice.ts';

const NOW = 1_000_000;
const STALE = 1_000;
const REGIONS = ['a', 'b', 'c'] as const;

function copies(times: Partial<Record<(typeof REGIONS)[number], number | null>>): CopyFreshness[] {
  return REGIONS.map((region) => ({ region, lastWriteTs: times[region] ?? null }));
}

function choose(times: Parameters<typeof copies>[0], current?: string): string | undefined {
  return chooseCopy({ copies: copies(times), local: 'a', current, now: NOW, staleAfterMs: STALE });
}

describe('chooseCopy', () => {
  it('serves the local copy while it is fresh, even when another is fresher or current', () => {
    expect(choose({ a: NOW - 900, b: NOW }, 'b')).toBe('a');
  });

  it('falls back to the freshest fresh copy of another region when the local one is stale', () => {
    expect(choose({ a: NOW - 5_000, b: NOW - 500, c: NOW - 100 })).toBe('c');
  });

  it('falls back when the local region holds no copy at all', () => {
    expect(choose({ b: NOW - 10 })).toBe('b');
  });

  it('keeps the current copy while it stays fresh, even when another is fresher', () => {
    expect(choose({ a: NOW - 5_000, b: NOW - 900, c: NOW }, 'b')).toBe('b');
  });

  it('leaves a current copy that turned stale for a fresh one', () => {
    expect(choose({ a: NOW - 5_000, b: NOW - 1_001, c: NOW - 10 }, 'b')).toBe('c');
  });

  it('breaks ties by the order of REGIONS', () => {
    expect(choose({ a: NOW - 5_000, b: NOW - 10, c: NOW - 10 })).toBe('b');
  });

  it('does not move when no copy is fresh: current, else local, else the newest', () => {
    expect(choose({ a: NOW - 5_000, b: NOW - 9_000, c: NOW - 2_000 }, 'b')).toBe('b');
    expect(choose({ a: NOW - 5_000, b: NOW - 9_000, c: NOW - 2_000 })).toBe('a');
    expect(choose({ b: NOW - 9_000, c: NOW - 2_000 })).toBe('c');
  });

  it('chooses nothing when no region holds a copy', () => {
    expect(choose({})).toBeUndefined();
  });

  it('counts a copy exactly at the limit as fresh', () => {
    expect(isFresh({ region: 'a', lastWriteTs: NOW - STALE }, NOW, STALE)).toBe(true);
    expect(isFresh({ region: 'a', lastWriteTs: NOW - STALE - 1 }, NOW, STALE)).toBe(false);
    expect(isFresh({ region: 'a', lastWriteTs: null }, NOW, STALE)).toBe(false);
  });
});

describe('chooseCopy properties', () => {
  const time = fc.option(fc.integer({ min: NOW - 3 * STALE, max: NOW }), { nil: null });
  const input = fc.record({
    a: time,
    b: time,
    c: time,
    current: fc.option(fc.constantFrom(...REGIONS), { nil: undefined }),
  });
  const run = (i: { a: number | null; b: number | null; c: number | null; current?: string }) => {
    const list = copies(i);
    return {
      list,
      chosen: chooseCopy({ copies: list, local: 'a', current: i.current, now: NOW, staleAfterMs: STALE }),
    };
  };

  it('chooses a region that holds a copy, and one whenever any does', () => {
    fc.assert(
      fc.property(input, (i) => {
        const { list, chosen } = run(i);
        const present = list.filter((c) => c.lastWriteTs !== null).map((c) => c.region);
        if (present.length === 0) expect(chosen).toBeUndefined();
        else expect(present).toContain(chosen);
      }),
    );
  });

  it('chooses a fresh copy whenever one exists, and the local one when it is fresh', () => {
    fc.assert(
      fc.property(input, (i) => {
        const { list, chosen } = run(i);
        const fresh = list.filter((c) => isFresh(c, NOW, STALE));
        if (fresh.length > 0) expect(fresh.map((c) => c.region)).toContain(chosen);
        if (fresh.some((c) => c.region === 'a')) expect(chosen).toBe('a');
      }),
    );
  });

  it('never leaves a fresh current copy except for the fresh local one', () => {
    fc.assert(
      fc.property(input, (i) => {
        const { list, chosen } = run(i);
        const current = list.find((c) => c.region === i.current);
        if (current && isFresh(current, NOW, STALE) && chosen !== i.current) expect(chosen).toBe('a');
      }),
    );
  });

  it('is stable: choosing again with the chosen copy as current keeps it', () => {
    fc.assert(
      fc.property(input, (i) => {
        const { chosen } = run(i);
        expect(run({ ...i, current: chosen }).chosen).toBe(chosen);
      }),
    );
  });
});
