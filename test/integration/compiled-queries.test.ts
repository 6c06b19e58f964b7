import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { marketsKey } from '../../src/redis/keys.ts';
import { schema } from '../../src/schema/index.ts';
import { CompiledQueries } from '../../src/server/plugins/use-compiled-queries.ts';
import { execute } from '../helpers/graphql-clients.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { REGION, type Stack, startStack } from '../helpers/stack.ts';

/**
 * Queries compiled by graphql-jit (use-compiled-queries.ts) answer exactly what graphql's own
 * executor answers, errors and their masking included: two servers on one Redis, one with the
 * compiled path and one without, asked the same documents over a book that no longer moves.
 */
let redis: TestRedis;
let compiled: Stack;
let plain: Stack;

const BOOK_FIELDS =
  'exchange symbol region epoch seq exchangeTimestamp receiveTimestamp venueSeq stale ' +
  'bids { price size } asks { price size } bestBid { price size } bestAsk { price size } mid spread';

const CASES: { name: string; query: string; variables?: Record<string, unknown> }[] = [
  { name: 'typename', query: '{ __typename }' },
  {
    name: 'the bench document, every book field',
    query: `{ orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 20) { ${BOOK_FIELDS} } }`,
  },
  {
    name: 'variables, operation name, aliases, a fragment, default depth',
    query: `query Two($x: String!, $d: Int) {
      a: orderBook(exchange: $x, symbol: "BTC/USDT", depth: $d) { ...Top }
      b: orderBook(exchange: $x, symbol: "ETH/USDT") { seq bids { price } }
    }
    query Other { region }
    fragment Top on OrderBook { seq bids { price size } asks { size } }`,
    variables: { x: 'sim1', d: 3 },
  },
  {
    name: '@skip and @include',
    query: `query($s: Boolean!) { region orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 2) {
      seq bids @skip(if: $s) { price } asks @include(if: $s) { price } } }`,
    variables: { s: true },
  },
  {
    name: 'markets, exchanges, ticker, consolidated book',
    query: `{ exchanges markets(exchange: "sim1") { symbol tickSize lotSize }
      ticker(exchange: "sim1", symbol: "BTC/USDT") { __typename }
      consolidatedBook(symbol: "BTC/USDT", depth: 3) { symbol bids { price size } } }`,
  },
  {
    name: 'MARKET_NOT_FOUND on a non-null field: data null',
    query: '{ region orderBook(exchange: "sim1", symbol: "NOPE/USDT") { seq } }',
  },
  {
    name: 'BAD_USER_INPUT from the resolver',
    query: 'query($d: Int) { orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: $d) { seq } }',
    variables: { d: 0 },
  },
  {
    name: 'a variable of the wrong type (BAD_USER_INPUT, no data)',
    query: 'query($d: Int) { orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: $d) { seq } }',
    variables: { d: 'deep' },
  },
  {
    name: 'a missing required variable',
    query: 'query($x: String!) { orderBook(exchange: $x, symbol: "BTC/USDT") { seq } }',
  },
  {
    name: 'an unexpected error (a corrupt market record), masked',
    query: '{ orderBook(exchange: "sim1", symbol: "BAD/USDT") { seq } }',
  },
  { name: 'UNAUTHENTICATED (no key)', query: '{ me { clientId } }' },
];

beforeAll(async () => {
  redis = await startTestRedis();
  compiled = await startStack(redis, { compiledQueries: true });
  plain = await startStack(redis, { ingest: false, compiledQueries: false });
  // A frozen book: both servers read the same state (a moving one would differ by a seq).
  await compiled.stopIngester();
  await compiled.redis.hset(marketsKey(REGION, 'sim1'), 'BAD/USDT', '{not json');
});

afterAll(async () => {
  await compiled?.stop();
  await plain?.stop();
  await redis?.stop();
});

describe('queries compiled by graphql-jit', () => {
  it('compile every query of the cases (the comparison below goes through the compiled path)', () => {
    const queries = new CompiledQueries();
    for (const { query } of CASES) {
      const document = parse(query);
      const names = document.definitions.flatMap((d) =>
        d.kind === 'OperationDefinition' ? [d.name?.value ?? null] : [],
      );
      for (const operationName of names) {
        expect(queries.get({ schema, document, operationName })).not.toBeNull();
        // Once per document and operation.
        queries.get({ schema, document, operationName });
      }
    }
    expect(queries.compilations).toBe(CASES.length + 1);
    const mutation = parse('mutation { openSession(balances: []) { id } }');
    expect(queries.get({ schema, document: mutation })).toBeNull();
  });

  it('holds a compiled query no longer than its document', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const queries = new CompiledQueries();
    const refs = Array.from({ length: 20 }, (_, i) => {
      const document = parse(`{ orderBook(exchange: "sim${i}", symbol: "BTC/USDT") { seq } }`);
      return new WeakRef(queries.get({ schema, document })!);
    });
    expect(refs.every((r) => r.deref() !== undefined)).toBe(true);
    // WeakRefs hold their target until the current job ends: collect after it.
    await new Promise((r) => setImmediate(r));
    gc();
    expect(refs.filter((r) => r.deref() !== undefined).length).toBe(0);
  });

  for (const { name, query, variables } of CASES) {
    it(`answers as graphql's executor does: ${name}`, async () => {
      const operationName = query.includes('query Two') ? 'Two' : undefined;
      const ask = async (stack: Stack) => {
        if (!operationName) return execute(stack.app, query, variables);
        const response = await stack.app.yoga.fetch('http://bookgraph.test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
          body: JSON.stringify({ query, variables, operationName }),
        });
        return { status: response.status, body: await response.json() };
      };
      const [a, b] = await Promise.all([ask(compiled), ask(plain)]);
      expect(a).toEqual(b);
      expect(a.status).toBeLessThan(500);
    });
  }

  it('masks an unexpected error as Yoga does, without its message', async () => {
    const { body } = await execute(
      compiled.app,
      '{ orderBook(exchange: "sim1", symbol: "BAD/USDT") { seq } }',
    );
    expect(body.errors?.[0]?.message).toBe('Unexpected error.');
    expect(JSON.stringify(body)).not.toMatch(/JSON|not json/);
  });
});
