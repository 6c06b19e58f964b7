import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('EXECUTION_VENUES', () => {
  it('is paper everywhere by default', () => {
    expect(loadConfig({}).trading.venues).toEqual([]);
  });

  it('sends a ccxt exchange to its venue with that exchange’s keys', () => {
    const config = loadConfig({
      EXECUTION_VENUES: 'binance=ccxt, okx=paper',
      BINANCE_API_KEY: 'k',
      BINANCE_API_SECRET: 's',
    });
    expect(config.trading.venues).toEqual([{ exchange: 'binance', apiKey: 'k', secret: 's' }]);
  });

  it('reports a malformed entry and missing keys', () => {
    expect(() => loadConfig({ EXECUTION_VENUES: 'binance=live' })).toThrow(
      /EXECUTION_VENUES: .*binance=live/,
    );
    let error: unknown;
    try {
      loadConfig({ EXECUTION_VENUES: 'binance=ccxt', BINANCE_API_KEY: 'k' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'EXECUTION_VENUES: binance=ccxt needs BINANCE_API_SECRET',
    ]);
  });

  it('reads a passphrase and a uid where they are set', () => {
    const config = loadConfig({
      EXECUTION_VENUES: 'okx=ccxt',
      OKX_API_KEY: 'k',
      OKX_API_SECRET: 's',
      OKX_API_PASSWORD: 'p',
      OKX_API_UID: '',
    });
    expect(config.trading.venues).toEqual([{ exchange: 'okx', apiKey: 'k', secret: 's', password: 'p' }]);
  });
});
