/**
 * Turns the replicated command stream into costs: each script call's effects arrive as one
 * MULTI ... EXEC group (or a single command), so a group is one write, and its commands say which
 * kind of write it was and where its bytes went.
 */
import type { ReplicatedCommand } from './replication-tap.ts';

/** What one replicated write was. */
export type WriteKind = 'delta' | 'snapshot' | 'trade' | 'other';

/** Where a write's bytes went. */
export type Part =
  /** MULTI and EXEC around a script's effects. */
  | 'framing'
  | 'publish'
  /** The DEL of a snapshot. */
  | 'del'
  /** Levels added or resized (ZADD, HSET of level fields). */
  | 'levelWrite'
  /** Levels removed (ZREM, HDEL of level fields): each removed element is a tombstone in Active-Active. */
  | 'levelRemove'
  | 'meta'
  /** The trade's stream entry, last trade and candles. */
  | 'xadd'
  | 'ticker'
  | 'candles'
  | 'other';

export const PARTS: readonly Part[] = [
  'framing',
  'publish',
  'del',
  'levelWrite',
  'levelRemove',
  'meta',
  'xadd',
  'ticker',
  'candles',
  'other',
];

/** One replicated write: its region (from its key names), kind, bytes and removed elements. */
export interface ReplicatedWrite {
  region: string;
  kind: WriteKind;
  bytes: number;
  parts: Record<Part, number>;
  /** Members and fields removed by ZREM/HDEL (tombstones), not counting the DEL of a snapshot. */
  removedElements: number;
}

const REGION = /^bg:([^:]+):/;
/** A book channel message of a snapshot (encodeBookEvent's `k`). */
const SNAPSHOT_MESSAGE = /"k":"s"/;

function emptyParts(): Record<Part, number> {
  return Object.fromEntries(PARTS.map((p) => [p, 0])) as Record<Part, number>;
}

function partOf(command: ReplicatedCommand): Part {
  const key = command.args[0] ?? '';
  switch (command.name) {
    case 'MULTI':
    case 'EXEC':
      return 'framing';
    case 'PUBLISH':
      return 'publish';
    case 'DEL':
      return 'del';
    case 'XADD':
      return 'xadd';
  }
  if (key.endsWith(':meta')) return 'meta';
  if (key.includes(':ticker:')) return 'ticker';
  if (key.includes(':candles:')) return 'candles';
  if (key.includes(':book:')) {
    if (command.name === 'ZREM' || command.name === 'HDEL') return 'levelRemove';
    if (command.name === 'ZADD' || command.name === 'HSET') return 'levelWrite';
  }
  return 'other';
}

function classify(group: readonly ReplicatedCommand[]): ReplicatedWrite {
  const parts = emptyParts();
  let region = '';
  let removedElements = 0;
  let snapshot = false;
  let hasXadd = false;
  let bookPublish = false;
  for (const command of group) {
    const part = partOf(command);
    parts[part] += command.bytes;
    const key = command.args[0] ?? '';
    if (!region && part !== 'framing') region = REGION.exec(key)?.[1] ?? '';
    if (part === 'levelRemove') removedElements += command.args.length - 1;
    if (part === 'xadd') hasXadd = true;
    if (part === 'publish' && key.includes(':book:')) {
      bookPublish = true;
      // From the message, not from a DEL: a book's first snapshot has nothing to delete, and
      // Redis does not replicate a DEL that deleted nothing.
      snapshot = SNAPSHOT_MESSAGE.test(command.args[1] ?? '');
    }
  }
  const kind: WriteKind = hasXadd ? 'trade' : bookPublish ? (snapshot ? 'snapshot' : 'delta') : 'other';
  const bytes = group.reduce((sum, c) => sum + c.bytes, 0);
  return { region, kind, bytes, parts, removedElements };
}

/** Splits the stream into writes: a MULTI ... EXEC group is one, any other command one by itself. */
export function replicatedWrites(commands: readonly ReplicatedCommand[]): ReplicatedWrite[] {
  const writes: ReplicatedWrite[] = [];
  let group: ReplicatedCommand[] | null = null;
  for (const command of commands) {
    if (command.name === 'MULTI') group = [command];
    else if (group) {
      group.push(command);
      if (command.name === 'EXEC') {
        writes.push(classify(group));
        group = null;
      }
    } else writes.push(classify([command]));
  }
  return writes;
}

/** The writes of one region and kind, summed. */
export interface KindCost {
  count: number;
  bytes: number;
  parts: Record<Part, number>;
  removedElements: number;
}

/** Sums writes per region, then per kind. */
export function costByRegion(writes: readonly ReplicatedWrite[]): Map<string, Record<WriteKind, KindCost>> {
  const out = new Map<string, Record<WriteKind, KindCost>>();
  const empty = (): KindCost => ({ count: 0, bytes: 0, parts: emptyParts(), removedElements: 0 });
  for (const w of writes) {
    let byKind = out.get(w.region);
    if (!byKind) {
      byKind = { delta: empty(), snapshot: empty(), trade: empty(), other: empty() };
      out.set(w.region, byKind);
    }
    const cost = byKind[w.kind];
    cost.count += 1;
    cost.bytes += w.bytes;
    cost.removedElements += w.removedElements;
    for (const p of PARTS) cost.parts[p] += w.parts[p];
  }
  return out;
}
