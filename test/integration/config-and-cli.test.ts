import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { cliEnv, killChildren, spawnCli, startedLine } from '../helpers/cli.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';

afterEach(killChildren);

describe('config', () => {
  it('reports every invalid variable at once', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'abc',
        REGION: 'BAD',
        REDIS_URL: 'http://nope',
        SIM_UPDATES_PER_SEC: '0',
        LOG_LEVEL: 'loud',
        FEEDS: 'sim,ccxt',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    for (const name of ['PORT', 'REGION', 'REDIS_URL', 'SIM_UPDATES_PER_SEC', 'LOG_LEVEL', 'FEEDS']) {
      expect(
        problems.some((p) => p.startsWith(name)),
        `${name} in ${JSON.stringify(problems)}`,
      ).toBe(true);
    }
    expect((error as ConfigError).message).toContain('PORT');
  });

  it('accepts a valid environment and applies defaults', () => {
    const config = loadConfig({ PORT: '0', REGION: 'eu-west-1', SIM_UPDATES_PER_SEC: '' });
    expect(config.http.port).toBe(0);
    expect(config.region).toBe('eu-west-1');
    expect(config.simulator.updatesPerSecond).toBe(10);
    expect(config.feeds).toEqual(['sim']);
    expect(Object.isFrozen(config)).toBe(true);
  });
});

describe('bookgraph CLI', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await startTestRedis();
  });

  afterAll(async () => {
    await redis?.stop();
  });

  it('exits non-zero and prints every configuration problem', async () => {
    const cli = spawnCli(['start'], cliEnv({ PORT: 'abc', REGION: 'BAD', REDIS_URL: redis.url }));
    const { code } = await cli.exited;
    expect(code).not.toBe(0);
    expect(cli.stderr()).toMatch(/PORT/);
    expect(cli.stderr()).toMatch(/REGION/);
    expect(cli.stdout()).not.toMatch(/serving live books/);
  });

  it('start: serves GraphQL on the port it logs, then exits 0 on SIGTERM', async () => {
    const cli = spawnCli(
      ['start'],
      cliEnv({
        REDIS_URL: redis.url,
        PORT: '0',
        REGION: 'smoke',
        LOG_LEVEL: 'info',
        SIM_UPDATES_PER_SEC: '20',
      }),
    );
    const started = await startedLine(cli);
    const port = Number(started.port);
    // Not a terminal, not development: JSON lines only, no banner between them.
    expect(cli.stdout()).not.toMatch(/serving live books|GraphiQL/);
    for (const line of cli.stdout().trim().split('\n')) expect(() => JSON.parse(line), line).not.toThrow();
    expect(port).toBeGreaterThan(0);

    const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ region exchanges }' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { region: 'smoke', exchanges: ['sim1', 'sim2', 'sim3'] } });
    // Without a terminal the dashboard's URL is in the started line (the development banner on a
    // terminal names it first: test/unit/banner.test.ts), and it answers.
    expect(started.dashboard).toMatch(new RegExp(`^http://[^:]+:${port}/dashboard$`));
    expect((await fetch(`http://127.0.0.1:${port}/dashboard`)).status).toBe(200);

    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.stderr()).toBe('');
  });
  it('regions: three regions on one keyspace, each answering as itself and ingesting its share', async () => {
    const cli = spawnCli(['regions'], cliEnv({ REDIS_URL: redis.url, PORT: '0', LOG_LEVEL: 'silent' }));
    const regionUrls = /^\s+([a-z0-9-]+)\s+(http:\/\/\S+\/graphql)\s+ingests (.+)$/gm;
    const urls = await new Promise<Map<string, { url: string; venues: string[] }>>((resolve, reject) => {
      const onData = () => {
        const found = new Map(
          [...cli.stdout().matchAll(regionUrls)].map((m) => [
            m[1]!,
            { url: m[2]!, venues: m[3]!.split(', ') },
          ]),
        );
        if (found.size === 3) {
          cli.child.stdout?.off('data', onData);
          resolve(found);
        }
      };
      cli.child.stdout?.on('data', onData);
      void cli.exited.then(({ code }) => reject(new Error(`exited ${code}: ${cli.stderr()}`)));
    });
    expect([...urls.keys()]).toEqual(['asia-northeast1', 'europe-west1', 'us-west1']);
    // Each venue is ingested by two regions.
    const venues = [...urls.values()].flatMap((r) => r.venues).sort();
    expect(venues).toEqual(['sim1', 'sim1', 'sim2', 'sim2', 'sim3', 'sim3']);

    const check = redis.client();
    for (const [region, { url, venues }] of urls) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ region }' }),
      });
      expect(await response.json()).toEqual({ data: { region } });
      // Every region serves every venue: its own copy where it ingests one, else another region's.
      const books = await (
        await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            query: `{ exchanges ${['sim1', 'sim2', 'sim3']
              .map((x) => `${x}: orderBook(exchange: "${x}", symbol: "BTC/USDT", depth: 1) { region }`)
              .join(' ')} }`,
          }),
        })
      ).json();
      expect(books.data.exchanges).toEqual(['sim1', 'sim2', 'sim3']);
      for (const venue of ['sim1', 'sim2', 'sim3']) {
        const served = books.data[venue].region as string;
        if (venues.includes(venue)) expect(served, `${region} serves its own ${venue}`).toBe(region);
        else expect(urls.get(served)?.venues, `${region} serves ${venue} from ${served}`).toContain(venue);
      }
      // The region's ingester wrote its own copy of its venues, holding each venue's lease.
      expect((await check.smembers(`bg:${region}:exchanges`)).sort()).toEqual([...venues].sort());
      for (const venue of venues) {
        expect(await check.get(`bg:${region}:lease:{${region}:${venue}}`)).toMatch(/\|\d+$/);
      }
    }

    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    // Each ingester gave its leases up on the way out.
    for (const [region, { venues }] of urls) {
      for (const venue of venues)
        expect(await check.exists(`bg:${region}:lease:{${region}:${venue}}`)).toBe(0);
    }
  });
});
