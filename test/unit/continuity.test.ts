import { describe, expect, it } from 'vitest';
import { binanceContinuity } from '../../src/marketdata/continuity/binance.ts';
import { bybitContinuity } from '../../src/marketdata/continuity/bybit.ts';
import { venueContinuity } from '../../src/marketdata/continuity/index.ts';
import { krakenChecksum, krakenContinuity } from '../../src/marketdata/continuity/kraken.ts';
import { okxChecksum, okxContinuity } from '../../src/marketdata/continuity/okx.ts';
import { crc32, ShadowBook } from '../../src/marketdata/continuity/shadow-book.ts';

/**
 * Our own continuity checks, message by message, on messages shaped as ccxt's captured examples
 * (the comments of node_modules/ccxt/js/src/pro/<venue>.js) and the venues' documentation.
 */
const A = 'wss://a';
const B = 'wss://b';

describe('crc32', () => {
  it('is the standard CRC-32 (zlib), unsigned', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(crc32('')).toBe(0);
  });
});

describe('binance: U/u (spot), pu (futures)', () => {
  const check = binanceContinuity([{ id: 'BNBBTC', symbol: 'BNB/BTC' }]);
  const diff = (U: number, u: number, extra: Record<string, unknown> = {}) => ({
    e: 'depthUpdate',
    E: 1577554482280,
    s: 'BNBBTC',
    U,
    u,
    b: [['0.0024', '10']],
    a: [['0.0026', '100']],
    ...extra,
  });

  it('passes a continuous chain per connection, breaks on a gap, a repeat or a step back', () => {
    expect(check.inspect(diff(157, 160), A).kind).toBe('pass');
    expect(check.inspect(diff(161, 161), A).kind).toBe('pass');
    // Another socket has its own chain.
    expect(check.inspect(diff(500, 510), B).kind).toBe('pass');
    expect(check.inspect(diff(163, 165), A)).toMatchObject({
      kind: 'break',
      marketId: 'BNBBTC',
      check: 'sequence',
    });
    // The broken message did not advance the chain: the real next one still passes.
    expect(check.inspect(diff(162, 162), A).kind).toBe('pass');
    expect(check.inspect(diff(162, 162), A).kind).toBe('break');
    // Combined-stream wrapping is read through.
    expect(check.inspect({ stream: 'bnbbtc@depth', data: diff(163, 170) }, A).kind).toBe('pass');
    expect(check.inspect({ stream: 'bnbbtc@depth', data: diff(175, 180) }, A).kind).toBe('break');
  });

  it('futures: pu must equal the previous u; a reset restarts the chain; other messages pass', () => {
    const futures = binanceContinuity([{ id: 'BNBBTC', symbol: 'BNB/BTC:BTC' }]);
    expect(futures.inspect(diff(100, 110, { pu: 99 }), A).kind).toBe('pass');
    expect(futures.inspect(diff(111, 120, { pu: 110 }), A).kind).toBe('pass');
    expect(futures.inspect(diff(121, 130, { pu: 119 }), A).kind).toBe('break');
    futures.reset('BNBBTC', A);
    expect(futures.inspect(diff(200, 210, { pu: 150 }), A).kind).toBe('pass');
    expect(futures.inspect({ e: 'trade', s: 'BNBBTC' }, A).kind).toBe('pass');
    expect(futures.inspect(diff(1, 2, { s: 'ETHBTC' }), A).kind).toBe('pass');
    expect(futures.inspect(diff(9, 2), A).kind).toBe('break');
  });
});

describe('bybit v5: snapshot, then u + 1', () => {
  const check = bybitContinuity([{ id: 'BTCUSDT', symbol: 'BTC/USDT' }], 50);
  const message = (type: 'snapshot' | 'delta', u: number) => ({
    topic: 'orderbook.50.BTCUSDT',
    type,
    ts: 1672304484978,
    data: { s: 'BTCUSDT', b: [['16493.50', '0.006']], a: [['16611.00', '0.029']], u, seq: 7961638724 + u },
  });

  it('holds deltas before a snapshot, passes u + 1, breaks on a lost, repeated or reordered delta', () => {
    expect(check.inspect(message('delta', 5), A).kind).toBe('hold');
    expect(check.inspect(message('snapshot', 18521288), A).kind).toBe('pass');
    expect(check.inspect(message('delta', 18521289), A).kind).toBe('pass');
    expect(check.inspect(message('delta', 18521291), A)).toMatchObject({ kind: 'break', check: 'sequence' });
    expect(check.inspect(message('delta', 18521289), A).kind).toBe('break');
    expect(check.inspect(message('delta', 18521290), A).kind).toBe('pass');
    // A venue restart sends a snapshot with u = 1.
    expect(check.inspect(message('snapshot', 1), A).kind).toBe('pass');
    expect(check.inspect(message('delta', 2), A).kind).toBe('pass');
    check.reset('BTCUSDT', A);
    expect(check.inspect(message('delta', 3), A).kind).toBe('hold');
  });

  it('resynchronises by unsubscribing the topic ccxt subscribed at its depth', () => {
    expect(check.unsubscribe?.({ id: 'BTCUSDT', symbol: 'BTC/USDT' })).toEqual({
      op: 'unsubscribe',
      args: ['orderbook.50.BTCUSDT'],
    });
    expect(check.messageHash('BTC/USDT')).toBe('orderbook:BTC/USDT');
  });
});

