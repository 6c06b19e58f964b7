import type { ExecutionResult, GraphQLFormattedError } from 'graphql';
import { createClient as createSseClient, type Client as SseClient } from 'graphql-sse';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { App } from '../../src/server/app.ts';
import type { ClientBook, WireBookUpdate } from './book-checker.ts';

/**
 * GraphQL clients that tests dispose of: every client and subscription made through `clients()`
 * is closed by `dispose()`, so a failing test leaves no socket behind.
 */
export interface Clients {
  ws(url: string): WsClient;
  sse(url: string): SseClient;
  dispose(): Promise<void>;
}

export function trackedClients(): Clients {
  const ws: WsClient[] = [];
  const sse: SseClient[] = [];
  return {
    ws(url) {
      const client = createWsClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
      ws.push(client);
      return client;
    },
    sse(url) {
      const client = createSseClient({ url, retryAttempts: 0 });
      sse.push(client);
      return client;
    },
    async dispose() {
      for (const c of sse.splice(0)) c.dispose();
      await Promise.allSettled(ws.splice(0).map((c) => c.dispose()));
    },
  };
}

/** What ended a subscription, if anything did. */
export interface SubscriptionHandle {
  unsubscribe(): void;
  /** Resolves when the server completes the operation or it errors; errors are kept, not thrown. */
  done: Promise<{ errors: readonly GraphQLFormattedError[] | undefined; kind: 'complete' | 'error' }>;
}

type Sink = {
  next(value: ExecutionResult<Record<string, unknown>>): void;
  error(error: unknown): void;
  complete(): void;
};
type Subscriber = (payload: { query: string; variables?: Record<string, unknown> }, sink: Sink) => () => void;

/**
 * Subscribes `onData` to an operation. Errors inside `next` payloads are recorded; a transport
 * `error` (graphql-ws `error` message, or a failed connection) ends the handle with kind 'error'.
 */
export function subscribe<T>(
  client: WsClient | SseClient,
  query: string,
  variables: Record<string, unknown>,
  onData: (data: T) => void,
): SubscriptionHandle & { errors: GraphQLFormattedError[] } {
  const errors: GraphQLFormattedError[] = [];
  let unsubscribe: () => void = () => {};
  const done = new Promise<{
    errors: readonly GraphQLFormattedError[] | undefined;
    kind: 'complete' | 'error';
  }>((resolve) => {
    unsubscribe = (client.subscribe as unknown as Subscriber)(
      { query, variables },
      {
        next(result) {
          if (result.errors) errors.push(...result.errors);
          if (result.data) {
            const value = Object.values(result.data)[0];
            if (value) onData(value as T);
          }
        },
        error(error) {
          const list = Array.isArray(error) ? (error as GraphQLFormattedError[]) : undefined;
          if (list) errors.push(...list);
          else errors.push({ message: describeTransportError(error) });
          resolve({ errors: list, kind: 'error' });
        },
        complete() {
          resolve({ errors: errors.length > 0 ? errors : undefined, kind: 'complete' });
        },
      },
    );
  });
  return { unsubscribe: () => unsubscribe(), done, errors };
}

/** A transport error as text: an Error's message, a WebSocket close's code and reason. */
function describeTransportError(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (error && typeof error === 'object' && 'code' in error) {
    const { code, reason } = error as { code: unknown; reason?: unknown };
    return `connection closed: ${code} ${reason ?? ''}`.trim();
  }
  return String(error);
}

export const ORDER_BOOK_UPDATES = `subscription Updates($exchange: String!, $symbol: String!, $depth: Int!) {
  orderBookUpdates(exchange: $exchange, symbol: $symbol, depth: $depth) {
    type epoch seq prevSeq reason bids { price size } asks { price size }
  }
}`;

/** ORDER_BOOK_UPDATES with the venue's own sequence number of each message (ccxt venues). */
export const VENUE_BOOK_UPDATES = ORDER_BOOK_UPDATES.replace('type epoch seq', 'type epoch seq venueSeq');

/** Feeds a ClientBook from an `orderBookUpdates` subscription (`query`: which fields it selects). */
export function followBook(client: WsClient | SseClient, book: ClientBook, query = ORDER_BOOK_UPDATES) {
  return subscribe<WireBookUpdate>(
    client,
    query,
    { exchange: book.exchange, symbol: book.symbol, depth: book.depth },
    (update) => book.apply(update),
  );
}

/** One GraphQL request over HTTP through `yoga.fetch` (no socket needed). */
export async function execute<T = Record<string, unknown>>(
  app: App,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<{ status: number; body: ExecutionResult<T> }> {
  const response = await app.yoga.fetch('http://bookgraph.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as ExecutionResult<T> };
}

/** Returns `data` after asserting that the response carries no errors. */
export async function executeOk<T = Record<string, unknown>>(
  app: App,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  const { status, body } = await execute<T>(app, query, variables);
  if (body.errors || status !== 200 || !body.data) {
    throw new Error(`expected no GraphQL errors, got ${status} ${JSON.stringify(body)}`);
  }
  return body.data;
}
