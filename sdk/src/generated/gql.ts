/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "query Markets($exchange: String!) {\n  region\n  markets(exchange: $exchange) {\n    exchange\n    symbol\n    base\n    quote\n    tickSize\n    lotSize\n    minAmount\n    active\n  }\n}\n\nquery Tickers($exchange: String!) {\n  tickers(exchange: $exchange) {\n    exchange\n    symbol\n    bestBid {\n      price\n      size\n    }\n    bestAsk {\n      price\n      size\n    }\n    mid\n    spread\n    lastTrade {\n      price\n      amount\n      side\n      exchangeTimestamp\n    }\n    stale\n  }\n}": typeof types.MarketsDocument,
    "query OrderBook($exchange: String!, $symbol: String!, $depth: Int = 20) {\n  orderBook(exchange: $exchange, symbol: $symbol, depth: $depth) {\n    exchange\n    symbol\n    epoch\n    seq\n    stale\n    receiveTimestamp\n    bids {\n      price\n      size\n    }\n    asks {\n      price\n      size\n    }\n    mid\n    spread\n  }\n}\n\nsubscription OrderBookUpdates($exchange: String!, $symbol: String!, $depth: Int = 20) {\n  orderBookUpdates(exchange: $exchange, symbol: $symbol, depth: $depth) {\n    type\n    exchange\n    symbol\n    epoch\n    seq\n    prevSeq\n    reason\n    stale\n    receiveTimestamp\n    bids {\n      price\n      size\n    }\n    asks {\n      price\n      size\n    }\n  }\n}\n\nsubscription ThrottledOrderBook($exchange: String!, $symbol: String!, $depth: Int = 20, $throttleMs: Int = 100) {\n  orderBook(\n    exchange: $exchange\n    symbol: $symbol\n    depth: $depth\n    throttleMs: $throttleMs\n  ) {\n    epoch\n    seq\n    stale\n    bids {\n      price\n      size\n    }\n    asks {\n      price\n      size\n    }\n  }\n}": typeof types.OrderBookDocument,
};
const documents: Documents = {
    "query Markets($exchange: String!) {\n  region\n  markets(exchange: $exchange) {\n    exchange\n    symbol\n    base\n    quote\n    tickSize\n    lotSize\n    minAmount\n    active\n  }\n}\n\nquery Tickers($exchange: String!) {\n  tickers(exchange: $exchange) {\n    exchange\n    symbol\n    bestBid {\n      price\n      size\n    }\n    bestAsk {\n      price\n      size\n    }\n    mid\n    spread\n    lastTrade {\n      price\n      amount\n      side\n      exchangeTimestamp\n    }\n    stale\n  }\n}": types.MarketsDocument,
    "query OrderBook($exchange: String!, $symbol: String!, $depth: Int = 20) {\n  orderBook(exchange: $exchange, symbol: $symbol, depth: $depth) {\n    exchange\n    symbol\n    epoch\n    seq\n    stale\n    receiveTimestamp\n    bids {\n      price\n      size\n    }\n    asks {\n      price\n      size\n    }\n    mid\n    spread\n  }\n}\n\nsubscription OrderBookUpdates($exchange: String!, $symbol: String!, $depth: Int = 20) {\n  orderBookUpdates(exchange: $exchange, symbol: $symbol, depth: $depth) {\n    type\n    exchange\n    symbol\n    epoch\n    seq\n    prevSeq\n    reason\n    stale\n    receiveTimestamp\n    bids {\n      price\n      size\n    }\n    asks {\n      price\n      size\n    }\n  }\n}\n\nsubscription ThrottledOrderBook($exchange: String!, $symbol: String!, $depth: Int = 20, $throttleMs: Int = 100) {\n  orderBook(\n    exchange: $exchange\n    symbol: $symbol\n    depth: $depth\n    throttleMs: $throttleMs\n  ) {\n    epoch\n    seq\n    stale\n    bids {\n      price\n      size\n    }\n    asks {\n      price\n      size\n    }\n  }\n}": types.OrderBookDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Markets($exchange: String!) {\n  region\n  markets(exchange: $exchange) {\n    exchange\n    symbol\n    base\n    quote\n    tickSize\n    lotSize\n    minAmount\n    active\n  }\n}\n\nquery Tickers($exchange: String!) {\n  tickers(exchange: $exchange) {\n    exchange\n    symbol\n    bestBid {\n      price\n      size\n    }\n    bestAsk {\n      price\n      size\n    }\n    mid\n    spread\n    lastTrade {\n      price\n      amount\n      side\n      exchangeTimestamp\n    }\n    stale\n  }\n}"): (typeof documents)["query Markets($exchange: String!) {\n  region\n  markets(exchange: $exchange) {\n    exchange\n    symbol\n    base\n    quote\n    tickSize\n    lotSize\n    minAmount\n    active\n  }\n}\n\nquery Tickers($exchange: String!) {\n  tickers(exchange: $exchange) {\n    exchange\n    symbol\n    bestBid {\n      price\n      size\n    }\n    bestAsk {\n      price\n      size\n    }\n    mid\n    spread\n    lastTrade {\n      price\n      amount\n      side\n      exchangeTimestamp\n    }\n    stale\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query OrderBook($exchange: String!, $symbol: String!, $depth: Int = 20) {\n  orderBook(exchange: $exchange, symbol: $symbol, depth: $depth) {\n    exchange\n    symbol\n    epoch\n    seq\n    stale\n    receiveTimestamp\n    bids {\n      price\n      size\n    }\n    asks {\n      price\n      size\n    }\n    mid\n    spread\n  }\n}\n\nsubscription OrderBookUpdates($exchange: String!, $symbol: String!, $depth: Int = 20) {\n  orderBookUpdates(exchange: $exchange, symbol: $symbol, depth: $depth) {\n    type\n    exchange\n    symbol\n    epoch\n    seq\n    prevSeq\n    reason\n    stale\n    receiveTimestamp\n    bids {\n      price\n      size\n    }\n    asks {\n      price\n      size\n    }\n  }\n}\n\nsubscription ThrottledOrderBook($exchange: String!, $symbol: String!, $depth: Int = 20, $throttleMs: Int = 100) {\n  orderBook(\n    exchange: $exchange\n    symbol: $symbol\n    depth: $depth\n    throttleMs: $throttleMs\n  ) {\n    epoch\n    seq\n    stale\n    bids {\n      price\n      size\n    }\n    asks {\n      price\n      size\n    }\n  }\n}"): (typeof documents)["query OrderBook($exchange: String!, $symbol: String!, $depth: Int = 20) {\n  orderBook(exchange: $exchange, symbol: $symbol, depth: $depth) {\n    exchange\n    symbol\n    epoch\n    seq\n    stale\n    receiveTimestamp\n    bids {\n      price\n      size\n    }\n    asks {\n      price\n      size\n    }\n    mid\n    spread\n  }\n}\n\nsubscription OrderBookUpdates($exchange: String!, $symbol: String!, $depth: Int = 20) {\n  orderBookUpdates(exchange: $exchange, symbol: $symbol, depth: $depth) {\n    type\n    exchange\n    symbol\n    epoch\n    seq\n    prevSeq\n    reason\n    stale\n    receiveTimestamp\n    bids {\n      price\n      size\n    }\n    asks {\n      price\n      size\n    }\n  }\n}\n\nsubscription ThrottledOrderBook($exchange: String!, $symbol: String!, $depth: Int = 20, $throttleMs: Int = 100) {\n  orderBook(\n    exchange: $exchange\n    symbol: $symbol\n    depth: $depth\n    throttleMs: $throttleMs\n  ) {\n    epoch\n    seq\n    stale\n    bids {\n      price\n      size\n    }\n    asks {\n      price\n      size\n    }\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;