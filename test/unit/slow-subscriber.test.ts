import { describe, expect, it } from 'vitest';
import { SLOW_SUBSCRIBER_CLOSE_CODE, SlowSubscriberGuard } from '../../src/pubsub/slow-subscriber.ts';

function setup(limits = { maxBufferedBytes: 100, disconnectAfterMs: 1_000 }) {
  const state = { buffered: 0, now: 0, closes: [] as number[], disconnects: 0, open: true };
  const guard = new SlowSubscriberGuard(
    {
      bufferedBytes: () => state.buffered,
      close: (code) => {
        state.closes.push(code);
        const wasOpen = state.open;
        state.open = false;
        return wasOpen;
      },
    },
    limits,
    () => state.now,
    () => {
      state.disconnects += 1;
    },
  );
  return { state, guard };
}

describe('SlowSubscriberGuard', () => {
  it('sends while the socket has room, holds while it is over the limit', () => {
    const { state, guard } = setup();
    expect(guard.check()).toBe('send');
    state.buffered = 150;
    state.now = 10;
    expect(guard.check()).toBe('hold');
    state.buffered = 50;
    state.now = 20;
    expect(guard.check()).toBe('send');
  });

  it('keeps a socket whose buffer drains or shrinks, however long it is busy', () => {
    const { state, guard } = setup();
    for (let t = 0; t <= 10_000; t += 100) {
      state.now = t;
      // Busy but draining: the buffer shrinks between looks, and empties now and then.
      state.buffered = t % 1_000 === 0 ? 0 : 90 - ((t / 100) % 10);
      expect(guard.check()).not.toBe('closed');
    }
    expect(state.closes).toEqual([]);
  });

  it('closes with 1013, once, a socket that makes no progress for the limit', () => {
    const { state, guard } = setup();
    state.now = 100;
    expect(guard.check()).toBe('send'); // empty: progress at 100
    state.buffered = 40;
    state.now = 200;
    expect(guard.check()).toBe('send'); // bytes wait from here
    state.buffered = 60;
    state.now = 1_150;
    expect(guard.check()).toBe('send'); // 950 ms without progress
    state.now = 1_200;
    expect(guard.check()).toBe('closed');
    expect(guard.check()).toBe('closed');
    expect(state.closes).toEqual([SLOW_SUBSCRIBER_CLOSE_CODE]);
    expect(state.disconnects).toBe(1);
  });

  it('starts the stall clock when bytes first wait, not when the guard was made', () => {
    const { state, guard } = setup();
    // First look 5 s after the guard was made, a ping already waiting: not a stall yet.
    state.buffered = 3;
    state.now = 5_000;
    expect(guard.check()).toBe('send');
    state.now = 5_900;
    expect(guard.check()).toBe('send');
    state.now = 6_000;
    expect(guard.check()).toBe('closed');
  });

  it('counts a disconnect only for the guard that actually closed the socket', () => {
    const { state, guard } = setup();
    state.open = false;
    state.buffered = 10;
    state.now = 1;
    expect(guard.check()).toBe('send');
    state.now = 2_000;
    expect(guard.check()).toBe('closed');
    expect(state.disconnects).toBe(0);
  });
});
