import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import {
  apiClientsKey,
  clientAuditKey,
  clientOrderIdsKey,
  clientSessionsKey,
  openOrdersKey,
  sessionKeys,
  sessionUpdatesChannel,
} from '../redis/keys.ts';
import { homeRegion } from './ids.ts';
import { DROP_CLAIM, WRITE_SESSION } from './trading-scripts.ts';
import { type Fill, isOpen, type Order, type OrderUpdate, type Position, type Session } from './types.ts';

type ScriptArg = string | number;

interface ScriptedClient {
  bookgraphWriteSession(...args: ScriptArg[]): Promise<number | [number, string]>;
}

/**
 * Versions of a session whose operation ids are kept: a resent write arrives within a reconnect
 * (seconds), far fewer writes of one session than this.
 */
export const OPS_KEPT = 1000;

export interface StoreLimits {
  /** Idle time after which a session and its orders, fills and updates expire. @default 86400000 */
  sessionTtlMs: number;
  /** Fills kept per session (approximate MAXLEN). @default 10000 */
  fillsMaxlen: number;
  /** Order updates kept per session for replay (approximate MAXLEN). @default 10000 */
  eventsMaxlen: number;
  /** Audit entries kept per client (approximate MAXLEN). @default 10000 */
  auditMaxlen: number;
  /** Audit entries older than this are trimmed; an idle client's stream expires after it. @default 30 days */
  auditRetentionMs: number;
}

export const DEFAULT_STORE_LIMITS: StoreLimits = {
  sessionTtlMs: 86_400_000,
  fillsMaxlen: 10_000,
  eventsMaxlen: 10_000,
  auditMaxlen: 10_000,
  auditRetentionMs: 30 * 86_400_000,
};

/** Longest value of an audit field: what a client sent is validated before, this is the last bound. */
const AUDIT_FIELD_MAX = 256;
const auditField = (value: string | null | undefined) => (value ?? '').slice(0, AUDIT_FIELD_MAX);

/** Everything one command changes in a session, written by one script call or not at all. */
export interface SessionWrite {
  session: Session;
  /** The version read; the write fails ('stale') if the session moved on. Null creates it. */
  expectedVersion: number | null;
  orders: Order[];
  fills: Fill[];
  events: OrderUpdate[];
  /** Claims clientOrderId -> order id; the write fails ('duplicate') if it names another order. */
  claim?: { clientOrderId: string; orderId: string };
  /** clientOrderIds to forget (a closed session's). */
  release?: readonly string[];
  /**
   * The command's operation id (idempotency key). A write carrying an id the session already
   * applied (ioredis resent it after its reply was lost) writes nothing and answers 'ok' again.
   * One id per command, the same on each of its attempts: only an applied attempt records it.
   * @default a fresh id for this write
   */
  opId?: string;
}

export type WriteOutcome = 'ok' | 'stale' | 'duplicate';

export interface AuditEntry {
  action:
    | 'openSession'
    | 'closeSession'
    | 'placeOrder'
    | 'cancelOrder'
    | 'cancelAllOrders'
    /** A venue report the order could not take (it is no longer open): kept for reconciliation. */
    | 'venueReport';
  sessionId: string;
  orderId?: string | null;
  clientOrderId?: string | null;
  /** What came of it: accepted, or the typed error's name. */
  result: string;
  detail?: string;
}

function sessionFields(s: Session): string[] {
  const out = [
    'id',
    s.id,
    'clientId',
    s.clientId,
    'region',
    s.region,
    'venue',
    s.venue,
    'status',
    s.status,
    'createdAt',
    String(s.createdAt),
    'updatedAt',
    String(s.updatedAt),
    'closedAt',
    s.closedAt === null ? '' : String(s.closedAt),
    'ver',
    String(s.version),
    'seq',
    String(s.seq),
    'orders',
    String(s.orderCount),
  ];
  for (const [asset, amount] of s.initialBalances) out.push(`init:${asset}`, amount);
  for (const [asset, amount] of s.totals) out.push(`bal:${asset}`, amount);
  for (const [asset, amount] of s.locked) out.push(`lock:${asset}`, amount);
  for (const [key, position] of s.positions) out.push(`pos:${key}`, JSON.stringify(position));
  return out;
}

function parseSession(fields: Record<string, string>): Session | null {
  if (!fields.id || !fields.clientId) return null;
  const session: Session = {
    id: fields.id,
    clientId: fields.clientId,
    region: fields.region ?? '',
    venue: 'PAPER',
    status: fields.status === 'CLOSED' ? 'CLOSED' : 'OPEN',
    createdAt: Number(fields.createdAt),
    updatedAt: Number(fields.updatedAt),
    closedAt: fields.closedAt ? Number(fields.closedAt) : null,
    version: Number(fields.ver),
    seq: Number(fields.seq),
    orderCount: Number(fields.orders),
    initialBalances: new Map(),
    totals: new Map(),
    locked: new Map(),
    positions: new Map(),
  };
  for (const [field, value] of Object.entries(fields)) {
    const colon = field.indexOf(':');
    if (colon < 0) continue;
    const kind = field.slice(0, colon);
    const name = field.slice(colon + 1);
    if (kind === 'init') session.initialBalances.set(name, value);
    else if (kind === 'bal') session.totals.set(name, value);
    else if (kind === 'lock') session.locked.set(name, value);
    else if (kind === 'pos') session.positions.set(name, JSON.parse(value) as Position);
  }
  return session;
}

