import {
  type CheckedMarket,
  type Inspection,
  integerField,
  isRecord,
  PASS,
  PerMarket,
  type VenueContinuity,
} from './types.ts';

/**
 * Binance diff depth (`depthUpdate`): each event's first update id `U` follows the previous
 * event's final id `u` (spot: `U = u' + 1`); USDⓈ-M/COIN-M events carry the previous final id as
 * `pu` (`pu = u'`). The snapshot comes over REST, so after a reset the next event starts the chain
 * again (ccxt aligns it with the snapshot's `lastUpdateId`).
 */
export function binanceContinuity(markets: readonly CheckedMarket[]): VenueContinuity {
  const ids = new Set(markets.map((m) => m.id));
  const last = new PerMarket<number>();
  return {
    description: 'sequence: every diff continues the previous one (U = u + 1; futures pu = u)',
    inspect(raw, connection): Inspection {
      // Combined streams wrap events as { stream, data }.
      const message = isRecord(raw) && typeof raw.stream === 'string' && isRecord(raw.data) ? raw.data : raw;
      if (!isRecord(message) || message.e !== 'depthUpdate') return PASS;
      const id = message.s;
      if (typeof id !== 'string' || !ids.has(id)) return PASS;
      const first = integerField(message, 'U');
      const final = integerField(message, 'u');
      const previousFinal = integerField(message, 'pu');
      if (first === undefined || final === undefined || final < first) {
        return {
          kind: 'break',
          marketId: id,
          check: 'sequence',
          reason: `diff with no valid U/u (U ${first}, u ${final})`,
        };
      }
      const previous = last.get(connection, id);
      if (previous !== undefined) {
        const follows = previousFinal !== undefined ? previousFinal === previous : first === previous + 1;
        if (!follows) {
          const got = previousFinal !== undefined ? `pu ${previousFinal}` : `U ${first}`;
          return {
            kind: 'break',
            marketId: id,
            check: 'sequence',
            reason: `diff ${got}..u ${final} does not follow u ${previous}`,
          };
        }
      }
      last.set(connection, id, final);
      return PASS;
    },
    messageHash: (symbol) => `orderbook::${symbol}`,
    reset: (marketId, connection) => last.delete(connection, marketId),
    forget: (connection) => last.forget(connection),
  };
}
