import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { buildSchema, GraphQLEnumType } from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  addDecimal,
  type BookgraphClient,
  BookSide,
  type BookUpdate,
  compareDecimal,
  ERROR_CODES,
  normalizeDecimal,
  subtractDecimal,
  sumDecimals,
  watchOrderBook,
} from '../../sdk/src/index.ts';

/** The SDK's book arithmetic and the local-book algorithm on scripted streams (no server). */

describe('decimal strings', () => {
  it('compares exactly where floats cannot', () => {
    expect(compareDecimal('0.1', '0.10')).toBe(0);
    expect(compareDecimal('9', '10')).toBe(-1);
    expect(compareDecimal('100.5', '100.49999999999999999999')).toBe(1);
    expect(compareDecimal('9007199254740993', '9007199254740992')).toBe(1);
    expect(compareDecimal('-1', '0')).toBe(-1);
    expect(subtractDecimal('64210.5', '64210.25')).toBe('0.25');
    expect(addDecimal('0.1', '0.2')).toBe('0.3');
    expect(sumDecimals(['1.5', '2.25', '0.25'])).toBe('4');
    expect(subtractDecimal('1', '1.5')).toBe('-0.5');
    expect(normalizeDecimal('0064210.500')).toBe('64210.5');
    expect(() => compareDecimal('1e3', '1')).toThrow(TypeError);
  });

  it('orders like the numbers they denote', () => {
    const decimal = fc
      .tuple(fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.integer({ min: 0, max: 8 }))
      .map(([n, scale]) => {
        const digits = n.toString().padStart(scale + 1, '0');
        return scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
      });
    const scaled = (d: string) => BigInt(`${d.split('.')[0]}${(d.split('.')[1] ?? '').padEnd(8, '0')}`);
    fc.assert(
      fc.property(decimal, decimal, (a, b) => {
        const expected = scaled(a) === scaled(b) ? 0 : scaled(a) < scaled(b) ? -1 : 1;
        expect(compareDecimal(a, b)).toBe(expected);
        expect(scaled(addDecimal(a, b))).toBe(scaled(a) + scaled(b));
      }),
    );
  });

  it('BookSide sorts by decimal value, merges equal prices and removes size zero', () => {
    const bids = new BookSide(true);
    bids.replace([
      { price: '9.5', size: '1' },
      { price: '10', size: '2' },
      { price: '100', size: '3' },
    ]);
    bids.apply([
      { price: '10.0', size: '4' },
      { price: '9.50', size: '0.000' },
    ]);
    expect(bids.sorted().map((l) => [l.price, l.size])).toEqual([
      ['100', '3'],
      ['10.0', '4'],
    ]);
  });
});

