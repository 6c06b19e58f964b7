import SchemaBuilder from '@pothos/core';
import { GraphQLError, Kind } from 'graphql';
import type { AuthState } from '../auth/access.ts';
import { isDecimalString } from '../marketdata/decimal.ts';
import type { PushTarget } from '../pubsub/push-sink.ts';
import type { SubscriberTransport } from '../pubsub/slow-subscriber.ts';
import type { ResolverDeps } from '../resolvers/deps.ts';
import type { Trading } from '../trading/trading.ts';

export interface Context {
  deps: ResolverDeps;
  /** Who is calling (API key over HTTP/SSE header or graphql-ws connectionParams). */
  auth: AuthState;
  /** Sessions, orders and their updates. */
  trading: Trading;
  /** The subscriber's socket, when the operation came over graphql-ws (back-pressure). */
  transport?: SubscriberTransport;
  /**
   * graphql-ws with the push path on: where this subscription's book messages are written
   * directly (src/server/push-frames.ts). Book subscriptions use it; others ignore it.
   */
  push?: PushTarget;
}

export const builder = new SchemaBuilder<{
  Context: Context;
  DefaultFieldNullability: false;
  Scalars: {
    Decimal: { Input: string; Output: string };
    Long: { Input: number; Output: number };
  };
}>({ defaultFieldNullability: false });

function decimal(value: unknown): string {
  if (typeof value !== 'string' || !isDecimalString(value)) {
    throw new GraphQLError(
      `Decimal must be a decimal string such as "64210.5", got ${JSON.stringify(value)}`,
      {
        extensions: { code: 'BAD_USER_INPUT' },
      },
    );
  }
  return value;
}

function long(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new GraphQLError(`Long must be a safe integer, got ${JSON.stringify(value)}`, {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  }
  return value;
}

builder.scalarType('Decimal', {
  description:
    'An exact decimal number as a string, e.g. "64210.5". Prices and sizes are never floats: parse them with a decimal library.',
  serialize: decimal,
  parseValue: decimal,
  parseLiteral: (ast) => decimal(ast.kind === Kind.STRING ? ast.value : undefined),
});

builder.scalarType('Long', {
  description: 'A whole number up to 2^53 - 1: sequence numbers and millisecond timestamps.',
  serialize: long,
  parseValue: long,
  parseLiteral: (ast) => long(ast.kind === Kind.INT ? Number(ast.value) : undefined),
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
