import { crc32, ShadowBook, type VenueLevel } from './shadow-book.ts';
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

/** OKX's incremental book channels (snapshot + updates); books5 and bbo-tbt are whole each time. */
const INCREMENTAL = new Set(['books', 'books-l2-tbt', 'books50-l2-tbt', 'books-rpi']);

interface OkxState {
  seqId: number;
  book: ShadowBook;
}

/**
 * OKX v5 books: `action: "snapshot"` on subscribing, then `update`s whose `prevSeqId` equals the
 * previous message's `seqId` (the step between seqIds is arbitrary; an update with no change
 * repeats it). Each message's `checksum` is the CRC32 (signed) of the best 25 bids and asks after
 * it, interleaved `bid:size:ask:size:...` with the venue's strings: checked on our own copy of
 * the book. A checksum of 0 counts as none (OKX sends 0 where it has dropped the field).
 */
export function okxContinuity(markets: readonly CheckedMarket[]): VenueContinuity {
  const ids = new Set(markets.map((m) => m.id));
  const states = new PerMarket<OkxState>();
  return {
    description: 'sequence (prevSeqId = previous seqId) and checksum (CRC32 of the best 25 levels)',
    inspect(message, connection): Inspection {
      if (!isRecord(message) || !isRecord(message.arg) || !Array.isArray(message.data)) return PASS;
      const { channel, instId } = message.arg;
      if (typeof channel !== 'string' || !INCREMENTAL.has(channel)) return PASS;
      if (typeof instId !== 'string' || !ids.has(instId)) return PASS;
      const snapshot = message.action === 'snapshot';
      let state = states.get(connection, instId);
      if (!snapshot && !state) return HOLD;
      for (const entry of message.data) {
        if (!isRecord(entry)) continue;
        const seqId = integerField(entry, 'seqId');
        const prevSeqId = integerField(entry, 'prevSeqId');
        if (snapshot && entry === message.data[0]) {
          state = { seqId: seqId ?? -1, book: new ShadowBook() };
        } else if (seqId !== undefined && prevSeqId !== state!.seqId) {
          return {
            kind: 'break',
            marketId: instId,
            check: 'sequence',
            reason: `update prevSeqId ${prevSeqId} (seqId ${seqId}) after seqId ${state!.seqId}`,
          };
        }
        state!.book.apply('bids', okxLevels(entry.bids));
        state!.book.apply('asks', okxLevels(entry.asks));
        if (seqId !== undefined) state!.seqId = seqId;
        const checksum = integerField(entry, 'checksum');
        if (checksum !== undefined && checksum !== 0) {
          const ours = okxChecksum(state!.book);
          if (ours !== checksum) {
            return {
              kind: 'break',
              marketId: instId,
              check: 'checksum',
              reason: `checksum ${checksum} at seqId ${seqId}, our book gives ${ours}`,
            };
          }
        }
      }
      states.set(connection, instId, state!);
      return PASS;
    },
    messageHash: (symbol) => `books:${symbol}`,
    reset: (marketId, connection) => states.delete(connection, marketId),
    forget: (connection) => states.forget(connection),
  };
}

function okxLevels(value: unknown): VenueLevel[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter((l): l is unknown[] => Array.isArray(l) && typeof l[0] === 'string' && typeof l[1] === 'string')
    .map((l) => [l[0] as string, l[1] as string]);
}

/** OKX's checksum: the best 25 of each side interleaved, `price:size`, CRC32 as a signed 32-bit integer. */
export function okxChecksum(book: ShadowBook): number {
  const bids = book.top('bids', 25);
  const asks = book.top('asks', 25);
  const parts: string[] = [];
  for (let i = 0; i < 25; i++) {
    const bid = bids[i];
    const ask = asks[i];
    if (bid) parts.push(bid[0], bid[1]);
    if (ask) parts.push(ask[0], ask[1]);
  }
  return crc32(parts.join(':')) | 0;
}
