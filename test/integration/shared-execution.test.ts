import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Runtime } from '../../src/runtime.ts';
import type { SharedExecutionStats } from '../../src/server/plugins/use-shared-execution.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { startTestRuntime } from '../helpers/runtime.ts';

const QUERY = `subscription { orderBookUpdates(exchange: "sim1", symbol: "BTC/USDT", depth: 10) {
  type seq prevSeq bids { price size } asks { price size } } }`;
const SUBSCRIBERS = 5;
const MESSAGES = 30;

interface Message {
  data?: { orderBookUpdates: { type: string; seq: number } };
}

describe('subscription fan-out executes each event once', () => {
  let redis: TestRedis;
  let runtime: Runtime;
  const stats: SharedExecutionStats = { executed: 0, shared: 0 };
  const clients: Client[] = [];

  beforeAll(async () => {
    redis = await startTestRedis();
    runtime = await startTestRuntime(
      redis.url,
      {
        SIM_UPDATES_PER_SEC: '40',
      },
      {
        executionStats: stats,
      },
    );
  });
  afterAll(async () => {
    for (const c of clients) await c.dispose();
    await runtime?.stop();
    await redis?.stop();
  });

  it('gives every subscriber of one view the same messages while executing each DELTA once', async () => {
    // Subscribers may join far apart on a loaded machine: each reads on until it has MESSAGES
    // DELTAs after the seq at which the last of them joined.
    const firstSeqs: (number | undefined)[] = Array.from({ length: SUBSCRIBERS }, () => undefined);
    const joinedAt = () =>
      firstSeqs.every((seq) => seq !== undefined) ? Math.max(...(firstSeqs as number[])) : undefined;
    const received = await Promise.all(
      Array.from({ length: SUBSCRIBERS }, async (_, i) => {
        const client = createClient({
          url: `ws://127.0.0.1:${runtime.port}/graphql`,
          webSocketImpl: WebSocket,
          retryAttempts: 0,
        });
        clients.push(client);
        const messages: Message[] = [];
        for await (const message of client.iterate({ query: QUERY })) {
          messages.push(message as Message);
          const seq = (message as Message).data?.orderBookUpdates.seq;
          firstSeqs[i] ??= seq;
          const since = joinedAt();
          const after = messages.filter(
            (m) =>
              since !== undefined &&
              m.data?.orderBookUpdates.type === 'DELTA' &&
              m.data.orderBookUpdates.seq > since,
          );
          if (after.length >= MESSAGES) break;
        }
        return messages;
      }),
    );
    const since = joinedAt()!;
    const bySeq = received.map(
      (messages) =>
        new Map(
          messages
            .filter((m) => m.data?.orderBookUpdates.type === 'DELTA' && m.data.orderBookUpdates.seq > since)
            .map((m) => [m.data!.orderBookUpdates.seq, JSON.stringify(m)]),
        ),
    );
    const common = [...bySeq[0]!.keys()].filter((seq) => bySeq.every((m) => m.has(seq)));
    expect(common.length).toBeGreaterThanOrEqual(MESSAGES);
    for (const seq of common) {
      const first = bySeq[0]!.get(seq);
      for (const m of bySeq) expect(m.get(seq)).toBe(first);
    }
    // Each common DELTA was executed once and shared with the other subscribers.
    expect(stats.shared).toBeGreaterThanOrEqual(common.length * (SUBSCRIBERS - 1));
    const delivered = received.reduce((n, messages) => n + messages.length, 0);
    expect(stats.executed).toBeLessThan(delivered);
  });
});
