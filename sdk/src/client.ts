import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type DocumentNode, type FormattedExecutionResult, getOperationAST, print } from 'graphql';
import { BookgraphError, describeError, errorFromGraphQL, isGraphQLErrorList } from './errors.js';
import { backoffDelay, type RetryOptions, resolveRetry, sleep } from './retry.js';
import { createSseTransport } from './transports/sse.js';
import type { OperationPayload, SubscriptionTransport, TokenSource } from './transports/transport.js';
import { createWebSocketTransport } from './transports/ws.js';

export type SubscriptionTransportName = 'ws' | 'sse';

export interface SseOptions {
  /**
   * One stream for every subscription of this client (`graphql-sse` single connection mode, served
   * at `/graphql/stream`) instead of one stream per subscription. Fewer connections, for browsers
   * limited to six per host over HTTP/1.1. @default false
   */
  singleConnection?: boolean;
  /** @default `url`, or `url` + `/stream` in single connection mode */
  url?: string;
}

export interface BookgraphClientOptions {
  /** The GraphQL endpoint, e.g. `http://127.0.0.1:4000/graphql`. */
  url: string;
  /**
   * Sent as `Authorization: Bearer <token>` (HTTP, SSE) and as `connectionParams.authorization`
   * (graphql-ws). A function is called for every request and connection, so a token can rotate.
   */
  token?: string | (() => string | undefined | Promise<string | undefined>);
  /** How subscriptions travel. @default 'ws' */
  transport?: SubscriptionTransportName;
  /** graphql-ws endpoint. @default `url` with http(s) replaced by ws(s) */
  wsUrl?: string;
  /** A WebSocket constructor; on Node.js 20 the `ws` package is loaded when omitted. */
  webSocketImpl?: unknown;
  sse?: SseOptions;
  /** Retries of queries (network errors, 5xx, 429) and of lost subscription connections. */
  retry?: RetryOptions;
  /** Gives up on an HTTP request after this long (each try). @default 10000 */
  timeoutMs?: number;
  /** Extra headers for every HTTP request. */
  headers?: Record<string, string>;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Extra headers for this request, e.g. an `x-request-id` of your own. */
  headers?: Record<string, string>;
}

/** Variables are optional only when the operation has no required variable. */
export type VariablesArgs<TVariables> =
  Record<string, never> extends TVariables
    ? [variables?: TVariables, options?: RequestOptions]
    : [variables: TVariables, options?: RequestOptions];

export interface SubscribeOptions {
  /** Ends the subscription when aborted. */
  signal?: AbortSignal;
}

export type SubscribeArgs<TVariables> =
  Record<string, never> extends TVariables
    ? [variables?: TVariables, options?: SubscribeOptions]
    : [variables: TVariables, options?: SubscribeOptions];

/**
 * An operation: a typed document node (sdk/operations, or an integrator's own made by codegen,
 * sdk/README.md), or the operation's text as a plain string (then its types are the generics given,
 * `client.query<{ region: string }>('{ region }')`; codegen's `documentMode: 'string'` output too).
 */
export type BookgraphDocument<TData, TVariables> =
  | TypedDocumentNode<TData, TVariables>
  | string
  | (string & { __apiType?: (variables: TVariables) => TData });

export interface BookgraphClient {
  readonly url: string;
  /** Runs a query over HTTP; resolves with its typed `data` or throws a {@link BookgraphError}. */
  query<
    TData = Record<string, unknown>,
    TVariables extends Record<string, unknown> = Record<string, unknown>,
  >(document: BookgraphDocument<TData, TVariables>, ...args: VariablesArgs<TVariables>): Promise<TData>;
  /** Runs a mutation over HTTP. Never retried: a mutation is not known to be idempotent. */
  mutate<
    TData = Record<string, unknown>,
    TVariables extends Record<string, unknown> = Record<string, unknown>,
  >(document: BookgraphDocument<TData, TVariables>, ...args: VariablesArgs<TVariables>): Promise<TData>;
  /**
   * Subscribes over the client's transport. Iterate the typed `data` of each message; breaking out
   * of the loop (or `return()`) unsubscribes. Throws a {@link BookgraphError} on an error result
   * or when the connection is lost for good.
   */
  subscribe<
    TData = Record<string, unknown>,
    TVariables extends Record<string, unknown> = Record<string, unknown>,
  >(
    document: BookgraphDocument<TData, TVariables>,
    ...args: SubscribeArgs<TVariables>
  ): AsyncIterableIterator<TData>;
  /** Listens to the subscription connection going up (`true`) or down (`false`); graphql-ws only. */
  onConnectionChange(listener: (connected: boolean) => void): () => void;
  /** Closes every subscription and connection and aborts requests in flight. */
  dispose(): Promise<void>;
}

