import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { App } from '../../src/server/app.ts';
import { subscribe, trackedClients } from '../helpers/graphql-clients.ts';
import { type RawWsClient, rawWsClient, updatesOf } from '../helpers/raw-ws.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { appOnStack, type Stack, startStack } from '../helpers/stack.ts';

/**
 * The push path (src/server/push-frames.ts): book subscriptions over graphql-ws written from the
 * view to the socket. Checked against the iterator path (`pushPath: false`) of a second app on the
 * same hub, so both serve the very same view events.
 */
const EXCHANGE = 'sim1';

/** Every field of BookUpdate, so that any difference in execution or serialisation shows. */
const ALL_FIELDS = `subscription All($exchange: String!, $symbol: String!, $depth: Int!) {
  orderBookUpdates(exchange: $exchange, symbol: $symbol, depth: $depth) {
    type exchange symbol region depth epoch seq prevSeq
    bids { price size } asks { price size }
    exchangeTimestamp receiveTimestamp venueSeq stale reason
    alias: seq
  }
}`;

const UPDATES = `subscription U($symbol: String!, $depth: Int!) {
  orderBookUpdates(exchange: "sim1", symbol: $symbol, depth: $depth) { type seq prevSeq reason }
}`;

const THROTTLED = `subscription T($depth: Int!) {
  orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: $depth, throttleMs: 50) { seq }
}`;

/** Room for the memory test's thousands of subscriptions from one address. */
const EDGE = {
  quotas: {
    subscriptionsPerConnection: 1_000,
    subscriptionsPerKey: 100_000,
    requestsPerSecond: 100_000,
    requestBurst: 100_000,
    connections: 1_000,
  },
};

let redis: TestRedis;
let stack: Stack;
let iteratorApp: App;
let iteratorUrl: string;
const raws: RawWsClient[] = [];
const clients = trackedClients();

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startStack(redis, {
    simulator: { seed: 5, updatesPerSecond: 50, venues: [EXCHANGE], symbols: ['BTC/USDT', 'ETH/USDT'] },
    edge: EDGE,
  });
  iteratorApp = appOnStack(stack, { pushPath: false, edge: EDGE });
  iteratorUrl = `ws://127.0.0.1:${await iteratorApp.start(0)}/graphql`;
});

afterAll(async () => {
  for (const raw of raws) raw.close();
  await clients.dispose();
  await iteratorApp?.stop();
  await stack?.stop();
  await redis?.stop();
});

async function raw(url: string): Promise<RawWsClient> {
  const client = await rawWsClient(url);
  raws.push(client);
  return client;
}