function streamValues<T>(entries: [string, string[]][]): T[] {
  return entries.map(([, flat]) => JSON.parse(flat[1] ?? 'null') as T).filter((v) => v !== null);
}

/**
 * Sessions, orders, fills and order updates of one region in Redis, namespaced by client.
 * Every change is one WRITE_SESSION call: compare the session's version, write the session, its
 * orders, fills and updates, publish the updates, refresh the TTLs. Exact decimal arithmetic is
 * done in Node; the script only makes the write atomic and conditional.
 */
export class TradingStore {
  private readonly scripted: ScriptedClient;

  constructor(
    readonly redis: Redis | Cluster,
    readonly limits: StoreLimits = DEFAULT_STORE_LIMITS,
  ) {
    if (!('bookgraphWriteSession' in redis)) {
      redis.defineCommand('bookgraphWriteSession', { numberOfKeys: 8, lua: WRITE_SESSION });
    }
    this.scripted = redis as unknown as ScriptedClient;
  }

  async readSession(clientId: string, sessionId: string): Promise<Session | null> {
    const session = parseSession(await this.redis.hgetall(sessionKeys(clientId, sessionId).session));
    return session && session.clientId === clientId ? session : null;
  }

  async readOrder(clientId: string, sessionId: string, orderId: string): Promise<Order | null> {
    const json = await this.redis.hget(sessionKeys(clientId, sessionId).orders, orderId);
    return json ? (JSON.parse(json) as Order) : null;
  }

