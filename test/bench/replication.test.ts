import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ReplicationRun, runReplicationOnce } from '../../bench/replication.ts';
import { replicatedWrites } from '../../bench/replication-classify.ts';
import { figures, VARIANTS } from '../../bench/replication-report.ts';
import { ReplicationStreamParser } from '../../bench/replication-tap.ts';

function resp(args: readonly string[]): Buffer {
  return Buffer.from(
    `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`,
  );
}

describe('replication stream parser', () => {
  it('returns every command with its exact byte size however the stream is split', () => {
    const command = fc.array(fc.string({ unit: 'binary' }), { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(
        fc.array(command, { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (commands, cuts) => {
          const stream = Buffer.concat(commands.map(resp));
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const parser = new ReplicationStreamParser();
          const parsed = [];
          let from = 0;
          for (const to of [...points, stream.length]) {
            parsed.push(...parser.push(stream.subarray(from, to)));
            from = to;
          }
          expect(parsed.map((c) => [c.name, ...c.args])).toEqual(
            commands.map(([name, ...args]) => [name!.toUpperCase(), ...args]),
          );
          expect(parsed.reduce((sum, c) => sum + c.bytes, 0)).toBe(stream.length);
        },
      ),
    );
  });
});

describe('replicated writes', () => {
  it('tells a snapshot from a delta by its message and counts removed elements as tombstones', () => {
    const parser = new ReplicationStreamParser();
    const book = 'bg:r1:book:{x:A/B}';
    const commands = parser.push(
      Buffer.concat([
        resp(['MULTI']),
        resp(['ZADD', `${book}:bids`, '1', '1']),
        resp(['PUBLISH', book, '{"v":1,"k":"s"}']),
        resp(['EXEC']),
        resp(['MULTI']),
        resp(['ZREM', `${book}:bids`, '1', '2']),
        resp(['HDEL', `${book}:sizes`, 'b:1', 'b:2']),
        resp(['HSET', `${book}:meta`, 'seq', '2']),
        resp(['PUBLISH', book, '{"v":1,"k":"d"}']),
        resp(['EXEC']),
        resp(['SET', 'bg:r1:lease:{r1:x}', 'h|1']),
      ]),
    );
    const writes = replicatedWrites(commands);
    expect(writes.map((w) => [w.region, w.kind, w.removedElements])).toEqual([
      ['r1', 'snapshot', 0],
      ['r1', 'delta', 4],
      ['r1', 'other', 0],
    ]);
    expect(writes[1]!.parts.levelRemove).toBe(
      resp(['ZREM', `${book}:bids`, '1', '2']).length + resp(['HDEL', `${book}:sizes`, 'b:1', 'b:2']).length,
    );
  });
});

describe('bench/replication.ts end to end (tiny N)', () => {
  it('measures positive replicated bytes for every category of every variant', async () => {
    const run: ReplicationRun = await runReplicationOnce({
      rounds: 24,
      snapshotEvery: 10,
      seed: 7,
      reads: 3,
    });
    expect(run.problems).toEqual([]);
    expect(run.tapBytes).toBe(run.offsetBytes);
    expect(run.variants.map((v) => v.variant)).toEqual([...VARIANTS]);
    for (const v of run.variants) {
      const f = figures(v);
      expect(v.delta.count, v.variant).toBeGreaterThan(0);
      expect(v.snapshot.count, v.variant).toBeGreaterThan(0);
      expect(f.bytesPerDelta, v.variant).toBeGreaterThan(0);
      expect(f.bytesPerSnapshot, v.variant).toBeGreaterThan(f.bytesPerDelta);
      expect(f.removalBytesPerDeletedLevel, v.variant).toBeGreaterThan(0);
      expect(f.tombstonesPerDelta, v.variant).toBeGreaterThan(0);
      expect(f.tombstonesPerSnapshot, v.variant).toBeGreaterThan(0);
      expect(v.snapshot.parts.del, `${v.variant}: the DEL of replacing snapshots`).toBeGreaterThan(0);
      expect(f.publishShare, v.variant).toBeGreaterThan(0);
      expect(f.publishShare, v.variant).toBeLessThan(1);
      expect(f.readTop10Us, v.variant).toBeGreaterThan(0);
    }
    const [current, ...alternatives] = run.variants;
    expect(figures(current!).bytesPerTrade).toBeGreaterThan(0);
    for (const alt of alternatives) expect(figures(alt).roundTripsPerUpdate, alt.variant).toBe(1);
  });
});
