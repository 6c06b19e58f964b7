import { describe, expect, it } from 'vitest';
import { parseScenarios, runFanoutBench } from '../../bench/fanout.ts';
import { lossOf } from '../../bench/fanout-run.ts';

describe('bench/fanout.ts end to end (tiny N)', () => {
  it('delivers every message from both servers with the same JSON; bookgraph executes once per update, the peer once per subscriber', async () => {
    const subscribersPerBook = 3;
    const result = await runFanoutBench({
      scenarios: [{ subscribers: 10 * subscribersPerBook, rate: 100 }],
      servers: ['bookgraph', 'naive-peer'],
      repeats: 1,
      warmSeconds: 1,
      measureSeconds: 2,
      subsPerConn: 1,
      depth: 20,
    });
    expect(result.runs.map((r) => r.run.server)).toEqual(['bookgraph', 'naive-peer']);
    for (const { run } of result.runs) {
      expect(lossOf(run), run.server).toBe(0);
      expect(run.expected, run.server).toBeGreaterThan(0);
      expect(run.delivered, run.server).toBe(run.expected);
      expect(run.cpuUsPerMessage, run.server).toBeGreaterThan(0);
      expect(Number.isFinite(run.latency.p99), run.server).toBe(true);
    }
    const [bookgraph, peer] = result.runs.map((r) => r.run);
    // Executions are sampled over IPC while updates flow: allow an update or two at either edge.
    expect(bookgraph!.executionsPerUpdate).toBeGreaterThan(0.95);
    expect(bookgraph!.executionsPerUpdate).toBeLessThan(1.05);
    expect(peer!.executionsPerUpdate).toBeGreaterThan(subscribersPerBook * 0.95);
    expect(peer!.executionsPerUpdate).toBeLessThan(subscribersPerBook * 1.05);
    expect(result.payloads.compared).toBeGreaterThan(100);
    expect(result.payloads.different).toBe(0);
  });

  it('rejects a scenario that is not SUBSCRIBERSxRATE', () => {
    expect(parseScenarios('100x1000, 5000x20')).toEqual([
      { subscribers: 100, rate: 1000 },
      { subscribers: 5000, rate: 20 },
    ]);
    expect(() => parseScenarios('100*1000')).toThrow(/not SUBSCRIBERSxUPDATES_PER_SEC/);
  });
});
