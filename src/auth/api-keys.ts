import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { apiClientKey, apiClientsKey, apiKeyRevokedChannel } from '../redis/keys.ts';

/** What a key may do. `marketdata:read`: queries and subscriptions of market data; `trade`: sessions and orders. */
export const SCOPES = ['marketdata:read', 'trade'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling: the client a valid, unexpired, unrevoked key belongs to. */
export interface Principal {
  clientId: string;
  name: string;
  scopes: ReadonlySet<Scope>;
  /** When the key stops working, ms since the Unix epoch; null if it never expires. */
  expiresAt: number | null;
}

/** A client as `bookgraph clients list` shows it: never the key, only its display prefix. */
export interface ApiClient {
  id: string;
  name: string;
  /** `bgk_<id>`: the first part of the key, enough to recognise it, useless to authenticate. */
  keyPrefix: string;
  scopes: Scope[];
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
}

const KEY_RE = /^bgk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** SHA-256 of the whole key, hex. Enough for a 256-bit random key: nothing to brute-force. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new key: `bgk_<16 hex id>_<32 random bytes, base64url>`. The id names the client. */
export function generateApiKey(): { id: string; key: string } {
  const id = randomBytes(8).toString('hex');
  return { id, key: `bgk_${id}_${randomBytes(32).toString('base64url')}` };
}

/** The client id a well-formed key names, or null. */
export function apiKeyClientId(key: string): string | null {
  return KEY_RE.exec(key)?.[1] ?? null;
}

/** The token of an `Authorization: Bearer <key>` value (case-insensitive scheme), or null. */
export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

function toClient(id: string, fields: Record<string, string>): ApiClient | null {
  if (!fields.keyHash) return null;
  return {
    id,
    name: fields.name ?? '',
    keyPrefix: `bgk_${id}`,
    scopes: (fields.scopes ?? '')
      .split(',')
      .filter((s): s is Scope => (SCOPES as readonly string[]).includes(s)),
    createdAt: Number(fields.createdAt),
    expiresAt: fields.expiresAt ? Number(fields.expiresAt) : null,
    revokedAt: fields.revokedAt ? Number(fields.revokedAt) : null,
  };
}

/**
 * Why a key was refused. `unavailable`: its record is missing and so is the whole registry (the
 * set of client ids): Redis lost its data (an empty restart, a failover to an empty replica), so
 * nothing can be said of the key yet. Retry later; it is not a refusal.
 */
export type AuthResult =
  | { ok: true; principal: Principal }
  | { ok: false; reason: 'malformed' | 'unknown' | 'revoked' | 'expired' | 'unavailable' };

/**
 * API clients and their keys in Redis. The key itself is returned once, by `create`, and never
 * stored: Redis holds its SHA-256. Revocation sets `revokedAt` and is published, so every server
 * in every region closes that client's connections at once.
 */
export class ApiClientRegistry {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly now: () => number = Date.now,
  ) {}

  async create(input: {
    name: string;
    scopes: readonly Scope[];
    expiresAt?: number | null;
  }): Promise<{ client: ApiClient; key: string }> {
    const { id, key } = generateApiKey();
    const createdAt = this.now();
    const fields = {
      name: input.name,
      keyHash: hashApiKey(key),
      scopes: [...new Set(input.scopes)].join(','),
      createdAt: String(createdAt),
      expiresAt: input.expiresAt ? String(input.expiresAt) : '',
      revokedAt: '',
    };
    await this.redis.hset(apiClientKey(id), fields);
    await this.redis.sadd(apiClientsKey(), id);
    const client = toClient(id, fields);
    if (!client) throw new Error('client not written');
    return { client, key };
  }

  async get(id: string): Promise<ApiClient | null> {
    return toClient(id, await this.redis.hgetall(apiClientKey(id)));
  }

  async list(): Promise<ApiClient[]> {
    const ids = (await this.redis.smembers(apiClientsKey())).sort();
    const clients = await Promise.all(ids.map((id) => this.get(id)));
    return clients.filter((c): c is ApiClient => c !== null).sort((a, b) => a.createdAt - b.createdAt);
  }

  /**
   * Whether the registry holds any client at all. A missing record in an intact registry is an
   * unknown key; in an empty one it says only that Redis lost its data.
   */
  async intact(): Promise<boolean> {
    return (await this.redis.exists(apiClientsKey())) === 1;
  }

  /** Revokes the client's key and tells every server; false if there is no such client. */
  async revoke(id: string): Promise<boolean> {
    const key = apiClientKey(id);
    if ((await this.redis.exists(key)) === 0) return false;
    await this.redis.hset(key, 'revokedAt', String(this.now()));
    await this.redis.publish(apiKeyRevokedChannel(), id);
    return true;
  }

  async authenticate(key: string): Promise<AuthResult> {
    const id = apiKeyClientId(key);
    if (!id) return { ok: false, reason: 'malformed' };
    const fields = await this.redis.hgetall(apiClientKey(id));
    const client = toClient(id, fields);
    const presented = Buffer.from(hashApiKey(key), 'hex');
    const stored = Buffer.from(fields.keyHash ?? '', 'hex');
    if (!client && !(await this.intact())) return { ok: false, reason: 'unavailable' };
    if (!client || stored.length !== presented.length || !timingSafeEqual(stored, presented)) {
      return { ok: false, reason: 'unknown' };
    }
    if (client.revokedAt !== null) return { ok: false, reason: 'revoked' };
    if (client.expiresAt !== null && client.expiresAt <= this.now()) return { ok: false, reason: 'expired' };
    return {
      ok: true,
      principal: {
        clientId: id,
        name: client.name,
        scopes: new Set(client.scopes),
        expiresAt: client.expiresAt,
      },
    };
  }
}
