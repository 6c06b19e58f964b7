/**
 * Our own copy of a venue's book, built from the raw stream messages (not from ccxt's book), for
 * the venues whose checksum covers the book after each message: each level keeps the venue's
 * strings, which the checksum is computed over.
 */
export type VenueLevel = readonly [price: string, size: string];

export class ShadowBook {
  readonly bids = new Map<number, VenueLevel>();
  readonly asks = new Map<number, VenueLevel>();

  /** Sets (size > 0) or removes (size 0) each level. */
  apply(side: 'bids' | 'asks', levels: readonly VenueLevel[]): void {
    const book = this[side];
    for (const level of levels) {
      const price = Number(level[0]);
      if (Number(level[1]) === 0) book.delete(price);
      else book.set(price, level);
    }
  }

  /** The best `count` levels of a side: bids descending, asks ascending. */
  top(side: 'bids' | 'asks', count: number): VenueLevel[] {
    const prices = [...this[side].keys()].sort(side === 'bids' ? (a, b) => b - a : (a, b) => a - b);
    return prices.slice(0, count).map((price) => this[side].get(price)!);
  }

  /** Keeps the best `depth` levels per side: a venue subscribed at a depth sends no delete for a level pushed out. */
  truncate(depth: number): void {
    for (const side of ['bids', 'asks'] as const) {
      if (this[side].size <= depth) continue;
      const keep = new Set(this.top(side, depth).map((level) => Number(level[0])));
      for (const price of this[side].keys()) if (!keep.has(price)) this[side].delete(price);
    }
  }
}

const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/** CRC-32 (IEEE, as zlib) of a string's UTF-8 bytes, unsigned. */
export function crc32(text: string): number {
  let crc = -1;
  for (const byte of Buffer.from(text, 'utf8')) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}