describe('the error codes the SDK knows', () => {
  it('are enum ErrorCode of schema.graphql', () => {
    const schema = buildSchema(readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8'));
    const codes = schema.getType('ErrorCode');
    expect(codes).toBeInstanceOf(GraphQLEnumType);
    expect([...ERROR_CODES]).toEqual((codes as GraphQLEnumType).getValues().map((v) => v.name));
  });
});

/** A client whose subscriptions play scripted messages, one script per subscribe call. */
function scriptedClient(scripts: BookUpdate[][]): { client: BookgraphClient; subscribed: () => number } {
  let calls = 0;
  const client = {
    subscribe() {
      const script = scripts[calls] ?? [];
      calls += 1;
      let i = 0;
      let ended = false;
      let endPending = () => {};
      const iterator: AsyncIterableIterator<{ orderBookUpdates: BookUpdate }> = {
        async next() {
          if (ended) return { done: true, value: undefined };
          const update = script[i++];
          // An exhausted script stays open, like a live subscription with nothing to say, until
          // `return()` (unsubscribing) ends the pending `next()` as the real transports do.
          if (!update) {
            return new Promise((resolve) => {
              endPending = () => resolve({ done: true, value: undefined });
            });
          }
          return { done: false, value: { orderBookUpdates: update } };
        },
        async return() {
          ended = true;
          endPending();
          return { done: true, value: undefined };
        },
        [Symbol.asyncIterator]() {
          return iterator;
        },
      };
      return iterator;
    },
    onConnectionChange: () => () => {},
  };
  return { client: client as unknown as BookgraphClient, subscribed: () => calls };
}

function update(type: BookUpdate['type'], seq: number, fields: Partial<BookUpdate> = {}): BookUpdate {
  return {
    type,
    exchange: 'sim1',
    symbol: 'BTC/USDT',
    epoch: 'e1',
    seq,
    prevSeq: type === 'DELTA' ? seq - 1 : null,
    reason: null,
    stale: false,
    receiveTimestamp: 1,
    bids: [],
    asks: [],
    ...fields,
  };
}

const snapshot = (seq: number, epoch = 'e1') =>
  update('SNAPSHOT', seq, {
    epoch,
    bids: [
      { price: '99', size: '1' },
      { price: '100', size: '2' },
    ],
    asks: [{ price: '101', size: '1' }],
  });

describe('watchOrderBook on scripted streams', () => {
  it('applies a SNAPSHOT and the DELTAs that continue it, sorting by decimal price', async () => {
    const { client } = scriptedClient([
      [
        snapshot(1),
        update('DELTA', 2, { bids: [{ price: '99.5', size: '3' }], asks: [{ price: '101', size: '0' }] }),
      ],
    ]);
    const watch = watchOrderBook(client, { exchange: 'sim1', symbol: 'BTC/USDT', depth: 5 });
    const seqs: number[] = [];
    watch.on('change', (book) => seqs.push(book.seq));
    for await (const book of watch) if (book.seq === 2) break;
    expect(seqs).toEqual([1, 2]);
    expect(watch.current()?.bids.map((l) => l.price)).toEqual(['100', '99.5', '99']);
    expect(watch.current()?.asks).toEqual([]);
    await watch.close();
  });

  it('drops the book on a prevSeq gap and resubscribes, never applying the gapped delta', async () => {
    const { client, subscribed } = scriptedClient([
      [
        snapshot(1),
        update('DELTA', 2),
        update('DELTA', 9, { prevSeq: 7, bids: [{ price: '1', size: '1' }] }),
      ],
      [snapshot(12)],
    ]);
    const watch = watchOrderBook(client, { exchange: 'sim1', symbol: 'BTC/USDT' });
    const drops: string[] = [];
    const seqs: number[] = [];
    watch.on('reset', (reason) => drops.push(reason));
    watch.on('change', (book) => seqs.push(book.seq));
    for await (const book of watch) if (book.seq === 12) break;
    expect(drops).toEqual(['CLIENT_GAP']);
    expect(seqs).toEqual([1, 2, 12]);
    expect(subscribed()).toBe(2);
    expect(watch.resubscriptions).toBe(1);
    expect(watch.current()?.bids.map((l) => l.price)).toEqual(['100', '99']);
    await watch.close();
  });

  it('on RESET holds no book until the SNAPSHOT that follows, on the same subscription', async () => {
    const { client, subscribed } = scriptedClient([
      [
        snapshot(1),
        update('RESET', 1, { reason: 'NEW_EPOCH' }),
        snapshot(1, 'e2'),
        update('DELTA', 2, { epoch: 'e2' }),
      ],
    ]);
    const watch = watchOrderBook(client, { exchange: 'sim1', symbol: 'BTC/USDT' });
    const seen: (string | undefined)[] = [];
    watch.on('reset', () => seen.push(watch.current()?.epoch));
    for await (const book of watch) if (book.epoch === 'e2' && book.seq === 2) break;
    expect(seen).toEqual([undefined]);
    expect(subscribed()).toBe(1);
    await watch.close();
  });

  it('treats a DELTA of another epoch as a gap', async () => {
    const { client, subscribed } = scriptedClient([
      [snapshot(1), update('DELTA', 2, { epoch: 'e9' })],
      [snapshot(3)],
    ]);
    const watch = watchOrderBook(client, { exchange: 'sim1', symbol: 'BTC/USDT' });
    for await (const book of watch) if (book.seq === 3) break;
    expect(subscribed()).toBe(2);
    await watch.close();
  });
});
