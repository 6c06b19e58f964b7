import { createClient } from 'graphql-sse';
import type { ResolvedRetry } from '../retry.js';
import { backoffDelay, sleep } from '../retry.js';
import type { SubscriptionTransport, TokenSource } from './transport.js';

export interface SseTransportOptions {
  url: string;
  token: TokenSource;
  retry: ResolvedRetry;
  singleConnection: boolean;
  fetch?: typeof fetch;
}

/**
 * GraphQL over SSE with the official graphql-sse client. Distinct connections mode (the default)
 * opens one `text/event-stream` response per subscription on `/graphql`; single connection mode
 * reserves one stream on `/graphql/stream` and sends every operation over it. The token goes in
 * the `authorization` header. A lost stream is reopened with backoff and the operation sent again.
 */
export function createSseTransport(options: SseTransportOptions): SubscriptionTransport {
  const headers = async (): Promise<Record<string, string>> => {
    const token = await options.token();
    return token ? { authorization: `Bearer ${token}` } : {};
  };
  const client = createClient({
    url: options.url,
    singleConnection: options.singleConnection,
    headers,
    ...(options.fetch ? { fetchFn: options.fetch } : {}),
    retryAttempts: options.retry.reconnectAttempts,
    retry: (retries) => sleep(backoffDelay(options.retry, retries)),
  });
  return {
    iterate(payload) {
      return client.iterate(payload);
    },
    async dispose() {
      client.dispose();
    },
  };
}
