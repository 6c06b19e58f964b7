import { createGraphQLError } from 'graphql-yoga';
import type { ZodError } from 'zod';

/**
 * Codes of expected errors (client-caused, or a passing outage: `UNAVAILABLE`), sent as
 * `extensions.code`. Anything else reaching the
 * client is masked ("Unexpected error.") and logged with the request id.
 */
export const ErrorCode = {
  BadUserInput: 'BAD_USER_INPUT',
  ExchangeNotFound: 'EXCHANGE_NOT_FOUND',
  MarketNotFound: 'MARKET_NOT_FOUND',
  BookUnavailable: 'BOOK_UNAVAILABLE',
  SubscriberTooSlow: 'SUBSCRIBER_TOO_SLOW',
  Unauthenticated: 'UNAUTHENTICATED',
  Forbidden: 'FORBIDDEN',
  SessionNotFound: 'SESSION_NOT_FOUND',
  OrderNotFound: 'ORDER_NOT_FOUND',
  WrongRegion: 'WRONG_REGION',
  Unavailable: 'UNAVAILABLE',
  RateLimited: 'RATE_LIMITED',
  LimitExceeded: 'LIMIT_EXCEEDED',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export function apiError(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
  return createGraphQLError(message, { extensions: { code, ...details } });
}

/** Every invalid argument at once, each with the argument it concerns. */
export function badInput(error: ZodError) {
  const issues = error.issues.map((i) => ({ argument: i.path.join('.'), message: i.message }));
  return apiError(ErrorCode.BadUserInput, issues.map((i) => `${i.argument}: ${i.message}`).join('; '), {
    issues,
  });
}