  async readOrders(clientId: string, sessionId: string, orderIds: readonly string[]): Promise<Order[]> {
    if (orderIds.length === 0) return [];
    const values = await this.redis.hmget(sessionKeys(clientId, sessionId).orders, ...orderIds);
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as Order);
  }

  async allOrders(clientId: string, sessionId: string): Promise<Order[]> {
    const values = await this.redis.hvals(sessionKeys(clientId, sessionId).orders);
    return values.map((v) => JSON.parse(v) as Order);
  }

  orderIdForClientOrderId(clientId: string, clientOrderId: string): Promise<string | null> {
    return this.redis.hget(clientOrderIdsKey(clientId), clientOrderId);
  }

  /** The client's session ids, newest first. */
  async sessionIds(clientId: string, limit: number): Promise<string[]> {
    return this.redis.zrevrange(clientSessionsKey(clientId), 0, limit - 1);
  }

  /** The newest `count` fills of the session, newest first. */
  async readFills(clientId: string, sessionId: string, count: number): Promise<Fill[]> {
    return streamValues<Fill>(
      await this.redis.xrevrange(sessionKeys(clientId, sessionId).fills, '+', '-', 'COUNT', count),
    );
  }

  /**
   * The session's kept updates after `seq`, oldest first (a subscriber resuming, or repairing a
   * gap): read newest first, a page at a time, back to `seq`, so a small gap reads little.
   */
  async readUpdatesAfter(
    clientId: string,
    sessionId: string,
    seq: number,
    page = 100,
  ): Promise<OrderUpdate[]> {
    const key = sessionKeys(clientId, sessionId).events;
    const out: OrderUpdate[] = [];
    let end = '+';
    for (;;) {
      const entries = await this.redis.xrevrange(key, end, '-', 'COUNT', page);
      for (const update of streamValues<OrderUpdate>(entries)) {
        if (update.seq <= seq) return out.reverse();
        out.push(update);
      }
      if (entries.length < page) return out.reverse();
      end = `(${entries.at(-1)![0]}`;
    }
  }

  /** Activity keeps a session alive: every key of it gets its full TTL again. */
  async touch(clientId: string, sessionId: string): Promise<void> {
    const k = sessionKeys(clientId, sessionId);
    const ttl = this.limits.sessionTtlMs;
    const keys = [
      k.session,
      k.orders,
      k.fills,
      k.events,
      k.ops,
      clientOrderIdsKey(clientId),
      clientSessionsKey(clientId),
    ];
    // The open orders of the session's region live as long as the session does.
    const region = homeRegion(sessionId);
    if (region) keys.push(openOrdersKey(clientId, region));
    await Promise.all(keys.map((key) => this.redis.pexpire(key, ttl)));
  }

  async write(clientId: string, w: SessionWrite): Promise<WriteOutcome> {
    const s = w.session;
    const k = sessionKeys(clientId, s.id);
    const opId = w.opId ?? randomUUID();
    // What the operation did, stored with its id: the same write resent finds the same outcome.
    const outcome = w.orders.length > 0 ? w.orders.map((o) => o.id).join(' ') : s.id;
    const args: ScriptArg[] = [
      k.session,
      k.orders,
      k.fills,
      k.events,
      clientOrderIdsKey(clientId),
      clientSessionsKey(clientId),
      openOrdersKey(clientId, s.region),
      k.ops,
      w.expectedVersion === null ? '' : String(w.expectedVersion),
      this.limits.sessionTtlMs,
      this.limits.fillsMaxlen,
      this.limits.eventsMaxlen,
      sessionUpdatesChannel(clientId, s.id),
      w.claim?.clientOrderId ?? '',
      w.claim?.orderId ?? '',
      s.id,
      s.createdAt,
      opId,
      outcome,
      s.version,
      OPS_KEPT,
    ];
    const fields = sessionFields(s);
    args.push(fields.length / 2, ...fields);
    args.push(w.orders.length);
    for (const order of w.orders) args.push(order.id, JSON.stringify(order));
    args.push(w.fills.length, ...w.fills.map((f) => JSON.stringify(f)));
    args.push(w.events.length, ...w.events.map((e) => JSON.stringify(e)));
    args.push(w.release?.length ?? 0, ...(w.release ?? []));
    // The region's index of open orders changes with the orders, in the same call.
    const opened = w.orders.filter((o) => isOpen(o.status));
    const ended = w.orders.filter((o) => !isOpen(o.status));
    args.push(opened.length);
    for (const order of opened) args.push(order.id, order.createdAt);
    args.push(ended.length, ...ended.map((o) => o.id));
    const result = await this.scripted.bookgraphWriteSession(...args);
    if (Array.isArray(result)) {
      // Applied already: by this very write (resent), since an attempt that is not applied
      // records nothing and a command stops at its applied attempt.
      if (result[1] !== outcome) {
        throw new Error(`operation ${opId} was applied as ${result[1]}, not as ${outcome}`);
      }
      return 'ok';
    }
    return result === 1 ? 'ok' : result === -1 ? 'duplicate' : 'stale';
  }

  /**
   * Every API client id, in batches (SSCAN of the global client set): where a restarting server
   * looks for its region's open orders.
   */
  async *clientIds(batch = 500): AsyncGenerator<string[]> {
    let cursor = '0';
    do {
      const [next, ids] = await this.redis.sscan(apiClientsKey(), cursor, 'COUNT', batch);
      cursor = next;
      if (ids.length > 0) yield ids;
    } while (cursor !== '0');
  }

  /** The client's open orders of `region` (paper orders resting, orders on a real venue), oldest first. */
  openOrderIds(clientId: string, region: string): Promise<string[]> {
    return this.redis.zrange(openOrdersKey(clientId, region), 0, -1);
  }

  /**
   * Drops index entries whose order has ended or expired with its session. Only the region's
   * own servers call this (single writer): an order that is no longer open never opens again.
   */
  async dropOpenOrders(clientId: string, region: string, orderIds: readonly string[]): Promise<void> {
    if (orderIds.length > 0) await this.redis.zrem(openOrdersKey(clientId, region), ...orderIds);
  }

  /** Forgets clientOrderId -> orderId if it still names that order (its session expired). */
  async dropClaim(clientId: string, clientOrderId: string, orderId: string): Promise<void> {
    const key = clientOrderIdsKey(clientId);
    await this.redis.eval(DROP_CLAIM, 1, key, clientOrderId, orderId);
  }

  /**
   * Appends one command to the client's audit stream, bounded in entries (MAXLEN), in bytes (each
   * field at most 256 characters) and in time (entries older than the retention are trimmed, and
   * an idle client's stream expires). Never the key, never the payload.
   */
  async audit(clientId: string, entry: AuditEntry, now: number): Promise<void> {
    const key = clientAuditKey(clientId);
    const retention = this.limits.auditRetentionMs;
    await this.redis
      .pipeline()
      .xadd(
        key,
        'MAXLEN',
        '~',
        this.limits.auditMaxlen,
        '*',
        'ts',
        String(now),
        'action',
        auditField(entry.action),
        'session',
        auditField(entry.sessionId),
        'order',
        auditField(entry.orderId),
        'clientOrderId',
        auditField(entry.clientOrderId),
        'result',
        auditField(entry.result),
        'detail',
        auditField(entry.detail),
      )
      .xtrim(key, 'MINID', '~', Math.max(0, now - retention))
      .pexpire(key, retention)
      .exec()
      .then((replies) => {
        const failed = replies?.find(([err]) => err);
        if (failed) throw failed[0];
      });
  }

  /** The client's audit entries, oldest first (tests, support). */
  async readAudit(clientId: string): Promise<Record<string, string>[]> {
    const entries = await this.redis.xrange(clientAuditKey(clientId), '-', '+');
    return entries.map(([, flat]) => {
      const out: Record<string, string> = {};
      for (let i = 0; i < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
      return out;
    });
  }
}
