import {
  type CheckedMarket,
  HOLD,
  type Inspection,
  integerField,
  isRecord,
  PASS,
  PerMarket,
  type VenueContinuity,
} from './types.ts';

/**
 * Bybit v5 `orderbook.<depth>.<id>`: a `snapshot` (on subscribing, or with `u = 1` after a venue
 * restart) and `delta`s whose update id `u` grows by exactly one. ccxt reads neither `u` nor
 * `seq` and builds a book from a delta with no snapshot, so a lost or reordered delta went unseen.
 * Bybit refuses a second subscription to a topic, so a resync unsubscribes first: the new
 * subscription brings a new snapshot; deltas before it are held.
 */
export function bybitContinuity(markets: readonly CheckedMarket[], depth: number): VenueContinuity {
  const ids = new Set(markets.map((m) => m.id));
  const last = new PerMarket<number>();
  const latest = new Map<string, number>();
  const accept = (connection: string, id: string, update: number): Inspection => {
    last.set(connection, id, update);
    latest.set(id, update);
    return PASS;
  };
  return {
    description: 'sequence: every delta has update id u = previous u + 1 after a snapshot',
    inspect(message, connection): Inspection {
      if (
        !isRecord(message) ||
        typeof message.topic !== 'string' ||
        !message.topic.startsWith('orderbook.')
      ) {
        return PASS;
      }
      const data = message.data;
      const id = isRecord(data) ? data.s : undefined;
      if (!isRecord(data) || typeof id !== 'string' || !ids.has(id)) return PASS;
      const update = integerField(data, 'u');
      if (update === undefined)
        return { kind: 'break', marketId: id, check: 'sequence', reason: 'message with no u' };
      if (message.type === 'snapshot') return accept(connection, id, update);
      const previous = last.get(connection, id);
      if (previous === undefined) return HOLD;
      if (update !== previous + 1) {
        return {
          kind: 'break',
          marketId: id,
          check: 'sequence',
          reason: `delta u ${update} after u ${previous}`,
        };
      }
      return accept(connection, id, update);
    },
    lastSeq: (marketId) => latest.get(marketId),
    messageHash: (symbol) => `orderbook:${symbol}`,
    unsubscribe: (market) => ({ op: 'unsubscribe', args: [`orderbook.${depth}.${market.id}`] }),
    reset: (marketId, connection) => last.delete(connection, marketId),
    forget: (connection) => last.forget(connection),
  };
}