const printed = new WeakMap<DocumentNode, { query: string; operationName: string | undefined }>();

function payloadOf(
  document: DocumentNode | string | string,
  variables: Record<string, unknown> | undefined,
): OperationPayload {
  // A plain string (or codegen's String-derived TypedDocumentString) is sent as written.
  if (typeof document === 'string' || document instanceof String) {
    return { query: document.toString(), ...(variables ? { variables } : {}) };
  }
  let p = printed.get(document);
  if (!p) {
    p = { query: print(document), operationName: getOperationAST(document)?.name?.value };
    printed.set(document, p);
  }
  return {
    query: p.query,
    ...(variables ? { variables } : {}),
    ...(p.operationName ? { operationName: p.operationName } : {}),
  };
}

/** A bookgraph client: typed queries over HTTP, subscriptions over graphql-ws or SSE. */
export function createBookgraphClient(options: BookgraphClientOptions): BookgraphClient {
  const retry = resolveRetry(options.retry);
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const disposed = new AbortController();
  const listeners = new Set<(connected: boolean) => void>();
  const token: TokenSource = async () =>
    typeof options.token === 'function' ? await options.token() : options.token;

  let transport: SubscriptionTransport | undefined;
  const getTransport = (): SubscriptionTransport => {
    if (disposed.signal.aborted) throw new BookgraphError('client disposed', { code: 'CONNECTION_CLOSED' });
    if (transport) return transport;
    if ((options.transport ?? 'ws') === 'sse') {
      const singleConnection = options.sse?.singleConnection ?? false;
      transport = createSseTransport({
        url:
          options.sse?.url ?? (singleConnection ? `${options.url.replace(/\/$/, '')}/stream` : options.url),
        token,
        retry,
        singleConnection,
        ...(options.fetch ? { fetch: options.fetch } : {}),
      });
    } else {
      transport = createWebSocketTransport({
        url: options.wsUrl ?? options.url.replace(/^http/, 'ws'),
        token,
        retry,
        webSocketImpl: options.webSocketImpl,
        onConnectionChange: (connected) => {
          for (const listener of [...listeners]) listener(connected);
        },
      });
    }
    return transport;
  };

  /** After a failed attempt: waits out the backoff when one is left, else throws NETWORK_ERROR. */
  const retryOrThrow = async (
    cause: unknown,
    attempt: number,
    retries: number,
    requestOptions: RequestOptions | undefined,
  ): Promise<void> => {
    if (requestOptions?.signal?.aborted || disposed.signal.aborted) throw cause;
    if (attempt < retries) {
      await sleep(backoffDelay(retry, attempt), disposed.signal);
      return;
    }
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new BookgraphError(`request to ${options.url} failed: ${reason}`, { code: 'NETWORK_ERROR', cause });
  };

  async function request<TData>(
    document: DocumentNode | string | string,
    variables: Record<string, unknown> | undefined,
    requestOptions: RequestOptions | undefined,
    retries: number,
  ): Promise<TData> {
    const body = JSON.stringify(payloadOf(document, variables));
    for (let attempt = 0; ; attempt++) {
      const bearer = await token();
      const signals = [disposed.signal, AbortSignal.timeout(timeoutMs)];
      if (requestOptions?.signal) signals.push(requestOptions.signal);
      let response: Response;
      try {
        response = await fetchImpl(options.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/graphql-response+json, application/json',
            ...options.headers,
            ...requestOptions?.headers,
            ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
          },
          body,
          signal: AbortSignal.any(signals),
        });
      } catch (cause) {
        await retryOrThrow(cause, attempt, retries, requestOptions);
        continue;
      }
      const status = response.status;
      const requestId = response.headers.get('x-request-id') ?? undefined;
      if ((status >= 500 || status === 429) && attempt < retries) {
        await response.body?.cancel();
        await sleep(backoffDelay(retry, attempt), disposed.signal);
        continue;
      }
      let result: FormattedExecutionResult | undefined;
      try {
        result = await readResult(response);
      } catch (cause) {
        // The answer was cut while its body was read (the timeout, a reset): as retryable as a
        // request that got no answer, never "not a GraphQL result".
        await retryOrThrow(cause, attempt, retries, requestOptions);
        continue;
      }
      const context = { status, ...(requestId ? { requestId } : {}) };
      if (!result) {
        throw new BookgraphError(`HTTP ${status} from ${options.url} is not a GraphQL result`, {
          code: 'HTTP_ERROR',
          ...context,
        });
      }
      if (result.errors && result.errors.length > 0) throw errorFromGraphQL(result.errors, context);
      if (result.data === undefined || result.data === null) {
        throw new BookgraphError('GraphQL result without data', { code: 'UNEXPECTED', ...context });
      }
      return result.data as TData;
    }
  }

  return {
    url: options.url,
    query(document, ...[variables, requestOptions]) {
      return request(document, variables, requestOptions, retry.attempts);
    },
    mutate(document, ...[variables, requestOptions]) {
      return request(document, variables, requestOptions, 0);
    },
    subscribe<TData>(
      document: DocumentNode | string | string,
      ...[variables, subscribeOptions]: [Record<string, unknown>?, SubscribeOptions?]
    ): AsyncIterableIterator<TData> {
      const source = getTransport().iterate(payloadOf(document, variables));
      const iterator = dataOf<TData>(source);
      const signal = subscribeOptions?.signal;
      if (signal) {
        if (signal.aborted) void iterator.return?.();
        else signal.addEventListener('abort', () => void iterator.return?.(), { once: true });
      }
      return iterator;
    },
    onConnectionChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async dispose() {
      disposed.abort(new BookgraphError('client disposed', { code: 'CONNECTION_CLOSED' }));
      listeners.clear();
      await transport?.dispose();
    },
  } as BookgraphClient;
}