describe('okx: prevSeqId chain and the CRC32 of the best 25 levels', () => {
  const check = okxContinuity([{ id: 'BTC-USDT', symbol: 'BTC/USDT' }]);
  let book = new ShadowBook();
  const levels = (l: [string, string][]) => l.map(([p, s]) => [p, s, '0', s === '0' ? '0' : '1']);
  const message = (
    action: string,
    prevSeqId: number,
    seqId: number,
    bids: [string, string][],
    asks: [string, string][],
  ) => {
    if (action === 'snapshot') book = new ShadowBook();
    book.apply('bids', bids);
    book.apply('asks', asks);
    return {
      arg: { channel: 'books', instId: 'BTC-USDT' },
      action,
      data: [
        {
          asks: levels(asks),
          bids: levels(bids),
          ts: '1626532416403',
          checksum: okxChecksum(book),
          prevSeqId,
          seqId,
        },
      ],
    };
  };

  it("computes OKX's documented string: bid:size:ask:size interleaved", () => {
    const b = new ShadowBook();
    b.apply('bids', [
      ['3366.1', '7'],
      ['3366', '6'],
    ]);
    b.apply('asks', [
      ['3366.8', '9'],
      ['3368', '8'],
      ['3372', '8'],
    ]);
    expect(okxChecksum(b)).toBe(crc32('3366.1:7:3366.8:9:3366:6:3368:8:3372:8') | 0);
  });

  it('passes a good chain, breaks on a wrong prevSeqId and on a wrong checksum', () => {
    expect(check.inspect(message('update', 1, 2, [], []), A).kind).toBe('hold');
    expect(
      check.inspect(message('snapshot', -1, 100, [['31684.9', '0.01']], [['31685', '0.78']]), A).kind,
    ).toBe('pass');
    expect(check.inspect(message('update', 100, 104, [['31684.8', '1']], []), A).kind).toBe('pass');
    expect(check.inspect(message('update', 104, 104, [], []), A).kind).toBe('pass');
    expect(check.inspect(message('update', 103, 110, [], [['31685', '0']]), A)).toMatchObject({
      check: 'sequence',
    });
    const bad = message('update', 104, 111, [['31684.8', '2']], []);
    (bad.data[0] as { checksum: number }).checksum += 1;
    expect(check.inspect(bad, A)).toMatchObject({ kind: 'break', check: 'checksum' });
    // A checksum of 0 is none (OKX's deprecated field): the sequence is still checked.
    check.reset('BTC-USDT', A);
    const snapshot = message('snapshot', -1, 200, [], []);
    expect(check.inspect(snapshot, A).kind).toBe('pass');
    const none = message('update', 200, 201, [['31684.7', '1']], []);
    (none.data[0] as { checksum: number }).checksum = 0;
    expect(check.inspect(none, A).kind).toBe('pass');
    expect(check.inspect({ arg: { channel: 'bbo-tbt', instId: 'BTC-USDT' }, data: [{}] }, A).kind).toBe(
      'pass',
    );
  });
});

describe('kraken v2: CRC32 of the best 10 levels at the pair precision, book truncated to depth', () => {
  const market = { id: 'BTC/USD', symbol: 'BTC/USD', priceDecimals: 1, amountDecimals: 8 };

  it("formats as Kraken's guide: 45285.2 / 0.00100000 gives 452852100000", () => {
    const b = new ShadowBook();
    b.apply('asks', [['45285.2', '0.00100000']]);
    expect(krakenChecksum(b)).toBe(crc32('452852100000'));
  });

  it('checks snapshots and updates from the numbers v2 sends; truncates; breaks on a mismatch', () => {
    const check = krakenContinuity([market], 10);
    const truth = new ShadowBook();
    const toWire = (l: [number, number][]) => l.map(([price, qty]) => ({ price, qty }));
    const fmt = (l: [number, number][]) => l.map(([p, q]) => [p.toFixed(1), q.toFixed(8)] as const);
    const message = (type: string, bids: [number, number][], asks: [number, number][], tamper = 0) => {
      truth.apply('bids', fmt(bids));
      truth.apply('asks', fmt(asks));
      truth.truncate(10);
      return {
        channel: 'book',
        type,
        data: [
          {
            symbol: 'BTC/USD',
            bids: toWire(bids),
            asks: toWire(asks),
            checksum: krakenChecksum(truth) + tamper,
          },
        ],
      };
    };
    const side = (start: number, step: number) =>
      Array.from({ length: 10 }, (_, i) => [start + i * step, 0.1 + i] as [number, number]);
    expect(check.inspect(message('update', [], []), A).kind).toBe('hold');
    expect(check.inspect(message('snapshot', side(45283.5, -1), side(45285.2, 1)), A).kind).toBe('pass');
    // An insert in the middle pushes the 10th bid out, with no delete sent.
    expect(check.inspect(message('update', [[45283.4, 2]], []), A).kind).toBe('pass');
    expect(check.inspect(message('update', [[45283.5, 0]], [[45285.2, 0.5]]), A).kind).toBe('pass');
    expect(check.inspect(message('update', [[45270, 1]], [], 1), A)).toMatchObject({ check: 'checksum' });
    expect(check.unsubscribe?.(market)).toEqual({
      method: 'unsubscribe',
      params: { channel: 'book', symbol: ['BTC/USD'], depth: 10 },
    });
  });
});

describe('venueContinuity', () => {
  it('knows the Binance family, Bybit, OKX and Kraken, and nothing else', () => {
    for (const id of ['binance', 'binanceusdm', 'bybit', 'okx', 'kraken']) {
      expect(venueContinuity(id, [], undefined), id).toBeDefined();
    }
    expect(venueContinuity('coinbase', [], undefined)).toBeUndefined();
    expect(venueContinuity('toString', [], undefined)).toBeUndefined();
  });
});
