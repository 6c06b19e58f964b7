import { request } from 'node:http';
import { ApiClientRegistry, type Scope } from '../../src/auth/api-keys.ts';
import type { RedisClient } from '../../src/redis/connection.ts';
import { ORDER_BOOK_UPDATES, subscribe } from '../helpers/graphql-clients.ts';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

/** One raw HTTP request (any method, body and headers, chunked when no length is given). */
export function http(
  port: number,
  path: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    chunked?: boolean;
  } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.body !== undefined && !options.chunked)
      headers['content-length'] = String(Buffer.byteLength(options.body));
    let answered = false;
    // A connection of its own (no keep-alive reuse): a kept-alive socket the server closes for
    // idleness just as a slow, loaded test reuses it would reset a request that was never answered.
    const req = request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers, agent: false },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
      },
    );
    // The server may answer (413) and close before the whole body is sent: not an error here, as
    // long as the answer comes. A connection that closes with no answer at all is one.
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') return;
      reject(err);
    });
    req.on('close', () => {
      if (!answered)
        reject(new Error(`${options.method ?? 'GET'} ${path}: the connection closed without an answer`));
    });
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** A GraphQL POST as JSON, with the key as a bearer token. */
export function gqlPost(
  port: number,
  query: string,
  variables: Record<string, unknown> = {},
  key?: string,
  path = '/graphql',
): Promise<HttpAnswer> {
  return http(port, path, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
}

export async function createKey(
  redis: RedisClient,
  name: string,
  scopes: Scope[] = ['marketdata:read', 'trade'],
  expiresAt?: number,
): Promise<{ id: string; key: string }> {
  const { client, key } = await new ApiClientRegistry(redis).create({ name, scopes, expiresAt });
  return { id: client.id, key };
}

/** Calls of one Redis command so far (INFO commandstats), to show a refusal read nothing. */
export async function commandCalls(redis: RedisClient, command: string): Promise<number> {
  const info = await redis.info('commandstats');
  const match = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info);
  return match ? Number(match[1]) : 0;
}

/** Milliseconds `/health` takes to answer. */
export async function healthMs(port: number): Promise<number> {
  const started = performance.now();
  const answer = await http(port, '/health');
  if (answer.status !== 200) throw new Error(`/health answered ${answer.status}`);
  return performance.now() - started;
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/** An `orderBookUpdates` subscription and the number of updates it got so far; unsubscribed by `cleanups`. */
export function countUpdates(
  client: Parameters<typeof subscribe>[0],
  book: { exchange: string; symbol: string; depth: number },
  cleanups: (() => unknown)[],
) {
  let n = 0;
  const handle = subscribe(client, ORDER_BOOK_UPDATES, book, () => {
    n += 1;
  });
  cleanups.push(handle.unsubscribe);
  return { ...handle, count: () => n };
}
