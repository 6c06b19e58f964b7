import { type Client, createClient } from 'graphql-ws';
import type { ResolvedRetry } from '../retry.js';
import { backoffDelay, sleep } from '../retry.js';
import { deferredIterator, type SubscriptionTransport, type TokenSource } from './transport.js';

export interface WebSocketTransportOptions {
  url: string;
  token: TokenSource;
  retry: ResolvedRetry;
  /**
   * A WebSocket constructor. Node.js 22+ and browsers have one built in; on Node.js 20 the SDK
   * loads the `ws` package (an optional peer dependency) when this is not given.
   */
  webSocketImpl?: unknown;
  /** Called with every close of the socket and every (re)connection. */
  onConnectionChange?: (connected: boolean) => void;
}

async function resolveWebSocket(given: unknown): Promise<unknown> {
  if (given) return given;
  if (typeof globalThis.WebSocket === 'function') return globalThis.WebSocket;
  try {
    return (await import('ws')).default;
  } catch {
    throw new Error('no WebSocket implementation: install `ws` or pass `webSocketImpl`');
  }
}

/**
 * graphql-ws (`graphql-transport-ws`): one socket per client, opened on the first subscription and
 * closed after the last. The token goes in `connectionParams.authorization` as `Bearer <token>`.
 * A socket closed by the server (1012 on a restart) or lost is reopened with capped, jittered
 * backoff (forever by default) and every active subscription is sent again, so each one restarts
 * with a fresh SNAPSHOT.
 */
export function createWebSocketTransport(options: WebSocketTransportOptions): SubscriptionTransport {
  let client: Promise<Client> | undefined;
  const getClient = () => {
    client ??= resolveWebSocket(options.webSocketImpl).then((webSocketImpl) => {
      const c = createClient({
        url: options.url,
        webSocketImpl,
        lazy: true,
        connectionParams: async () => {
          const token = await options.token();
          return token ? { authorization: `Bearer ${token}` } : {};
        },
        retryAttempts: options.retry.reconnectAttempts,
        retryWait: (retries) => sleep(backoffDelay(options.retry, retries)),
        // Everything but the protocol's own 44xx refusals is worth another try: a lost socket,
        // 1012 (server restart), 1013 (try again later: too slow, or the key not checkable now).
        shouldRetry: (closeOrError) => !isFatalClose(closeOrError),
      });
      if (options.onConnectionChange) {
        const onChange = options.onConnectionChange;
        c.on('connected', () => onChange(true));
        c.on('closed', () => onChange(false));
      }
      return c;
    });
    return client;
  };
  return {
    iterate(payload) {
      return deferredIterator(async () => (await getClient()).iterate(payload));
    },
    async dispose() {
      if (client) await (await client).dispose();
    },
  };
}

function isFatalClose(value: unknown): boolean {
  const code = (value as { code?: unknown } | null)?.code;
  return typeof code === 'number' && code >= 4400 && code < 4500;
}
