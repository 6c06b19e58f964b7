import { describe, expect, it } from 'vitest';
import { newEpoch, SequenceError, Sequencer } from '../../src/marketdata/sequencer.ts';
import type { RawBookUpdate } from '../../src/marketdata/types.ts';

function raw(kind: 'snapshot' | 'delta', exchange = 'sim1', symbol = 'BTC/USDT'): RawBookUpdate {
  return { kind, exchange, symbol, bids: [], asks: [], exchangeTs: 1, receiveTs: 2 };
}

describe('Sequencer', () => {
  it('opens an epoch at seq 1 on a snapshot and counts deltas by one', () => {
    const sequencer = new Sequencer('eu');
    const snap = sequencer.next(raw('snapshot'));
    expect(snap).toMatchObject({ kind: 'snapshot', region: 'eu', seq: 1, exchange: 'sim1', receiveTs: 2 });
    const seqs = [2, 3, 4].map(() => sequencer.next(raw('delta')));
    expect(seqs.map((e) => e.seq)).toEqual([2, 3, 4]);
    expect(new Set(seqs.map((e) => e.epoch))).toEqual(new Set([snap.epoch]));
    expect(sequencer.epochOf('sim1', 'BTC/USDT')).toBe(snap.epoch);
  });

  it('starts a new epoch at seq 1 on every snapshot', () => {
    const sequencer = new Sequencer('eu');
    const first = sequencer.next(raw('snapshot'));
    sequencer.next(raw('delta'));
    const second = sequencer.next(raw('snapshot'));
    expect(second.seq).toBe(1);
    expect(second.epoch).not.toBe(first.epoch);
    expect(sequencer.next(raw('delta'))).toMatchObject({ epoch: second.epoch, seq: 2 });
  });

  it('refuses a delta before the first snapshot, and after invalidate', () => {
    const sequencer = new Sequencer('eu');
    expect(() => sequencer.next(raw('delta'))).toThrow(SequenceError);
    sequencer.next(raw('snapshot'));
    expect(sequencer.has('sim1', 'BTC/USDT')).toBe(true);
    sequencer.invalidate('sim1', 'BTC/USDT');
    expect(sequencer.has('sim1', 'BTC/USDT')).toBe(false);
    expect(() => sequencer.next(raw('delta'))).toThrow(SequenceError);
  });

  it('keeps books independent', () => {
    const sequencer = new Sequencer('eu');
    const a = sequencer.next(raw('snapshot', 'sim1'));
    const b = sequencer.next(raw('snapshot', 'sim2'));
    sequencer.next(raw('delta', 'sim1'));
    expect(sequencer.next(raw('delta', 'sim1')).seq).toBe(3);
    expect(sequencer.next(raw('delta', 'sim2'))).toMatchObject({ seq: 2, epoch: b.epoch });
    expect(a.epoch).not.toBe(b.epoch);
    expect(() => sequencer.next(raw('delta', 'sim3'))).toThrow(SequenceError);
  });

  it('never repeats an epoch, even within one millisecond or across sequencers', () => {
    const epochs = new Set<string>();
    for (let i = 0; i < 1000; i++) epochs.add(newEpoch(1_700_000_000_000));
    const s1 = new Sequencer('eu');
    const s2 = new Sequencer('us');
    for (let i = 0; i < 500; i++) {
      epochs.add(s1.next(raw('snapshot')).epoch);
      epochs.add(s2.next(raw('snapshot')).epoch);
    }
    expect(epochs.size).toBe(2000);
  });
});
