import { readdirSync, readFileSync } from 'node:fs';
import type { GraphQLError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { type Runtime, startRuntime } from '../../src/runtime.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';

interface Answer {
  status: number;
  body: { data?: unknown; errors?: { message: string; extensions?: { code?: string; limit?: string } }[] };
}

async function post(port: number, query: string): Promise<Answer> {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

async function startServer(redis: TestRedis, env: Record<string, string>): Promise<Runtime> {
  const config = loadConfig({
    REDIS_URL: redis.url,
    PORT: '0',
    LOG_LEVEL: 'silent',
    SIM_UPDATES_PER_SEC: '5',
    ...env,
  });
  return startRuntime({ config, log: createLogger('silent'), ingest: true, serve: true, launchRedis: false });
}

describe('document limits (graphql-armor) and introspection', () => {
  let redis: TestRedis;
  let dev: Runtime;
  let prod: Runtime;

  beforeAll(async () => {
    redis = await startTestRedis();
    dev = await startServer(redis, {});
    prod = await startServer(redis, { NODE_ENV: 'production', ALLOW_ANONYMOUS_MARKETDATA: '1' });
  });
  afterAll(async () => {
    await prod?.stop();
    await dev?.stop();
    await redis?.stop();
  });

  it('refuses too many aliases, directives and tokens before execution, with a code and without the limit', async () => {
    const aliases = await post(
      dev.port!,
      `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: region`).join(' ')} }`,
    );
    const directives = await post(dev.port!, `{ region ${'@include(if: true) '.repeat(25)}}`);
    const tokens = await post(dev.port!, `{ ${'a '.repeat(5000)}}`);
    const size = await post(dev.port!, `{ region ${' '.repeat(40_000)}}`);
    expect(aliases.body.errors?.[0]?.message).toMatch(/too many aliases/);
    expect(directives.body.errors?.[0]?.message).toMatch(/too many directives/);
    expect(tokens.body.errors?.[0]?.message).toMatch(/too many tokens/);
    expect(size.body.errors?.[0]?.message).toMatch(/too large/);
    for (const answer of [aliases, directives, tokens, size]) {
      expect(answer.status).toBe(400);
      expect(answer.body.data).toBeUndefined();
      // Limit refusals have their own code and name the limit, not its value; never "Syntax Error".
      expect(answer.body.errors?.[0]?.extensions?.code).toBe('LIMIT_EXCEEDED');
      expect(answer.body.errors?.[0]?.message).not.toMatch(/\d|Syntax Error/);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${dev.port}/metrics`)).text();
    for (const protection of ['max_aliases', 'max_directives', 'max_tokens']) {
      expect(metrics).toMatch(
        new RegExp(`bookgraph_armor_rejections_total\\{protection="${protection}"\\} [1-9]`),
      );
    }
  });

  it('still answers real documents, and the server stays healthy after refusals', async () => {
    const fifteen = await post(
      dev.port!,
      `{ ${Array.from({ length: 15 }, (_, i) => `a${i}: region`).join(' ')} }`,
    );
    expect(fifteen.status).toBe(200);
    expect(fifteen.body.errors).toBeUndefined();
    const book = await post(
      dev.port!,
      '{ consolidatedBook(symbol: "BTC/USDT", depth: 50) { bids { price size venues { exchange size } } asks { price size venues { exchange size } } } }',
    );
    expect(book.body.errors).toBeUndefined();
    expect((await post(dev.port!, '{ region }')).body).toEqual({ data: { region: 'local' } });
  });

  it('lets every operation of the SDK through', () => {
    // Parse and validate as the server does (its envelop, armor's rules included), per document.
    // No request in the context, as on graphql-ws: parse does not pick one operation of many.
    const enveloped = dev.app!.yoga.getEnveloped({ params: {} });
    const dir = new URL('../../sdk/operations/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.graphql'));
    expect(files.length).toBeGreaterThan(3);
    for (const file of files) {
      const document = enveloped.parse(readFileSync(new URL(file, dir), 'utf8'));
      expect(
        enveloped.validate(enveloped.schema, document).map((e: GraphQLError) => e.message),
        file,
      ).toEqual([]);
    }
  });

  it('answers introspection and suggests field names in development only', async () => {
    const devSchema = await post(dev.port!, '{ __schema { queryType { name } } }');
    expect(devSchema.body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    expect((await post(dev.port!, '{ regoin }')).body.errors?.[0]?.message).toMatch(/Did you mean "region"/);

    const prodSchema = await post(prod.port!, '{ __schema { queryType { name } } }');
    expect(prodSchema.body.data).toBeUndefined();
    expect(prodSchema.body.errors?.[0]?.message).toMatch(/introspection/i);
    const typo = await post(prod.port!, '{ regoin }');
    expect(typo.status).toBe(400);
    expect(typo.body.errors?.[0]?.message).not.toMatch(/Did you mean/);
    expect((await post(prod.port!, '{ region }')).body).toEqual({ data: { region: 'local' } });
  });
});
