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
  type BookgraphDocument,
  createBookgraphClient,
  type RequestOptions,
  type SseOptions,
  type SubscribeOptions,
  type SubscriptionTransportName,
} from './client.js';
export {
  type ConsolidatedBookChange,
  type ConsolidatedBookWatch,
  type ConsolidatedBookWatchEvents,
  type ConsolidatedLevel,
  diffConsolidatedBooks,
  type LocalConsolidatedBook,
  venueLevels,
  type WatchConsolidatedBookOptions,
  watchConsolidatedBook,
} from './consolidated-book.js';
export {
  BookgraphError,
  type BookgraphErrorCode,
  type ClientErrorCode,
  ERROR_CODES,
  type ErrorCode,
} from './errors.js';
export {
  type FollowedOrder,
  type FollowedSession,
  type FollowOrdersOptions,
  followOrders,
  type OrderFollower,
  type OrderFollowerEvents,
  type OrdersResyncReason,
  type OrderUpdate,
} from './follow-orders.js';
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
export {
  type CancelAllOrdersResult,
  type CancelOrderResult,
  type CloseSessionResult,
  cancelAllOrders,
  cancelOrder,
  closeSession,
  FINAL_ORDER_STATUSES,
  isFinalStatus,
  isOrder,
  isTradingError,
  listOrders,
  openSession,
  type PlaceOrderResult,
  placeOrder,
  type TradingErrorResult,
  type TradingFill,
  type TradingOrder,
  type TradingSession,
} from './trading.js';
