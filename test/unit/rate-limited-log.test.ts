import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { RateLimitedLog } from '../../src/observability/rate-limited-log.ts';
import { redisCommandOf, redisErrorKind } from '../../src/redis/command-error.ts';

function capture() {
  const lines: string[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(line) } };
}

class ReplyError extends Error {
  override readonly name = 'ReplyError';
}

/** What ioredis hands back for a failed script call: the command and all its arguments attached. */
function replyError(message: string, name: string, args: unknown[]): Error {
  return Object.assign(new ReplyError(message), { command: { name, args } });
}

const EVENT_ARG = '{"type":"delta","bids":[["64210.5","0.25"]],"asks":[]}';

describe('Redis errors in logs', () => {
  it('name the command and key, never the arguments, on one line', () => {
    const out = capture();
    const log = createLogger('info', { destination: out.destination });
    const error = replyError("READONLY You can't write against a read only replica.", 'evalsha', [
      'a1b2c3',
      '2',
      'book:{sim1:BTC/USDT}:local',
      'seq:{sim1:BTC/USDT}:local',
      EVENT_ARG,
    ]);
    log.error({ err: error }, 'book write failed');
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]!.trimEnd()).not.toContain('\n');
    expect(out.lines[0]).not.toContain('64210.5');
    expect(out.lines[0]).not.toContain('a1b2c3');
    expect(out.lines[0]).not.toContain('"args"');
    const line = JSON.parse(out.lines[0]!) as { err: Record<string, unknown> };
    expect(line.err).toMatchObject({
      type: 'ReplyError',
      message: "READONLY You can't write against a read only replica.",
      command: 'evalsha',
      key: 'book:{sim1:BTC/USDT}:local',
    });
  });

  it('keep the stack of errors that are not Redis replies', () => {
    const out = capture();
    createLogger('info', { destination: out.destination }).error({ err: new TypeError('boom') }, 'bug');
    expect(JSON.parse(out.lines[0]!).err.stack).toContain('TypeError: boom');
  });

  it('find the key of plain commands and scripts, and a kind without keys or values', () => {
    expect(redisCommandOf(replyError('OOM', 'set', ['k1', 'v']))).toEqual({ command: 'set', key: 'k1' });
    expect(redisCommandOf(replyError('ERR', 'evalsha', ['sha', '0', 'arg']))).toEqual({
      command: 'evalsha',
      key: undefined,
    });
    expect(redisCommandOf(new Error('Command timed out'))).toBeUndefined();
    expect(redisErrorKind(replyError('READONLY no', 'evalsha', ['sha', '1', 'k', EVENT_ARG]))).toBe(
      'evalsha:READONLY',
    );
    expect(redisErrorKind(new Error('Command timed out'))).toBe('-:Command timed out');
  });
});

describe('RateLimitedLog', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes one line per kind per interval and then counts what it held back', () => {
    const out = capture();
    const limited = new RateLimitedLog(createLogger('info', { destination: out.destination }), {
      intervalMs: 1_000,
    });
    for (let i = 0; i < 500; i++) limited.error('book:READONLY', { i }, 'book write failed');
    limited.error('trade:READONLY', {}, 'trade write failed');
    expect(out.lines).toHaveLength(2);
    vi.advanceTimersByTime(1_000);
    // The storm stopped: its count still arrives, once.
    expect(out.lines).toHaveLength(3);
    expect(JSON.parse(out.lines[2]!)).toMatchObject({ suppressed: 499, kind: 'book:READONLY' });
    limited.error('book:READONLY', {}, 'book write failed');
    expect(out.lines).toHaveLength(3);
    vi.advanceTimersByTime(1_000);
    expect(JSON.parse(out.lines[3]!)).toMatchObject({ suppressed: 1 });
    // A quiet interval later, the next failure is written at once.
    vi.advanceTimersByTime(1_000);
    limited.error('book:READONLY', { i: 'next' }, 'book write failed');
    expect(out.lines).toHaveLength(5);
    expect(JSON.parse(out.lines[4]!)).toMatchObject({ i: 'next' });
    expect(JSON.parse(out.lines[4]!)).not.toHaveProperty('suppressed');
    limited.close();
  });

  it('bounds the number of kinds', () => {
    const out = capture();
    const limited = new RateLimitedLog(createLogger('info', { destination: out.destination }), {
      maxKinds: 3,
    });
    for (let i = 0; i < 100; i++) limited.warn(`kind-${i}`, {}, 'failed');
    expect(out.lines).toHaveLength(4);
    limited.close();
  });
});
