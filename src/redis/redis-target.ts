/**
 * What REDIS_URL names: one server (`redis://`, `rediss://`), a Redis Cluster
 * (`redis+cluster://host:port,host:port`) or a Sentinel-managed primary
 * (`redis+sentinel://host:port,host:port/<master name>`). One variable for all three, so the
 * Kubernetes Secret that carries REDIS_URL carries any topology without new keys.
 */

export interface RedisNode {
  host: string;
  port: number;
}

interface Credentials {
  username: string | undefined;
  password: string | undefined;
  /** TLS (`rediss…` schemes). */
  tls: boolean;
}

export type RedisTarget =
  | { kind: 'standalone'; url: string }
  | ({ kind: 'cluster'; nodes: RedisNode[] } & Credentials)
  | ({ kind: 'sentinel'; sentinels: RedisNode[]; masterName: string; db: number } & Credentials);

export class RedisUrlError extends Error {
  override readonly name = 'RedisUrlError';
}

const DEFAULT_PORT = { cluster: 6379, sentinel: 26379 } as const;
const MULTI_HOST_RE = /^(rediss?)\+(cluster|sentinel):\/\/(?:([^@/]*)@)?([^/?#]+)(\/[^?#]*)?$/;

function parseNode(item: string, defaultPort: number): RedisNode {
  // `[::1]:7000` (IPv6) or `host:7000` or `host`.
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(item);
  const port = match?.[2] === undefined ? defaultPort : Number(match[2]);
  if (!match || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RedisUrlError(`"${item}" is not host:port`);
  }
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

function parseCredentials(userinfo: string | undefined, scheme: string): Credentials {
  if (!userinfo) return { username: undefined, password: undefined, tls: scheme === 'rediss' };
  const colon = userinfo.indexOf(':');
  const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
  const password = colon < 0 ? undefined : decodeURIComponent(userinfo.slice(colon + 1));
  return { username: user ? decodeURIComponent(user) : undefined, password, tls: scheme === 'rediss' };
}

/** Parses REDIS_URL; throws RedisUrlError naming what is wrong. */
export function parseRedisTarget(url: string): RedisTarget {
  const multi = MULTI_HOST_RE.exec(url);
  if (!multi) {
    let protocol = '';
    try {
      protocol = new URL(url).protocol;
    } catch {}
    if (protocol !== 'redis:' && protocol !== 'rediss:') {
      throw new RedisUrlError(
        'expected redis://, rediss://, redis+cluster://host:port,… or redis+sentinel://host:port,…/<master name>',
      );
    }
    return { kind: 'standalone', url };
  }
  const [, scheme, kind, userinfo, hosts, path] = multi as unknown as [
    string,
    string,
    'cluster' | 'sentinel',
    string | undefined,
    string,
    string | undefined,
  ];
  const nodes = hosts.split(',').map((item) => parseNode(item.trim(), DEFAULT_PORT[kind]));
  const credentials = parseCredentials(userinfo, scheme);
  const segments = (path ?? '').split('/').filter(Boolean).map(decodeURIComponent);
  if (kind === 'cluster') {
    if (segments.length > 0) throw new RedisUrlError('a cluster URL has no path (a cluster has only db 0)');
    return { kind, nodes, ...credentials };
  }
  const [masterName, db = '0', ...rest] = segments;
  if (!masterName || rest.length > 0 || !/^\d+$/.test(db)) {
    throw new RedisUrlError('a sentinel URL ends with /<master name> or /<master name>/<db>');
  }
  return { kind, sentinels: nodes, masterName, db: Number(db), ...credentials };
}
