import { describe, expect, it } from 'vitest';
import { inclusiveTimes, selfTimes } from '../../bench/profile-summary.ts';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

describe('bench/profile-summary selfTimes', () => {
  it('weights samples by their time deltas, merges nodes of one function, and keeps idle apart', () => {
    const profile = {
      nodes: [
        { id: 1, callFrame: frame('(root)') },
        { id: 2, callFrame: frame('(idle)') },
        { id: 3, callFrame: frame('writev', 'node:net', 9) },
        { id: 4, callFrame: frame('flush', `file://${process.cwd()}/src/pubsub/push-connection.ts`, 109) },
        // The same function reached by another path: one row.
        { id: 5, callFrame: frame('writev', 'node:net', 9) },
        { id: 6, callFrame: frame('', 'file:///x/node_modules/ws/lib/sender.js', 0) },
      ],
      samples: [2, 3, 4, 5, 3, 6, 2],
      timeDeltas: [100, 10, 20, 30, 40, 5, 300],
    };
    const { rows, idle, total } = selfTimes(profile);
    expect(idle).toBe(400);
    expect(total).toBe(505);
    expect(rows).toEqual([
      { name: 'writev', where: 'node:net:10', micros: 80 },
      { name: 'flush', where: 'src/pubsub/push-connection.ts:110', micros: 20 },
      { name: '(anonymous)', where: 'ws/lib/sender.js:1', micros: 5 },
    ]);
  });

  it('inclusiveTimes counts each sample once per name on its stack, however deep or repeated', () => {
    // root → flush → writev; root → emit → offer → flush (recursion through another path) → writev
    const profile = {
      nodes: [
        { id: 1, callFrame: frame('(root)'), children: [2, 4] },
        { id: 2, callFrame: frame('flush'), children: [3] },
        { id: 3, callFrame: frame('writev') },
        { id: 4, callFrame: frame('emit'), children: [5] },
        { id: 5, callFrame: frame('offer'), children: [6] },
        { id: 6, callFrame: frame('flush'), children: [7] },
        { id: 7, callFrame: frame('flush'), children: [8] },
        { id: 8, callFrame: frame('writev') },
      ],
      samples: [3, 2, 8, 5, 1],
      timeDeltas: [10, 20, 40, 80, 160],
    };
    const totals = inclusiveTimes(profile, ['flush', 'writev', 'emit', 'absent']);
    expect(Object.fromEntries(totals)).toEqual({ flush: 70, writev: 50, emit: 120, absent: 0 });
  });
});
