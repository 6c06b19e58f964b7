import fc from 'fast-check';
import { ReplyError } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { logWriteFailure, logWriteRecovered, ReopenBackoff } from '../../src/ingest/write-failures.ts';
import { createLogger } from '../../src/log.ts';
import { RateLimitedLog } from '../../src/observability/rate-limited-log.ts';
import { redisErrorText } from '../../src/redis/command-error.ts';

function capture() {
  const raw: string[] = [];
  const log = createLogger('info', { destination: { write: (line: string) => void raw.push(line) } });
  return { raw, log, lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** An ioredis reply error as a failed EVALSHA gives it: the command and every argument on it. */
function evalshaError(message: string): Error {
  const error = new ReplyError(message);
  Object.assign(error, {
    command: { name: 'evalsha', args: ['0123abcd', '4', 'secret-book-level-1', 'secret-book-level-2'] },
  });
  return error;
}

describe('ReopenBackoff', () => {
  it('waits base, 2×base, ... capped at max, each drawn in [½, 1] of its step; ready only after it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 0.999_999, noNaN: true }), { minLength: 1, maxLength: 12 }),
        (draws) => {
          let now = 1_000;
          let i = 0;
          const backoff = new ReopenBackoff({
            baseMs: 250,
            maxMs: 10_000,
            random: () => draws[i]!,
            now: () => now,
          });
          for (i = 0; i < draws.length; i++) {
            const step = Math.min(10_000, 250 * 2 ** i);
            const waitMs = backoff.failed('sim1:BTC/USDT');
            expect(waitMs).toBeGreaterThanOrEqual(step / 2);
            expect(waitMs).toBeLessThanOrEqual(step);
            expect(backoff.failures('sim1:BTC/USDT')).toBe(i + 1);
            if (waitMs > 0) {
              now += waitMs - 1;
              expect(backoff.ready('sim1:BTC/USDT')).toBe(false);
            }
            now += 1;
            expect(backoff.ready('sim1:BTC/USDT')).toBe(true);
          }
        },
      ),
    );
  });

  it('keeps books apart, and starts again from base once a book has not failed for resetAfterMs', () => {
    let now = 0;
    const backoff = new ReopenBackoff({
      baseMs: 100,
      maxMs: 1_000,
      resetAfterMs: 5_000,
      random: () => 0.999,
      now: () => now,
    });
    expect(backoff.ready('a')).toBe(true);
    for (let i = 0; i < 6; i++) backoff.failed('a');
    expect(backoff.failures('a')).toBe(6);
    expect(backoff.ready('b')).toBe(true);
    // A book failing again soon after it reopened (memory hovering at the limit) keeps escalating.
    now += 4_000;
    expect(backoff.failed('a')).toBe(1_000);
    now += 5_001;
    expect(backoff.failed('a')).toBe(100);
    expect(backoff.failures('a')).toBe(1);
  });
});

describe('write failures in the log (RateLimitedLog, one kind per key)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('logs one line with the command and key, never the arguments of the failed command', () => {
    const out = capture();
    logWriteFailure(
      new RateLimitedLog(out.log),
      'write_book',
      'book:{test:sim1:BTC/USDT}:meta',
      evalshaError("OOM command not allowed when used memory > 'maxmemory'.\nmore"),
      { exchange: 'sim1', symbol: 'BTC/USDT' },
    );
    expect(out.raw).toHaveLength(1);
    expect(out.raw[0]).not.toContain('secret-book-level');
    expect(out.raw[0]).not.toContain('evalsha');
    expect(out.lines()[0]).toMatchObject({
      level: 50,
      command: 'write_book',
      key: 'book:{test:sim1:BTC/USDT}:meta',
      error: "OOM command not allowed when used memory > 'maxmemory'.",
      exchange: 'sim1',
      msg: 'write_book failed',
    });
  });

  it('logs a key at most once per interval, counting the failures it did not log', () => {
    const out = capture();
    const failures = new RateLimitedLog(out.log, { intervalMs: 1_000 });
    for (let i = 0; i < 50; i++) {
      logWriteFailure(failures, 'write_trade', 'k1', new Error('READONLY'));
      logWriteFailure(failures, 'write_trade', 'k2', new Error('READONLY'));
      vi.advanceTimersByTime(100);
    }
    // 5 s of failures every 100 ms on two keys: one line per key per second, each after the
    // first carrying, at the second's end, the failures of that second that were not logged (9 in
    // the first, whose first failure was logged; 10 in each after it): all 100 accounted for.
    const lines = out.lines();
    const repeats = [9, 10, 10, 10, 10].flatMap((n) => [
      ['k1', n, 'write_trade failed (suppressed repeats)'],
      ['k2', n, 'write_trade failed (suppressed repeats)'],
    ]);
    expect(lines.map((l) => [l.key, l.suppressed ?? 0, l.msg])).toEqual([
      ['k1', 0, 'write_trade failed'],
      ['k2', 0, 'write_trade failed'],
      ...repeats,
    ]);
    expect(lines.every((l) => l.command === 'write_trade' && l.error === 'READONLY')).toBe(true);
    // One more failure of each, held back; then k1's writes succeed again: said once, with its count.
    logWriteFailure(failures, 'write_trade', 'k1', new Error('READONLY'));
    logWriteFailure(failures, 'write_trade', 'k2', new Error('READONLY'));
    logWriteRecovered(failures, 'write_trade', 'k1');
    logWriteRecovered(failures, 'write_trade', 'k1');
    expect(out.lines().slice(12)).toEqual([
      expect.objectContaining({ level: 30, key: 'k1', suppressed: 1, msg: 'write_trade succeeds again' }),
    ]);
    // k2's storm stopped without a recovery: its count still arrives, once.
    vi.advanceTimersByTime(1_000);
    expect(out.lines().slice(13)).toEqual([
      expect.objectContaining({
        level: 50,
        key: 'k2',
        suppressed: 1,
        msg: 'write_trade failed (suppressed repeats)',
      }),
    ]);
    vi.advanceTimersByTime(5_000);
    expect(out.lines()).toHaveLength(14);
    failures.close();
  });

  it('keeps a long error message to one short line', () => {
    const text = redisErrorText(new Error(`${'x'.repeat(1_000)}\nsecond line`));
    expect(text.length).toBeLessThanOrEqual(201);
    expect(text).not.toContain('second');
    expect(redisErrorText('plain')).toBe('plain');
  });
});
