import { z } from 'zod';
import { emptyAsUndefined, int, isOn, list, onOff } from '../../config-env.ts';
import { DEFAULT_EDGE_LIMITS, DEFAULT_QUOTAS, type EdgeLimits } from './limits.ts';

/** The edge's variables (request limits, quotas, CORS, `/metrics`), validated with the rest. */
export const EDGE_ENV = {
  MAX_BODY_BYTES: int(1024, 64 * 1024 * 1024, DEFAULT_EDGE_LIMITS.maxBodyBytes),
  MAX_FRAME_BYTES: int(1024, 64 * 1024 * 1024, DEFAULT_EDGE_LIMITS.maxFrameBytes),
  WS_INIT_TIMEOUT_MS: int(1_000, 120_000, DEFAULT_EDGE_LIMITS.wsInitTimeoutMs),
  WS_KEEPALIVE_MS: int(1_000, 600_000, DEFAULT_EDGE_LIMITS.wsKeepAliveMs),
  MAX_DOCUMENT_BYTES: int(1024, 16 * 1024 * 1024, DEFAULT_EDGE_LIMITS.maxDocumentBytes),
  MAX_DOCUMENT_TOKENS: int(100, 1_000_000, DEFAULT_EDGE_LIMITS.maxDocumentTokens),
  DOCUMENT_CACHE_MAX_BYTES: int(0, 1024 * 1024 * 1024, DEFAULT_EDGE_LIMITS.documentCacheMaxBytes),
  MAX_STRING_LENGTH: int(64, 1024 * 1024, DEFAULT_EDGE_LIMITS.maxStringLength),
  MAX_LIST_ITEMS: int(1, 100_000, DEFAULT_EDGE_LIMITS.maxListItems),
  CORS_ORIGINS: z.preprocess(
    (v) => (typeof v === 'string' ? v.trim() : v),
    z
      .string()
      .optional()
      .transform((v) => (v === undefined ? undefined : list(v)))
      .pipe(
        z
          .array(
            z.string().regex(/^(\*|https?:\/\/[^/\s,]+)$/, '"*" or origins like https://app.example.com'),
          )
          .optional(),
      ),
  ),
  METRICS_ON_API_PORT: onOff,
  OPS_PORT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(65535).optional()),
  QUOTA_REQUESTS_PER_SEC: int(1, 1_000_000, DEFAULT_QUOTAS.requestsPerSecond),
  QUOTA_REQUEST_BURST: int(1, 1_000_000, DEFAULT_QUOTAS.requestBurst),
  QUOTA_CONNECTIONS: int(1, 1_000_000, DEFAULT_QUOTAS.connections),
  QUOTA_SSE_STREAMS: int(1, 1_000_000, DEFAULT_QUOTAS.sseStreams),
  QUOTA_SUBSCRIPTIONS_PER_CONNECTION: int(1, 1_000_000, DEFAULT_QUOTAS.subscriptionsPerConnection),
  QUOTA_SUBSCRIPTIONS_PER_KEY: int(1, 1_000_000, DEFAULT_QUOTAS.subscriptionsPerKey),
  QUOTA_SSE_RESERVATIONS: int(1, 10_000, DEFAULT_QUOTAS.sseReservations),
  SSE_RESERVATION_TTL_MS: int(1_000, 3_600_000, DEFAULT_QUOTAS.sseReservationTtlMs),
};

type EdgeEnv = z.infer<z.ZodObject<typeof EDGE_ENV>>;

/** The edge's limits from its validated variables; production allows no CORS origin and keeps `/metrics` off the API port unless told. */
export function edgeLimitsFrom(e: EdgeEnv, production: boolean): EdgeLimits {
  return {
    maxBodyBytes: e.MAX_BODY_BYTES,
    maxFrameBytes: e.MAX_FRAME_BYTES,
    wsInitTimeoutMs: e.WS_INIT_TIMEOUT_MS,
    wsKeepAliveMs: e.WS_KEEPALIVE_MS,
    maxDocumentBytes: e.MAX_DOCUMENT_BYTES,
    maxDocumentTokens: e.MAX_DOCUMENT_TOKENS,
    documentCacheMaxBytes: e.DOCUMENT_CACHE_MAX_BYTES,
    maxStringLength: e.MAX_STRING_LENGTH,
    maxListItems: e.MAX_LIST_ITEMS,
    corsOrigins: e.CORS_ORIGINS ?? (production ? [] : ['*']),
    metricsOnApiPort: e.METRICS_ON_API_PORT === undefined ? !production : isOn(e.METRICS_ON_API_PORT),
    quotas: {
      requestsPerSecond: e.QUOTA_REQUESTS_PER_SEC,
      requestBurst: e.QUOTA_REQUEST_BURST,
      connections: e.QUOTA_CONNECTIONS,
      sseStreams: e.QUOTA_SSE_STREAMS,
      subscriptionsPerConnection: e.QUOTA_SUBSCRIPTIONS_PER_CONNECTION,
      subscriptionsPerKey: e.QUOTA_SUBSCRIPTIONS_PER_KEY,
      sseReservations: e.QUOTA_SSE_RESERVATIONS,
      sseReservationTtlMs: e.SSE_RESERVATION_TTL_MS,
    },
  };
}
