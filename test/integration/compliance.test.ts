import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { type Stack, startStack } from '../helpers/stack.ts';

/**
 * GraphQL over HTTP conformance: every audit of `graphql-http`'s `serverAudits` (the reference
 * suite of the GraphQL-over-HTTP spec, MUST and SHOULD alike) against the real server on a real
 * port. graphql-ws and SSE are exercised with their official clients in test/sdk.
 */

/**
 * Audits the server is allowed to fail, by id, each with the reason; docs/API.md lists the same.
 * Empty: all pass. An entry whose audit starts passing fails the test, so this list stays true.
 */
const EXCEPTIONS: Readonly<Record<string, string>> = {};

let redis: TestRedis;
let stack: Stack;

beforeAll(async () => {
  redis = await startTestRedis();
  // No ingester: the audits need the schema, not books.
  stack = await startStack(redis, { ingest: false });
});

afterAll(async () => {
  await stack?.stop();
  await redis?.stop();
});

const audits = serverAudits({ url: () => stack.httpUrl });

describe('GraphQL over HTTP (graphql-http serverAudits)', () => {
  it('covers the whole suite', () => {
    expect(audits.length).toBeGreaterThanOrEqual(60);
  });

  it.each(audits.map((audit) => [audit.id, audit.name, audit] as const))(
    '%s %s',
    async (id, _name, audit) => {
      const result = await audit.fn();
      const reason = result.status === 'ok' ? '' : result.reason;
      if (id in EXCEPTIONS) {
        expect(result.status, `${id} is listed as an exception but passes: remove it`).not.toBe('ok');
      } else {
        expect({ status: result.status, reason }).toEqual({ status: 'ok', reason: '' });
      }
    },
  );
});
