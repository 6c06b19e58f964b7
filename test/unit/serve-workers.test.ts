import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { answer, type ClusterMessage, Questions } from '../../src/server/cluster/messages.ts';
import {
  FIRST_RESTART_DELAY_MS,
  MAX_RESTART_DELAY_MS,
  restartDelayMs,
} from '../../src/server/cluster/worker-pool.ts';
import { MAX_WORKERS, parseWorkers, workersOptionProblem } from '../../src/server/cluster/workers-setting.ts';

describe('--workers / WORKERS', () => {
  it('takes a count of 1..64, or auto for one per core (capped)', () => {
    expect(parseWorkers('1', 8)).toBe(1);
    expect(parseWorkers('2', 8)).toBe(2);
    expect(parseWorkers(String(MAX_WORKERS), 8)).toBe(MAX_WORKERS);
    expect(parseWorkers('auto', 8)).toBe(8);
    expect(parseWorkers('auto', 1)).toBe(1);
    expect(parseWorkers('auto', 512)).toBe(MAX_WORKERS);
  });

  it.each(['0', '-1', 'x', '65', '2.5', '', ' ', '1e1', 'AUTO'])('refuses "%s"', (value) => {
    expect(parseWorkers(value, 8)).toBeUndefined();
    expect(workersOptionProblem(value)).toBe(
      `--workers: "${value}" is not a count of 1 to 64, or auto (one per core)`,
    );
  });

  it('is 1 by default and reported with the other variables when bad', () => {
    expect(loadConfig({}).workers).toBe(1);
    expect(loadConfig({ WORKERS: '3' }).workers).toBe(3);
    expect(loadConfig({ WORKERS: '' }).workers).toBe(1);
    let problems: string[] = [];
    try {
      loadConfig({ WORKERS: '0', PORT: 'x' });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      problems = (error as ConfigError).problems;
    }
    expect(problems).toContain('WORKERS: "0" is not a count of 1 to 64, or auto (one per core)');
    expect(problems.some((p) => p.startsWith('PORT: '))).toBe(true);
  });
});

describe('restartDelayMs', () => {
  it('restarts at once after a healthy run, doubling while a worker keeps crashing, up to the cap', () => {
    expect(restartDelayMs(1)).toBe(FIRST_RESTART_DELAY_MS);
    expect(restartDelayMs(2)).toBe(FIRST_RESTART_DELAY_MS * 2);
    expect(restartDelayMs(3)).toBe(FIRST_RESTART_DELAY_MS * 4);
    expect(restartDelayMs(40)).toBe(MAX_RESTART_DELAY_MS);
    const delays = Array.from({ length: 12 }, (_, i) => restartDelayMs(i + 1));
    expect(delays).toEqual([...delays].sort((a, b) => a - b));
  });
});

describe('Questions (the primary and its workers asking each other)', () => {
  type Sent = Extract<ClusterMessage, { bookgraph: 'ask' }>;

  it('pairs each answer with its question, by id, whatever the order', async () => {
    const questions = new Questions();
    const sent: Sent[] = [];
    const send = (m: ClusterMessage) => {
      sent.push(m as Sent);
      return true;
    };
    const first = questions.ask(send, 'ready', 60_000);
    const second = questions.ask(send, 'metrics', 60_000);
    expect(sent.map((m) => m.what)).toEqual(['ready', 'metrics']);
    questions.settle({ bookgraph: 'answer', id: sent[1]!.id, value: ['m'] });
    questions.settle({ bookgraph: 'answer', id: sent[0]!.id, error: 'redis not connected' });
    await expect(second).resolves.toEqual(['m']);
    await expect(first).rejects.toThrow('redis not connected');
    // A late or unknown answer changes nothing.
    questions.settle({ bookgraph: 'answer', id: sent[0]!.id, value: 'late' });
  });

  it('fails at once when the channel is closed, and at its bound when nobody answers', async () => {
    const questions = new Questions();
    await expect(questions.ask(() => false, 'ready', 60_000)).rejects.toThrow('the channel is closed');
    await expect(questions.ask(() => true, 'metrics', 20)).rejects.toThrow(
      'no answer to "metrics" within 20 ms',
    );
  });

  it('answer() sends the value, or the error message', async () => {
    const sent: ClusterMessage[] = [];
    const send = (m: ClusterMessage) => sent.push(m) > 0;
    answer(send, 7, async () => ['ok']);
    answer(send, 8, async () => {
      throw new Error('boom');
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toEqual([
      { bookgraph: 'answer', id: 7, value: ['ok'] },
      { bookgraph: 'answer', id: 8, error: 'boom' },
    ]);
  });
});
