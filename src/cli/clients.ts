import { type ApiClient, ApiClientRegistry, SCOPES, type Scope } from '../auth/api-keys.ts';
import { loadConfig } from '../config.ts';
import { createRedis } from '../redis/connection.ts';
import { parseCommandLine } from './args.ts';
import { findRedisUrl } from './redis-url-file.ts';

const USAGE = `Usage: bookgraph clients <create|list|revoke> [options]

  create --name NAME [--scopes marketdata:read,trade] [--expires-in 30d|12h|15m] [--json]
         makes a client and prints its API key ONCE: only its SHA-256 is stored.
  list   [--json]      every client: id, name, scopes, created, expires, revoked (never a key)
  revoke ID            revokes the client's key; its open connections close with 4403

Uses REDIS_URL, else the private redis-server a running \`bookgraph start\` launched, else
redis://127.0.0.1:6379.`;

const DURATION_RE = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

function parseDuration(value: string): number {
  const match = DURATION_RE.exec(value);
  if (!match) throw new UsageError(`--expires-in: "${value}" is not a duration such as 30d, 12h, 15m or 90s`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

function parseScopes(value: string): Scope[] {
  const scopes = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0 || scopes.length === 0) {
    throw new UsageError(`--scopes: known scopes are ${SCOPES.join(', ')}; got "${value}"`);
  }
  return scopes as Scope[];
}

class UsageError extends Error {}

function iso(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString();
}

function row(c: ApiClient): string {
  return [
    c.id,
    c.name,
    c.scopes.join(','),
    iso(c.createdAt),
    iso(c.expiresAt),
    c.revokedAt === null ? '-' : `revoked ${iso(c.revokedAt)}`,
  ].join('\t');
}

/** `bookgraph clients …`: API clients and their keys, in the region's Redis. */
export async function clients(argv: string[]): Promise<void> {
  const parsed = parseCommandLine(
    'clients',
    argv,
    {
      name: { type: 'string' },
      scopes: { type: 'string' },
      'expires-in': { type: 'string' },
      json: { type: 'boolean' },
    },
    2,
  );
  const { positionals } = parsed;
  const values = parsed.values as {
    name?: string;
    scopes?: string;
    'expires-in'?: string;
    json?: boolean;
    help?: boolean;
  };
  const [action, id] = positionals;
  if (values.help || !action || !['create', 'list', 'revoke'].includes(action)) {
    (values.help ? console.log : console.error)(USAGE);
    if (!values.help) process.exitCode = 2;
    return;
  }
  const config = loadConfig();
  const redis = createRedis(await findRedisUrl(config.redis.url), 'command', {
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  const registry = new ApiClientRegistry(redis);
  try {
    if (action === 'create') {
      if (!values.name) throw new UsageError('create: --name is required');
      const expiresIn = values['expires-in'] ? parseDuration(values['expires-in']) : null;
      const { client, key } = await registry.create({
        name: values.name,
        scopes: parseScopes(values.scopes ?? SCOPES.join(',')),
        expiresAt: expiresIn === null ? null : Date.now() + expiresIn,
      });
      if (values.json) {
        console.log(JSON.stringify({ ...client, key }));
      } else {
        console.log(
          `client  ${client.id}  ${client.name}  scopes: ${client.scopes.join(', ')}  expires: ${iso(client.expiresAt)}`,
        );
        console.log(`key     ${key}`);
        console.log(
          '        This is the only time the key is shown: store it now. The server keeps only its SHA-256.',
        );
      }
    } else if (action === 'list') {
      const list = await registry.list();
      if (values.json) console.log(JSON.stringify(list));
      else for (const c of list) console.log(row(c));
    } else {
      if (!id) throw new UsageError('revoke: the client id is required');
      if (!(await registry.revoke(id))) {
        console.error(`No client "${id}".`);
        process.exitCode = 1;
      } else {
        console.log(`Revoked ${id}: its connections are being closed.`);
      }
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n\n${USAGE}`);
    process.exitCode = 2;
  } finally {
    redis.disconnect();
  }
}