async function readResult(response: Response): Promise<FormattedExecutionResult | undefined> {
  const type = response.headers.get('content-type') ?? '';
  if (!type.includes('json')) {
    await response.body?.cancel();
    return undefined;
  }
  // Reading can fail (a timeout or reset mid-body): that propagates; only a body that is not
  // JSON, or JSON that is not a result, is "not a GraphQL result".
  const text = await response.text();
  try {
    const body = JSON.parse(text) as unknown;
    return typeof body === 'object' && body !== null && ('data' in body || 'errors' in body)
      ? (body as FormattedExecutionResult)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Maps transport results to typed data; errors become BookgraphErrors; `return()` passes straight through. */
function dataOf<TData>(
  source: AsyncIterableIterator<FormattedExecutionResult>,
): AsyncIterableIterator<TData> {
  return {
    async next() {
      let result: IteratorResult<FormattedExecutionResult>;
      try {
        result = await source.next();
      } catch (error) {
        throw toBookgraphError(error);
      }
      if (result.done) return { done: true, value: undefined };
      const { data, errors } = result.value;
      if (errors && errors.length > 0) {
        await source.return?.();
        throw errorFromGraphQL(errors);
      }
      return { done: false, value: data as TData };
    },
    async return() {
      await source.return?.();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

function toBookgraphError(error: unknown): BookgraphError {
  if (error instanceof BookgraphError) return error;
  if (isGraphQLErrorList(error)) return errorFromGraphQL(error);
  const code = (error as { code?: unknown } | null)?.code;
  return new BookgraphError(describeError(error), {
    code: typeof code === 'number' ? 'CONNECTION_CLOSED' : 'NETWORK_ERROR',
    cause: error,
  });
}
