import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { backoffDelay, createExchange, rebaseUrls } from '../../src/marketdata/ccxt-feed.ts';
import { canonicalDecimal, decimalFromNumber, formatDecimal } from '../../src/marketdata/decimal.ts';

describe('decimalFromNumber (venue decimals back from ccxt floats)', () => {
  it('returns the venue string for any decimal of up to 15 significant digits (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 999_999_999_999_999n }),
        fc.integer({ min: 0, max: 20 }),
        (units, scale) => {
          const venue = formatDecimal({ units, scale });
          expect(decimalFromNumber(Number(venue))).toBe(canonicalDecimal(venue));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('never emits float artefacts or exponents', () => {
    expect(decimalFromNumber(0.1 + 0.2)).toBe('0.3');
    expect(decimalFromNumber(64210.5)).toBe('64210.5');
    expect(decimalFromNumber(Number('64210.50000000'))).toBe('64210.5');
    expect(decimalFromNumber(1e-8)).toBe('0.00000001');
    expect(decimalFromNumber(1.5e-7)).toBe('0.00000015');
    expect(decimalFromNumber(1e21)).toBe('1000000000000000000000');
    expect(decimalFromNumber(0)).toBe('0');
    expect(() => decimalFromNumber(Number.NaN)).toThrow(RangeError);
  });
});

describe('rebaseUrls', () => {
  it('moves every REST and WebSocket origin, keeping paths and non-URL values', () => {
    const api = {
      public: 'https://api.binance.com/api/v3',
      rest: 'https://{hostname}',
      ws: {
        spot: 'wss://stream.binance.com:9443/ws',
        'ws-api': { spot: 'wss://ws-api.binance.com:443/ws-api/v3' },
      },
      list: ['https://a.example/x'],
      doc: 'not a url',
    };
    expect(rebaseUrls(api, 'http://127.0.0.1:1/', 'ws://127.0.0.1:2/prefix')).toEqual({
      public: 'http://127.0.0.1:1/api/v3',
      rest: 'http://127.0.0.1:1',
      ws: { spot: 'ws://127.0.0.1:2/prefix/ws', 'ws-api': { spot: 'ws://127.0.0.1:2/prefix/ws-api/v3' } },
      list: ['http://127.0.0.1:1/x'],
      doc: 'not a url',
    });
    expect(rebaseUrls(api, undefined, undefined)).toEqual(api);
  });
});

describe('backoffDelay', () => {
  it('doubles per failure up to the maximum, with half of it random', () => {
    const options = { initialDelayMs: 100, maxDelayMs: 1_000 };
    expect(backoffDelay(0, options, () => 0)).toBe(50);
    expect(backoffDelay(0, options, () => 1)).toBe(100);
    expect(backoffDelay(2, options, () => 1)).toBe(400);
    expect(backoffDelay(10, options, () => 1)).toBe(1_000);
    expect(backoffDelay(1_000, options, () => 0)).toBe(500);
  });
});

describe('ccxt configuration', () => {
  it('accepts ccxt:<exchange> feeds, symbols and URL overrides (one for all, or per exchange)', () => {
    const config = loadConfig({
      FEEDS: 'ccxt:binance, ccxt:okx',
      SYMBOLS: 'BTC/USDT, SOL/USDT',
      EXCHANGE_REST_URL: 'http://127.0.0.1:8080',
      EXCHANGE_WS_URL: 'binance=ws://127.0.0.1:8081,okx=wss://okx.proxy.internal/ws',
    });
    expect(config.feeds).toEqual(['ccxt:binance', 'ccxt:okx']);
    expect(config.ccxt).toEqual({
      symbols: ['BTC/USDT', 'SOL/USDT'],
      feedSymbols: {},
      restUrls: { '*': 'http://127.0.0.1:8080' },
      wsUrls: { binance: 'ws://127.0.0.1:8081', okx: 'wss://okx.proxy.internal/ws' },
      depths: {},
      auditIntervalMs: 5_000,
    });
  });

  it('BOOK_AUDIT_INTERVAL_MS: the audit interval, 0 = off; anything else is refused', () => {
    expect(loadConfig({ FEEDS: 'ccxt:binance', BOOK_AUDIT_INTERVAL_MS: '0' }).ccxt.auditIntervalMs).toBe(0);
    expect(loadConfig({ FEEDS: 'ccxt:binance', BOOK_AUDIT_INTERVAL_MS: '2500' }).ccxt.auditIntervalMs).toBe(
      2500,
    );
    for (const bad of ['-1', 'soon', '1.5']) {
      expect(() => loadConfig({ FEEDS: 'ccxt:binance', BOOK_AUDIT_INTERVAL_MS: bad })).toThrow(
        /BOOK_AUDIT_INTERVAL_MS/,
      );
    }
  });

  it('defaults SYMBOLS, so FEEDS=ccxt:binance alone (the k8s ingester) is a valid config', () => {
    const config = loadConfig({ FEEDS: 'ccxt:binance' });
    expect(config.ccxt).toEqual({
      symbols: ['BTC/USDT', 'ETH/USDT'],
      feedSymbols: {},
      restUrls: {},
      wsUrls: {},
      depths: {},
      auditIntervalMs: 5_000,
    });
  });

  it('reports bad feeds, symbols and URLs together', () => {
    let error: unknown;
    try {
      loadConfig({
        FEEDS: 'ccxt:Binance',
        SYMBOLS: 'btcusdt',
        EXCHANGE_REST_URL: 'ws://wrong.scheme',
        EXCHANGE_WS_URL: 'okx=nope',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    for (const name of ['FEEDS', 'SYMBOLS', 'EXCHANGE_REST_URL', 'EXCHANGE_WS_URL']) {
      expect(
        problems.some((p) => p.startsWith(name)),
        `${name} in ${JSON.stringify(problems)}`,
      ).toBe(true);
    }
  });
});

describe('createExchange', () => {
  it('marks unawaited WebSocket sends observed, while an awaited send still rejects', async () => {
    const exchange = createExchange('binance', {}, 'http://127.0.0.1:9', 'ws://127.0.0.1:9');
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await exchange.loadHttpProxyAgent();
      const client = exchange.client('ws://127.0.0.1:9/ws');
      // Never connected: ccxt's send fails, as it does after a close.
      void client.send({ method: 'SUBSCRIBE' });
      await expect(client.send({ method: 'SUBSCRIBE' })).rejects.toBeDefined();
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
