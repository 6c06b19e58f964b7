/**
 * Alternative book encodings for the replication benchmark, each one Lua script (one round trip
 * per update, like the production WRITE_BOOK_EVENT) with the same (epoch, seq) check and the same
 * PUBLISH, so only the keys a write touches differ. They live here, not in src/redis/scripts.ts:
 * they are candidates to measure, not production code. `zset-sizes` is the encoding production
 * used until book encoding v2 (the baseline the choice was made against); `hash-lean-meta` is the
 * one production adopted, written here independently so the run checks production's bytes equal it.
 */

import type { BookEvent, Level } from '../src/marketdata/types.ts';
import { BookStore, bookEventArgv } from '../src/redis/book-store.ts';
import type { RedisClient } from '../src/redis/connection.ts';
import { bookKeys, legacyBookKeys } from '../src/redis/keys.ts';
import { eachLevel } from '../src/redis/scripts.ts';

/** The encodings the benchmark writes besides production's (v2: a HASH per side, lean meta). */
export const ALTERNATIVE_ENCODINGS = [
  'zset-sizes',
  'hash-per-side',
  'hash-lean-meta',
  'member-zset',
] as const;
export type AlternativeEncoding = (typeof ALTERNATIVE_ENCODINGS)[number];

/**
 * The same refusals as production's script: a delta must continue the stored (epoch, seq). They
 * are reads, so they cost no replication bytes; they are here so every variant does the same work.
 */
const seqCheck = (meta: string) => `
local kind = ARGV[3]
local epoch = ARGV[4]
local seq = tonumber(ARGV[5])
if kind ~= 'snapshot' then
  local stored = redis.call('HMGET', ${meta}, 'epoch', 'seq')
  if stored[1] ~= epoch or tonumber(stored[2]) + 1 ~= seq then
    return redis.error_reply('BOOKGRAPH_SEQ stored=' .. tostring(stored[2]) .. ' got=' .. seq)
  end
end
`;

/** Meta as production writes it: every field on every update. */
const FULL_META = `
redis.call('HSET', KEYS[3], 'epoch', epoch, 'seq', seq, 'exchangeTs', ARGV[6], 'receiveTs', ARGV[7], 'token', ARGV[8])
`;

/**
 * Meta that writes only what changes per delta: epoch and token are constant within an epoch of
 * one lease holder, so a delta writes seq and the two timestamps, and epoch/token are written by
 * the snapshot (or when the token changed).
 */
const LEAN_META = `
if kind == 'snapshot' or redis.call('HGET', KEYS[3], 'token') ~= ARGV[8] then
  redis.call('HSET', KEYS[3], 'epoch', epoch, 'seq', seq, 'exchangeTs', ARGV[6], 'receiveTs', ARGV[7], 'token', ARGV[8])
else
  redis.call('HSET', KEYS[3], 'seq', seq, 'exchangeTs', ARGV[6], 'receiveTs', ARGV[7])
end
`;

