/**
 * The replication benchmark's results: what one run measured per variant, the figures derived
 * from it, and the printed report (medians over runs).
 */
import { fmt, fmtInt, median, table } from './lib.ts';
import { type KindCost, PARTS, type Part } from './replication-classify.ts';
import { ALTERNATIVE_ENCODINGS } from './replication-encodings.ts';
export const VARIANTS = ['current', ...ALTERNATIVE_ENCODINGS] as const;
export type Variant = (typeof VARIANTS)[number];

/** One variant's replicated bytes in one run. */
export interface VariantCost {
  variant: Variant;
  delta: KindCost;
  snapshot: KindCost;
  /** Production only: the alternatives do not change trades. */
  trade: KindCost;
  /** Writer lease, feed status, market metadata (production only). */
  other: KindCost;
  /** Levels the deltas removed (size 0 of a level that existed), from the events. */
  deletedLevels: number;
  /** Elements (ZSET members, HASH fields) under the snapshots' DELs: tombstones in Active-Active. */
  snapshotTombstones: number;
  /** Snapshots that replaced a stored book (every one but each book's first). */
  replacingSnapshots: number;
  /** Script calls per book update (alternatives; production's is bench/ingest.ts's G3). */
  roundTripsPerUpdate: number;
  /** Median µs of one read of the top 10 levels per side, and of the whole book (a replica's bootstrap). */
  readTop10Us: number;
  readAllUs: number;
}

export interface ReplicationRun {
  variants: VariantCost[];
  /** Replication stream bytes the tap received, and how far `master_repl_offset` moved. */
  tapBytes: number;
  offsetBytes: number;
  problems: string[];
}

/** What the report prints per variant and run (bytes are replication stream bytes). */
export interface VariantFigures {
  bytesPerDelta: number;
  bytesPerSnapshot: number;
  /** Bytes of the level removals (ZREM/HDEL) per level a delta deleted. */
  removalBytesPerDeletedLevel: number;
  /** Elements removed per delta (each a tombstone in Active-Active until GC). */
  tombstonesPerDelta: number;
  /** Elements under the DEL of a snapshot that replaced a book. */
  tombstonesPerSnapshot: number;
  /** PUBLISH bytes over all book-write bytes. */
  publishShare: number;
  /** Book-write bytes per update over the run's mix of deltas and snapshots. */
  bytesPerUpdate: number;
  bytesPerTrade: number;
  roundTripsPerUpdate: number;
  readTop10Us: number;
  readAllUs: number;
}

export function figures(v: VariantCost): VariantFigures {
  const book = v.delta.bytes + v.snapshot.bytes;
  return {
    bytesPerDelta: v.delta.bytes / v.delta.count,
    bytesPerSnapshot: v.snapshot.bytes / v.snapshot.count,
    removalBytesPerDeletedLevel: v.delta.parts.levelRemove / v.deletedLevels,
    tombstonesPerDelta: v.delta.removedElements / v.delta.count,
    tombstonesPerSnapshot: v.snapshotTombstones / v.replacingSnapshots,
    publishShare: (v.delta.parts.publish + v.snapshot.parts.publish) / book,
    bytesPerUpdate: book / (v.delta.count + v.snapshot.count),
    bytesPerTrade: v.trade.count > 0 ? v.trade.bytes / v.trade.count : Number.NaN,
    roundTripsPerUpdate: v.roundTripsPerUpdate,
    readTop10Us: v.readTop10Us,
    readAllUs: v.readAllUs,
  };
}

/** The median of each figure over runs, per variant. */
export function medianFigures(runs: readonly ReplicationRun[]): Map<Variant, VariantFigures> {
  const out = new Map<Variant, VariantFigures>();
  for (const variant of VARIANTS) {
    const each = runs.map((r) => figures(r.variants.find((v) => v.variant === variant)!));
    const keys = Object.keys(each[0]!) as (keyof VariantFigures)[];
    out.set(
      variant,
      Object.fromEntries(keys.map((k) => [k, median(each.map((f) => f[k]))])) as unknown as VariantFigures,
    );
  }
  return out;
}

function partsRow(label: string, cost: KindCost, parts: readonly Part[]): string[] {
  return [label, fmtInt(cost.bytes / cost.count), ...parts.map((p) => fmt(cost.parts[p] / cost.count, 1))];
}

export function report(runs: readonly ReplicationRun[]): void {
  const med = medianFigures(runs);
  // The baseline is v1, the encoding production used before v2 (`current`).
  const base = med.get('zset-sizes')!;
  const pct = (x: number) => `${fmt(x * 100, 1)} %`;
  console.log('');
  console.log(
    table([
      [
        'variant',
        'B/delta',
        'B/snapshot',
        'removal B/deleted level',
        'tombstones/delta',
        'tombstones/snapshot',
        'PUBLISH share',
        'B/update (mix)',
        'vs v1 (zset-sizes)',
        'scripts/update',
        'read top 10 µs',
        'read all µs',
        'B/trade',
      ],
      ...VARIANTS.map((variant) => {
        const f = med.get(variant)!;
        return [
          variant,
          fmtInt(f.bytesPerDelta),
          fmtInt(f.bytesPerSnapshot),
          fmt(f.removalBytesPerDeletedLevel, 1),
          fmt(f.tombstonesPerDelta),
          fmt(f.tombstonesPerSnapshot, 1),
          pct(f.publishShare),
          fmtInt(f.bytesPerUpdate),
          `${fmt(f.bytesPerUpdate / base.bytesPerUpdate)}× (${pct(1 - f.bytesPerUpdate / base.bytesPerUpdate)} fewer)`,
          variant === 'current' ? '1 (G3)' : fmt(f.roundTripsPerUpdate),
          fmtInt(f.readTop10Us),
          fmtInt(f.readAllUs),
          fmtInt(f.bytesPerTrade),
        ];
      }),
    ]),
  );
  // Where a write's bytes go, from the last run (the split barely moves between runs).
  const last = runs[runs.length - 1]!;
  const used = PARTS.filter((p) =>
    last.variants.some((v) => ['delta', 'snapshot', 'trade'].some((k) => v[k as 'delta'].parts[p] > 0)),
  );
  console.log('');
  console.log(
    table([
      ['write (mean bytes, last run)', 'total', ...used],
      ...last.variants.flatMap((v) => [
        partsRow(`${v.variant} delta`, v.delta, used),
        partsRow(`${v.variant} snapshot`, v.snapshot, used),
      ]),
      partsRow('current trade', last.variants[0]!.trade, used),
    ]),
  );
  console.log(`RESULT ${JSON.stringify(Object.fromEntries(med))}`);
}
