/**
 * The edge's limits and quotas: what one request, document, connection and key may use. Every
 * transport (HTTP POST and GET, both SSE modes, graphql-ws) is held to the same numbers. Read from
 * the environment by src/config.ts; docs/API.md ("Limits and quotas") and docs/OPERATIONS.md list them.
 */
export interface EdgeLimits {
  /** Largest HTTP request body, bytes; larger is refused with 413 before it is read. */
  maxBodyBytes: number;
  /** Largest graphql-ws frame, bytes; larger closes the socket with 1009. */
  maxFrameBytes: number;
  /**
   * How long a new graphql-ws socket may take to send `connection_init`, ms; then 4408. graphql-ws's
   * own 3 s closed healthy clients on a loaded host (a busy event loop reads the message late).
   */
  wsInitTimeoutMs: number;
  /**
   * graphql-ws's keep-alive, ms: a ping this often, and a socket that has not answered the last
   * one within as long again is terminated (the client sees 1006). A client that stops reading
   * cannot answer either: a slow socket closed with 1013 must read up to the close frame before
   * that, or it sees 1006. graphql-ws's default, 12 s.
   */
  wsKeepAliveMs: number;
  /** Largest document text, bytes, checked before the document is lexed. */
  maxDocumentBytes: number;
  /** Most lexical tokens in a document, counted before it is parsed. */
  maxDocumentTokens: number;
  /** Parsed documents kept for reuse, by estimated bytes (text and AST). */
  documentCacheMaxBytes: number;
  /** Longest string in any argument or variable, characters. */
  maxStringLength: number;
  /** Most items in any list argument or variable. */
  maxListItems: number;
  /** Origins allowed to call from a browser (`CORS_ORIGINS`); `*` any, empty none. */
  corsOrigins: readonly string[];
  /** `/metrics` answered on the API port too (always on the ops port when there is one). */
  metricsOnApiPort: boolean;
  quotas: Quotas;
}

/**
 * Per key (and per source address for calls without a key). Past one: HTTP 429 with
 * `Retry-After`, a `RATE_LIMITED` error, or graphql-ws close 4029.
 */
export interface Quotas {
  /** Sustained requests and operations per second (a token bucket). */
  requestsPerSecond: number;
  /** Requests allowed at once above the sustained rate (the bucket's size). */
  requestBurst: number;
  /** Open graphql-ws connections. */
  connections: number;
  /** Open SSE responses (distinct-connection streams and single-connection streams). */
  sseStreams: number;
  /** Live subscriptions on one connection or single-connection stream. */
  subscriptionsPerConnection: number;
  /** Live subscriptions over all of a key's connections and streams. */
  subscriptionsPerKey: number;
  /** Reserved single-connection SSE streams (opened or not). */
  sseReservations: number;
  /** How long a reserved single-connection stream waits to be opened, ms. */
  sseReservationTtlMs: number;
}

export const DEFAULT_QUOTAS: Quotas = {
  requestsPerSecond: 50,
  requestBurst: 100,
  connections: 20,
  sseStreams: 20,
  subscriptionsPerConnection: 100,
  subscriptionsPerKey: 500,
  sseReservations: 5,
  sseReservationTtlMs: 30_000,
};

export const DEFAULT_EDGE_LIMITS: EdgeLimits = {
  maxBodyBytes: 64 * 1024,
  maxFrameBytes: 64 * 1024,
  wsInitTimeoutMs: 10_000,
  wsKeepAliveMs: 12_000,
  maxDocumentBytes: 32 * 1024,
  maxDocumentTokens: 3_000,
  documentCacheMaxBytes: 16 * 1024 * 1024,
  maxStringLength: 1_024,
  maxListItems: 100,
  corsOrigins: ['*'],
  metricsOnApiPort: true,
  quotas: DEFAULT_QUOTAS,
};

/** Defaults overlaid with what the caller set (tests, `loadConfig`). */
export function edgeLimits(overrides: EdgeOverrides = {}): EdgeLimits {
  return {
    ...DEFAULT_EDGE_LIMITS,
    ...overrides,
    quotas: { ...DEFAULT_QUOTAS, ...overrides.quotas },
  };
}

export type EdgeOverrides = Partial<Omit<EdgeLimits, 'quotas'>> & { quotas?: Partial<Quotas> };
