import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { buildSchema, type ExecutionArgs, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/schema/index.ts';
import { edgeLimits } from '../../src/server/edge/limits.ts';
import { ArgumentPlans, argumentIssues, argumentPlan } from '../../src/server/edge/use-argument-limits.ts';

const limits = edgeLimits({ maxStringLength: 40, maxListItems: 3 });

/** Documents and variables that pass, and that fail each check (names, sizes; literals, variables). */
const CASES: { document: string; variables?: Record<string, unknown> }[] = [
  { document: '{ __typename }' },
  { document: '{ orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: 5) { seq } }' },
  { document: '{ orderBook(exchange: "SIM 1", symbol: "BTC/USDT") { seq } }' },
  { document: `{ ticker(exchange: "sim1", symbol: "${'X'.repeat(41)}") { last } }` },
  { document: '{ liquidity(symbol: "BTC/USDT", exchanges: ["a", "b", "c", "d"]) { symbol } }' },
  {
    document: 'query Q($x: String!, $s: String!) { orderBook(exchange: $x, symbol: $s) { seq } }',
    variables: { x: 'sim1', s: 'BTC/USDT' },
  },
  {
    document: 'query Q($x: String!, $s: String!) { orderBook(exchange: $x, symbol: $s) { seq } }',
    variables: { x: 'bad exchange!', s: 'BTC/USDT' },
  },
  {
    document: 'query Q($x: [String!]) { liquidity(symbol: "BTC/USDT", exchanges: $x) { symbol } }',
    variables: { x: ['sim1', 'sim2', 'sim3', 'sim4'] },
  },
  {
    // Arguments inside a fragment are checked as well.
    document:
      'query { ...F } fragment F on Query { a: orderBook(exchange: "ok", symbol: "B/U") { seq } b: markets(exchange: "NOT OK") { symbol } }',
  },
  {
    document: 'query Q($d: Int) { orderBook(exchange: "sim1", symbol: "BTC/USDT", depth: $d) { seq } }',
    variables: { d: 'not a number' },
  },
  { document: 'fragment F on Query { region }' },
];

const argsOf = (document: ReturnType<typeof parse>, variables?: Record<string, unknown>): ExecutionArgs => ({
  schema,
  document,
  variableValues: variables,
});

describe('argument checks planned once per document (use-argument-limits.ts)', () => {
  it('finds the same issues with a cached plan as with a fresh walk of the document', () => {
    const plans = new ArgumentPlans(limits);
    let refused = 0;
    for (const { document, variables } of CASES) {
      const parsed = parse(document);
      const fresh = argumentIssues(argsOf(parsed, variables), limits);
      // Twice from the cache: the second answer comes from the plan the first one made.
      for (let i = 0; i < 2; i += 1) {
        expect(argumentIssues(argsOf(parsed, variables), limits, plans.get(schema, parsed))).toEqual(fresh);
      }
      if (fresh.length > 0) refused += 1;
    }
    // The cases exercise refusals, not only passes.
    expect(refused).toBeGreaterThanOrEqual(6);
  });

  it('answers a document from one plan, and plans again for another schema', () => {
    const plans = new ArgumentPlans(limits);
    const document = parse('{ orderBook(exchange: "sim1", symbol: "BTC/USDT") { seq } }');
    const plan = plans.get(schema, document);
    expect(plans.get(schema, document)).toBe(plan);
    expect(plan.fields.map((f) => f.def.name)).toEqual(['orderBook']);
    const other = buildSchema('type Query { orderBook(exchange: String, symbol: String): Int }');
    expect(plans.get(other, document)).not.toBe(plan);
    expect(argumentPlan(schema, parse('fragment F on Query { region }'), limits).fields).toEqual([]);
  });

  it('checks literal arguments once with the plan and arguments holding a variable, however deep, per request', () => {
    const plans = new ArgumentPlans(limits);
    const literal = parse('{ orderBook(exchange: "SIM 1", symbol: "BTC/USDT") { seq } }');
    const literalPlan = plans.get(schema, literal);
    expect(literalPlan.fields[0]!.constant?.map((i) => i.argument)).toEqual(['exchange']);
    expect(argumentIssues(argsOf(literal), limits, literalPlan).map((i) => i.argument)).toEqual(['exchange']);
    // A variable inside a list literal: the same document passes or fails with the request's value.
    const nested = parse(
      'query Q($e: String!) { liquidity(symbol: "BTC/USDT", exchanges: ["sim1", $e]) { symbol } }',
    );
    const nestedPlan = plans.get(schema, nested);
    expect(nestedPlan.fields[0]!.constant).toBeUndefined();
    expect(argumentIssues(argsOf(nested, { e: 'sim2' }), limits, nestedPlan)).toEqual([]);
    expect(argumentIssues(argsOf(nested, { e: 'NOT OK' }), limits, nestedPlan).length).toBe(1);
  });

  it('holds a plan no longer than its document', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const plans = new ArgumentPlans(limits);
    const refs = Array.from({ length: 50 }, (_, i) => {
      const document = parse(`{ orderBook(exchange: "sim${i}", symbol: "BTC/USDT") { seq } }`);
      return new WeakRef(plans.get(schema, document));
    });
    expect(refs.every((r) => r.deref() !== undefined)).toBe(true);
    // WeakRefs hold their target until the current job ends: collect after it.
    await new Promise((r) => setImmediate(r));
    gc();
    expect(refs.filter((r) => r.deref() !== undefined).length).toBe(0);
  });
});