/** One HASH per side, price -> size; no ZSET: the reader sorts (books are tens of levels). */
const hashPerSide = (meta: string) => `${seqCheck('KEYS[3]')}
if kind == 'snapshot' then redis.call('DEL', KEYS[1], KEYS[2]) end
${eachLevel(
  'local hset, hdel = {}, {}',
  `if tonumber(size) == 0 then
      hdel[#hdel + 1] = price
    else
      hset[#hset + 1] = price
      hset[#hset + 1] = size
    end`,
  `if #hset > 0 then redis.call('HSET', KEYS[side], unpack(hset)) end
  if #hdel > 0 then redis.call('HDEL', KEYS[side], unpack(hdel)) end`,
)}
${meta}
redis.call('PUBLISH', ARGV[1], ARGV[2])
return seq
`;

/**
 * One ZSET per side whose member carries the size ("price:size", score = price); no sizes HASH.
 * A size change replaces the member: the old one is found by its score (a read) and removed.
 */
const MEMBER_ZSET = `${seqCheck('KEYS[3]')}
if kind == 'snapshot' then redis.call('DEL', KEYS[1], KEYS[2]) end
${eachLevel(
  'local zadd, zrem = {}, {}',
  `if kind ~= 'snapshot' then
      for _, old in ipairs(redis.call('ZRANGEBYSCORE', KEYS[side], price, price)) do
        zrem[#zrem + 1] = old
      end
    end
    if tonumber(size) ~= 0 then
      zadd[#zadd + 1] = price
      zadd[#zadd + 1] = price .. ':' .. size
    end`,
  `if #zrem > 0 then redis.call('ZREM', KEYS[side], unpack(zrem)) end
  if #zadd > 0 then redis.call('ZADD', KEYS[side], unpack(zadd)) end`,
)}
${FULL_META}
redis.call('PUBLISH', ARGV[1], ARGV[2])
return seq
`;

/**
 * Encoding v1, production's until v2: a ZSET per side (member = score = price) and one sizes HASH
 * (`b:`/`a:<price>` -> size), every meta field on every update. KEYS: bids, asks, sizes, meta.
 */
const ZSET_SIZES = `${seqCheck('KEYS[4]')}
if kind == 'snapshot' then redis.call('DEL', KEYS[1], KEYS[2], KEYS[3]) end
local prefixes = { 'b:', 'a:' }
local hset, hdel = {}, {}
${eachLevel(
  'local zadd, zrem = {}, {}',
  `if tonumber(size) == 0 then
      zrem[#zrem + 1] = price
      hdel[#hdel + 1] = prefixes[side] .. price
    else
      zadd[#zadd + 1] = price
      zadd[#zadd + 1] = price
      hset[#hset + 1] = prefixes[side] .. price
      hset[#hset + 1] = size
    end`,
  `if #zadd > 0 then redis.call('ZADD', KEYS[side], unpack(zadd)) end
  if #zrem > 0 then redis.call('ZREM', KEYS[side], unpack(zrem)) end`,
)}
if #hset > 0 then redis.call('HSET', KEYS[3], unpack(hset)) end
if #hdel > 0 then redis.call('HDEL', KEYS[3], unpack(hdel)) end
redis.call('HSET', KEYS[4], 'epoch', epoch, 'seq', seq, 'exchangeTs', ARGV[6], 'receiveTs', ARGV[7], 'token', ARGV[8])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return seq
`;

const SCRIPTS: Record<AlternativeEncoding, { command: string; lua: string }> = {
  'zset-sizes': { command: 'benchWriteZsetSizes', lua: ZSET_SIZES },
  'hash-per-side': { command: 'benchWriteHashPerSide', lua: hashPerSide(FULL_META) },
  'hash-lean-meta': { command: 'benchWriteHashLeanMeta', lua: hashPerSide(LEAN_META) },
  'member-zset': { command: 'benchWriteMemberZset', lua: MEMBER_ZSET },
};

type ScriptArg = string | number;
type Scripted = Record<string, (...args: ScriptArg[]) => Promise<number>>;

/** The keys an encoding's script takes: v1's four (its own names), else production's three. */
function keysOf(encoding: AlternativeEncoding, region: string, exchange: string, symbol: string): string[] {
  if (encoding === 'zset-sizes') {
    const v1 = legacyBookKeys(region, exchange, symbol);
    return [v1.bids, v1.asks, v1.sizes, v1.meta];
  }
  const k = bookKeys(region, exchange, symbol);
  return [k.bids, k.asks, k.meta];
}

/**
 * Writes book events in one alternative encoding under `region`'s book key names (production's,
 * or v1's for `zset-sizes`), one EVALSHA per event, and reads them back.
 */
export class AlternativeBookWriter {
  private readonly command: string;
  private readonly lua: string;
  /** Production's reader, which still reads a v1 book (rolling deploys): the `zset-sizes` reader. */
  private readonly v1Reader: BookStore;

  constructor(
    private readonly redis: RedisClient,
    readonly region: string,
    readonly encoding: AlternativeEncoding,
  ) {
    const { command, lua } = SCRIPTS[encoding];
    this.command = command;
    this.lua = lua;
    if (!(command in redis)) {
      redis.defineCommand(command, { numberOfKeys: encoding === 'zset-sizes' ? 4 : 3, lua });
    }
    this.v1Reader = new BookStore(redis, region);
  }

  /**
   * Loads the script, so the first EVALSHAs of a pipelined burst do not each fail NOSCRIPT and
   * come back as EVAL: the benchmark counts script calls per update.
   */
  async load(): Promise<void> {
    await this.redis.script('LOAD', this.lua);
  }

  write(event: BookEvent, message: string, token: number): Promise<number> {
    // The production script's arguments exactly, after this encoding's keys.
    const args: ScriptArg[] = [
      ...keysOf(this.encoding, this.region, event.exchange, event.symbol),
      ...bookEventArgv(this.region, event, message, token),
    ];
    const scripted = this.redis as unknown as Scripted;
    return scripted[this.command]!(...args);
  }

  /**
   * The top `depth` levels per side (0 = all), best first, with the meta, in one round trip: what
   * a reader of this encoding would do. The hash encodings fetch whole sides and sort them here.
   */
  async read(exchange: string, symbol: string, depth = 0): Promise<{ bids: Level[]; asks: Level[] }> {
    if (this.encoding === 'zset-sizes') {
      const book = await this.v1Reader.readBook(exchange, symbol, depth);
      return { bids: book?.bids ?? [], asks: book?.asks ?? [] };
    }
    const k = bookKeys(this.region, exchange, symbol);
    const pipeline = this.redis.pipeline();
    if (this.encoding === 'member-zset') {
      pipeline.zrevrange(k.bids, 0, depth - 1).zrange(k.asks, 0, depth - 1);
    } else pipeline.hgetall(k.bids).hgetall(k.asks);
    pipeline.hmget(k.meta, 'epoch', 'seq', 'exchangeTs', 'receiveTs');
    const replies = (await pipeline.exec()) ?? [];
    const bids = replies[0]?.[1];
    const asks = replies[1]?.[1];
    if (this.encoding === 'member-zset') {
      const split = (members: string[]): Level[] =>
        members.map((m) => {
          const at = m.indexOf(':');
          return [m.slice(0, at), m.slice(at + 1)] as const;
        });
      return { bids: split(bids as string[]), asks: split(asks as string[]) };
    }
    const sorted = (all: Record<string, string>, descending: boolean): Level[] => {
      const levels = Object.entries(all)
        .map(([price, size]) => [price, size] as const)
        .sort((a, b) => (descending ? Number(b[0]) - Number(a[0]) : Number(a[0]) - Number(b[0])));
      return depth > 0 ? levels.slice(0, depth) : levels;
    };
    return {
      bids: sorted(bids as Record<string, string>, true),
      asks: sorted(asks as Record<string, string>, false),
    };
  }
}
