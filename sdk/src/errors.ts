import type { GraphQLFormattedError } from 'graphql';

/**
 * Values of `extensions.code` on the server's expected errors: `enum ErrorCode` in
 * schema.graphql (a test keeps this list equal to it).
 */
export const ERROR_CODES = [
  'BAD_USER_INPUT',
  'BOOK_UNAVAILABLE',
  'EXCHANGE_NOT_FOUND',
  'FORBIDDEN',
  'LIMIT_EXCEEDED',
  'MARKET_NOT_FOUND',
  'ORDER_NOT_FOUND',
  'RATE_LIMITED',
  'SESSION_NOT_FOUND',
  'SUBSCRIBER_TOO_SLOW',
  'UNAUTHENTICATED',
  'UNAVAILABLE',
  'WRONG_REGION',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Codes the SDK itself gives an error when the server sent none:
 * - `GRAPHQL_VALIDATION_FAILED`, `GRAPHQL_PARSE_FAILED`: the server rejected the document (yoga's codes);
 * - `UNEXPECTED`: an error without a code (the server masks unexpected errors as "Unexpected error.");
 * - `HTTP_ERROR`: a response that is not a GraphQL result (e.g. a 502 from a proxy);
 * - `NETWORK_ERROR`: no response at all (connection refused, reset, timed out) after every retry;
 * - `CONNECTION_CLOSED`: a subscription transport closed for good (retries exhausted or a fatal close code).
 */
export type ClientErrorCode =
  | 'GRAPHQL_VALIDATION_FAILED'
  | 'GRAPHQL_PARSE_FAILED'
  | 'UNEXPECTED'
  | 'HTTP_ERROR'
  | 'NETWORK_ERROR'
  | 'CONNECTION_CLOSED';

/** A known code, or a code a newer server sends that this SDK does not know yet. */
export type BookgraphErrorCode = ErrorCode | ClientErrorCode | (string & Record<never, never>);

export interface BookgraphErrorOptions {
  code: BookgraphErrorCode;
  errors?: readonly GraphQLFormattedError[];
  status?: number;
  requestId?: string;
  cause?: unknown;
}

/** Every failure the SDK reports: a GraphQL error with its code, or a transport failure. */
export class BookgraphError extends Error {
  override readonly name = 'BookgraphError';
  /** `extensions.code` of the first error, or one of {@link ClientErrorCode}. */
  readonly code: BookgraphErrorCode;
  /** Every GraphQL error of the result, as the server sent them. */
  readonly errors: readonly GraphQLFormattedError[];
  /** HTTP status of the response, when there was one. */
  readonly status: number | undefined;
  /** The server's `x-request-id` for the request: quote it when reporting a problem. */
  readonly requestId: string | undefined;

  constructor(message: string, options: BookgraphErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.errors = options.errors ?? [];
    this.status = options.status;
    this.requestId = options.requestId;
  }

  /** `extensions.issues` of a BAD_USER_INPUT error: one entry per bad argument. */
  get issues(): readonly unknown[] {
    const issues = this.errors[0]?.extensions?.issues;
    return Array.isArray(issues) ? issues : [];
  }

  /** Whether `error` is a BookgraphError, optionally with one of `codes`. */
  static is(error: unknown, ...codes: BookgraphErrorCode[]): error is BookgraphError {
    return error instanceof BookgraphError && (codes.length === 0 || codes.includes(error.code));
  }
}

/** A BookgraphError for a result's `errors`, coded by the first error that has a code. */
export function errorFromGraphQL(
  errors: readonly GraphQLFormattedError[],
  context: { status?: number; requestId?: string } = {},
): BookgraphError {
  const coded = errors.find((e) => typeof e.extensions?.code === 'string');
  const code = (coded?.extensions?.code as string | undefined) ?? 'UNEXPECTED';
  const message = errors.map((e) => e.message).join('; ') || 'GraphQL error';
  return new BookgraphError(message, { code, errors, ...context });
}

/** Whether a thrown value is a list of GraphQL errors (how graphql-ws reports an `error` message). */
export function isGraphQLErrorList(value: unknown): value is GraphQLFormattedError[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((e) => typeof e === 'object' && e !== null && typeof e.message === 'string')
  );
}

/**
 * Readable text for anything thrown or emitted: an Error's message, a close event's code and
 * reason, an error event's message (ws) or type (a browser's Event carries nothing more); never
 * "[object Object]".
 */
export function describeError(value: unknown): string {
  if (value instanceof Error) return value.message || value.name;
  if (typeof value !== 'object' || value === null) return String(value);
  const { code, reason, message, error, type } = value as Record<string, unknown>;
  if (typeof code === 'number')
    return `connection closed: ${code} ${typeof reason === 'string' ? reason : ''}`.trim();
  if (typeof message === 'string' && message) return message;
  if (error instanceof Error && error.message) return error.message;
  // Node.js 22+'s built-in WebSocket (undici) reports a refused connection as an ErrorEvent whose
  // message and error are both empty: nothing more is known than that it failed.
  if (type === 'error') return 'connection failed (the WebSocket gave no details)';
  if (typeof type === 'string') return `${type} event (no details)`;
  try {
    return JSON.stringify(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
