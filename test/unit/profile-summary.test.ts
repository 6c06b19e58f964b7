import { describe, expect, it } from 'vitest';
import { selfTimes } from '../../bench/profile-summary.ts';

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
});
