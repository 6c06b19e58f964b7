import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import {
  binanceCoinMConflict,
  createExchange,
  unsupportedDepth,
} from '../../src/marketdata/ccxt-exchange.ts';

type SpotTest = { isSpotUrl(client: { url: string }): boolean };

const REST = 'http://127.0.0.1:9';
const WS = 'ws://127.0.0.1:9';

describe('createExchange: URL overrides keep what ccxt derives from its URLs', () => {
  it('binance: ccxt finds spot by "/stream" in the venue hostname; a rebased spot socket still counts as spot', () => {
    const real = createExchange('binance', {}, undefined, undefined) as unknown as SpotTest;
    expect(real.isSpotUrl({ url: 'wss://stream.binance.com:9443/ws/0' })).toBe(true);
    expect(real.isSpotUrl({ url: 'wss://fstream.binance.com/public/ws/0' })).toBe(false);

    const rebased = createExchange('binance', {}, REST, WS) as unknown as SpotTest;
    expect(rebased.isSpotUrl({ url: `${WS}/ws/0` })).toBe(true);
    // USDⓈ-M streams stay perpetual: ccxt puts them under /public/ws and /market/ws.
    expect(rebased.isSpotUrl({ url: `${WS}/public/ws/0` })).toBe(false);
    expect(rebased.isSpotUrl({ url: `${WS}/market/ws/1` })).toBe(false);
    // A URL override ending in /stream is spot by ccxt's own test, as before.
    const stream = createExchange('binance', {}, REST, `${WS}/stream`) as unknown as SpotTest;
    expect(stream.isSpotUrl({ url: `${WS}/stream/ws/0` })).toBe(true);
  });

  it('the futures-only classes never take a rebased socket for spot', () => {
    for (const id of ['binanceusdm', 'binancecoinm']) {
      const exchange = createExchange(id, {}, REST, WS) as unknown as SpotTest;
      expect(exchange.isSpotUrl({ url: `${WS}/ws/0` }), id).toBe(false);
    }
  });

  it('refuses spot and COIN-M markets behind one WebSocket override, naming the markets', () => {
    const rebased = createExchange('binance', {}, REST, WS);
    const spot = { symbol: 'BTC/USDT', spot: true };
    const linear = { symbol: 'BTC/USDT:USDT', linear: true };
    const inverse = { symbol: 'BTC/USD:BTC', inverse: true };
    expect(binanceCoinMConflict(rebased, [spot, linear])).toBeUndefined();
    expect(binanceCoinMConflict(rebased, [spot, inverse])).toMatch(/BTC\/USD:BTC.*binancecoinm/);
    expect(
      binanceCoinMConflict(createExchange('binance', {}, undefined, undefined), [inverse]),
    ).toBeUndefined();
    expect(binanceCoinMConflict(createExchange('okx', {}, REST, WS), [inverse])).toBeUndefined();
  });
});

describe('book depth per feed', () => {
  it('BOOK_DEPTH: one depth for every feed or <exchange id>=<levels> pairs; anything else is named', () => {
    const base = { REDIS_URL: 'redis://127.0.0.1:1' };
    expect(loadConfig({ ...base }).ccxt.depths).toEqual({});
    expect(loadConfig({ ...base, BOOK_DEPTH: 'kraken=25,bybit=200,100' }).ccxt.depths).toEqual({
      kraken: 25,
      bybit: 200,
      '*': 100,
    });
    let error: unknown;
    try {
      loadConfig({ ...base, BOOK_DEPTH: 'kraken=0,abc' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problem = (error as ConfigError).problems.find((p) => p.startsWith('BOOK_DEPTH'));
    expect(problem).toContain('"kraken=0"');
    expect(problem).toContain('"abc"');
  });

  it('refuses a depth the venue does not stream (Kraken 10/25/100/500/1000, Bybit spot 1/50/200/1000)', () => {
    expect(unsupportedDepth('kraken', 25)).toBeUndefined();
    expect(unsupportedDepth('kraken', 50)).toMatch(
      /kraken streams books at 10, 25, 100, 500, 1000 levels, not 50/,
    );
    expect(unsupportedDepth('bybit', 200)).toBeUndefined();
    expect(unsupportedDepth('bybit', 25)).toMatch(/not 25/);
    expect(unsupportedDepth('binance', 37)).toBeUndefined();
    expect(unsupportedDepth('kraken', undefined)).toBeUndefined();
  });
});
