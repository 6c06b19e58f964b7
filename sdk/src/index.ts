export { BookSide, type Level } from './book/book-side.js';
export {
  addDecimal,
  compareDecimal,
  isDecimal,
  isZeroDecimal,
  normalizeDecimal,
  subtractDecimal,
  sumDecimals,
} from './book/decimal.js';
export {
  type BookgraphClient,
  type BookgraphClientOptions,
  createBookgraphClient,
  type RequestOptions,
  type SseOptions,
  type SubscribeOptions,
  type SubscriptionTransportName,
} from './client.js';
export {
  BookgraphError,
  type BookgraphErrorCode,
  type ClientErrorCode,
  ERROR_CODES,
  type ErrorCode,
} from './errors.js';
export { graphql } from './generated/gql.js';
export * from './generated/graphql.js';
export {
  type BookDropReason,
  type BookUpdate,
  type LocalOrderBook,
  type OrderBookWatch,
  type OrderBookWatchEvents,
  type WatchOrderBookOptions,
  watchOrderBook,
} from './local-book.js';
export type { RetryOptions } from './retry.js';
