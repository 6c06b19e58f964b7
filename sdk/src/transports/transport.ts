import type { FormattedExecutionResult } from 'graphql';

/** One operation as every GraphQL transport sends it. */
export interface OperationPayload {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
}

/** How subscriptions reach the server; the HTTP client is separate (queries need no connection). */
export interface SubscriptionTransport {
  /** Results of one subscription; `return()` unsubscribes at once. Throws on a transport or GraphQL error. */
  iterate(payload: OperationPayload): AsyncIterableIterator<FormattedExecutionResult>;
  dispose(): Promise<void>;
}

/** Resolves the token option to the value to send, if any. */
export type TokenSource = () => Promise<string | undefined>;

/**
 * An async iterator over a source that only starts once `open()` resolves. `return()` reaches the
 * source at once, even while a `next()` is pending, so a quiet subscription can still be closed.
 */
export function deferredIterator<T>(open: () => Promise<AsyncIterableIterator<T>>): AsyncIterableIterator<T> {
  let source: Promise<AsyncIterableIterator<T>> | undefined;
  let closed = false;
  const get = () => {
    source ??= open();
    return source;
  };
  return {
    async next() {
      if (closed) return { done: true, value: undefined };
      return (await get()).next();
    },
    async return() {
      closed = true;
      if (source) await (await source.catch(() => undefined))?.return?.();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
