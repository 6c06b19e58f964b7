/**
 * Which region's copy of a book a server serves. Several regions may ingest one venue; every copy
 * reaches every region through Active-Active replication. The server prefers its own region's copy
 * (nearest writer, no replication lag), falls back to another fresh copy when its own is stale or
 * absent, and never flaps: a copy it serves stays chosen while it stays fresh, since every switch
 * costs each subscriber a RESET and a SNAPSHOT.
 */

/** One region's copy of a book, as far as the choice needs it. */
export interface CopyFreshness {
  region: string;
  /** When the copy's last event was received by its ingester (meta `receiveTs`, ms); null: no copy. */
  lastWriteTs: number | null;
}

export interface CopyChoiceInput {
  /** Every listed region's copy, in `REGIONS` order (the order breaks ties). */
  copies: readonly CopyFreshness[];
  /** This server's region. */
  local: string;
  /** The copy served now, if any. */
  current?: string | undefined;
  now: number;
  /** A copy whose last write is older than this is stale. */
  staleAfterMs: number;
}

export function isFresh(copy: CopyFreshness, now: number, staleAfterMs: number): boolean {
  return copy.lastWriteTs !== null && now - copy.lastWriteTs <= staleAfterMs;
}

/**
 * The region whose copy to serve, or undefined when no region holds one. In order: the local copy
 * while it is fresh; the current copy while it is fresh; the freshest fresh copy (first in
 * `copies` on a tie). When no copy is fresh, nothing is gained by moving: the current copy if it
 * still exists, else the local one, else the most recently written.
 */
export function chooseCopy(input: CopyChoiceInput): string | undefined {
  const { copies, local, current, now, staleAfterMs } = input;
  const present = copies.filter((c) => c.lastWriteTs !== null);
  const byRegion = (region: string | undefined) => present.find((c) => c.region === region);
  const localCopy = byRegion(local);
  if (localCopy && isFresh(localCopy, now, staleAfterMs)) return local;
  const currentCopy = byRegion(current);
  if (currentCopy && isFresh(currentCopy, now, staleAfterMs)) return currentCopy.region;
  const freshest = newest(present.filter((c) => isFresh(c, now, staleAfterMs)));
  if (freshest) return freshest.region;
  return (currentCopy ?? localCopy ?? newest(present))?.region;
}

/** The copy written last; the first of equals. */
function newest(copies: readonly CopyFreshness[]): CopyFreshness | undefined {
  let best: CopyFreshness | undefined;
  for (const c of copies) if (!best || (c.lastWriteTs ?? 0) > (best.lastWriteTs ?? 0)) best = c;
  return best;
}