describe('the push path', () => {
  it('sends, byte for byte, the frames the iterator path sends for the same events', async () => {
    const variables = { exchange: EXCHANGE, symbol: 'BTC/USDT', depth: 10 };
    const pushed = await raw(stack.wsUrl);
    const iterated = await raw(iteratorUrl);
    pushed.subscribe('book-1', ALL_FIELDS, variables);
    iterated.subscribe('book-1', ALL_FIELDS, variables);
    const deltas = (client: RawWsClient) =>
      new Map(
        client.frames
          .filter((f) => f.type === 'next' && f.text.includes('"type":"DELTA"'))
          .map((f) => [updatesOf([f], 'book-1')[0]!.seq, f.text]),
      );
    const common = () => {
      const a = deltas(pushed);
      return [...deltas(iterated).keys()].filter((seq) => a.has(seq));
    };
    await pushed.until(() => common().length >= 20, 60_000, '20 DELTAs on both paths');
    await iterated.until(() => common().length >= 20, 60_000, '20 DELTAs on both paths');
    const a = deltas(pushed);
    const b = deltas(iterated);
    for (const seq of common()) expect(a.get(seq), `DELTA at seq ${seq}`).toBe(b.get(seq));
    // The first message on each is the view's SNAPSHOT; the seq chain holds throughout.
    for (const client of [pushed, iterated]) {
      const updates = updatesOf(client.frames, 'book-1');
      expect(updates[0]!.type).toBe('SNAPSHOT');
      for (let i = 1; i < updates.length; i++) expect(updates[i]!.prevSeq).toBe(updates[i - 1]!.seq);
    }
  });

  it('interleaves the subscriptions of one socket, each in order, and stops one on its complete', async () => {
    const client = await raw(stack.wsUrl);
    client.subscribe('a', UPDATES, { symbol: 'BTC/USDT', depth: 100 });
    client.subscribe('b', UPDATES, { symbol: 'ETH/USDT', depth: 100 });
    await client.until(
      () => updatesOf(client.frames, 'a').length >= 20 && updatesOf(client.frames, 'b').length >= 20,
      60_000,
      '20 messages on each',
    );
    const ids = client.frames.map((f) => f.id);
    const switches = ids.slice(1).filter((id, i) => id !== ids[i]).length;
    expect(switches, 'frames of both subscriptions interleave').toBeGreaterThanOrEqual(10);
    for (const id of ['a', 'b']) {
      const updates = updatesOf(client.frames, id);
      expect(updates[0]!.type).toBe('SNAPSHOT');
      for (let i = 1; i < updates.length; i++) expect(updates[i]!.prevSeq, id).toBe(updates[i - 1]!.seq);
    }
    client.complete('a');
    // Frames of `a` written in the tick of its complete may still arrive; none after b's next ones.
    const bNow = updatesOf(client.frames, 'b').length;
    await client.until(() => updatesOf(client.frames, 'b').length >= bNow + 5, 60_000, 'b goes on');
    const aCount = updatesOf(client.frames, 'a').length;
    await client.until(() => updatesOf(client.frames, 'b').length >= bNow + 15, 60_000, 'b goes on');
    expect(updatesOf(client.frames, 'a').length).toBe(aCount);
    // graphql-ws's own rules still hold: a second subscribe with a live id closes the socket (4409).
    client.subscribe('b', UPDATES, { symbol: 'ETH/USDT', depth: 100 });
    expect(await client.closed).toBe(4409);
  });

  it('releases the view when the client completes, or closes the socket', async () => {
    const depth = 7;
    const lease = await stack.hub.acquire(EXCHANGE, 'BTC/USDT', depth);
    const view = lease.view;
    try {
      for (const query of [UPDATES, THROTTLED]) {
        const ws = clients.ws(stack.wsUrl);
        let got = 0;
        const handle = subscribe(ws, query, { symbol: 'BTC/USDT', depth }, () => {
          got += 1;
        });
        await expect.poll(() => got, { timeout: 60_000 }).toBeGreaterThan(0);
        expect(view.listenerCount).toBe(1);
        handle.unsubscribe();
        await expect.poll(() => view.listenerCount, { timeout: 60_000 }).toBe(0);

        const other = await raw(stack.wsUrl);
        other.subscribe('x', query, { symbol: 'BTC/USDT', depth });
        await other.until(() => other.frames.length > 0, 60_000, 'a first message');
        expect(view.listenerCount).toBe(1);
        other.close();
        await expect.poll(() => view.listenerCount, { timeout: 60_000 }).toBe(0);
      }
    } finally {
      lease.release();
    }
    // Every lease was given back: the next one gets a new view.
    const again = await stack.hub.acquire(EXCHANGE, 'BTC/USDT', depth);
    expect(again.view).not.toBe(view);
    again.release();
  });

  it('keeps an open subscription small (heap per subscription, both paths, same run)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heap = async () => {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((r) => setImmediate(r));
      }
      return process.memoryUsage().heapUsed;
    };
    const SOCKETS = 10;
    const PER_SOCKET = 200;
    const measure = async (url: string, sockets: number, perSocket: number) => {
      // A client that keeps nothing per subscription but one byte, so the heap grows by the server's share.
      const seen = new Uint8Array(sockets * perSocket);
      let firsts = 0;
      let wake = () => {};
      const before = await heap();
      // One socket at a time: a flood of handshakes on a loaded machine outlasts graphql-ws's 3 s init wait.
      const opened: WebSocket[] = [];
      for (let s = 0; s < sockets; s++) {
        const ws = new WebSocket(url, 'graphql-transport-ws');
        opened.push(ws);
        await new Promise<void>((resolve, reject) => {
          ws.once('error', reject);
          ws.once('close', (code) => reject(new Error(`socket closed with ${code}`)));
          ws.once('open', () => ws.send('{"type":"connection_init"}'));
          ws.on('message', (data) => {
            const text = data.toString();
            if (text.startsWith('{"type":"connection_ack"')) resolve();
            const id = /^\{"id":"(\d+)"/.exec(text)?.[1];
            if (id !== undefined && seen[Number(id)] === 0) {
              seen[Number(id)] = 1;
              firsts += 1;
              wake();
            }
          });
        });
      }
      for (const [s, ws] of opened.entries()) {
        for (let i = 0; i < perSocket; i++) {
          const id = s * perSocket + i;
          const symbol = id % 2 === 0 ? 'BTC/USDT' : 'ETH/USDT';
          ws.send(
            `{"id":"${id}","type":"subscribe","payload":{"query":${JSON.stringify(UPDATES)},"variables":{"symbol":"${symbol}","depth":${1 + (id % 20)}}}}`,
          );
        }
      }
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${firsts} of ${seen.length} subscriptions started`)),
          120_000,
        );
        wake = () => {
          if (firsts < seen.length) return;
          clearTimeout(timer);
          resolve();
        };
        wake();
      });
      const perSubscription = ((await heap()) - before) / seen.length;
      for (const ws of opened) ws.terminate();
      return perSubscription;
    };
    // Idle books: what an open subscription holds, not the messages in flight to it.
    await stack.stopIngester();
    // A first round on each warms what is made once (views, compiled code, caches).
    await measure(stack.wsUrl, 2, 10);
    await measure(iteratorUrl, 2, 10);
    const pushBytes = await measure(stack.wsUrl, SOCKETS, PER_SOCKET);
    const iteratorBytes = await measure(iteratorUrl, SOCKETS, PER_SOCKET);
    console.log(
      `heap per open subscription (${SOCKETS} sockets x ${PER_SOCKET}): push ${Math.round(pushBytes)} B, iterator ${Math.round(iteratorBytes)} B`,
    );
    // The goal of issue 15 is 10 KB (measured 7.7-8.7 KB; docs/BENCHMARKS.md has where it goes);
    // the bound leaves room for the measurement's noise: well under the iterator path, under 11 KB.
    expect(pushBytes).toBeLessThan(11 * 1024);
    expect(pushBytes).toBeLessThan(iteratorBytes * 0.9);
  });
});
