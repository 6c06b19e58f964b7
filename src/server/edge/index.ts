import type { RequestListener } from 'node:http';
import type { Context as WsContext } from 'graphql-ws';
import type { Plugin, YogaServerOptions } from 'graphql-yoga';
import type { WebSocket, WebSocketServer } from 'ws';
import type { AuthState } from '../../auth/access.ts';
import type { Authenticator } from '../../auth/authenticator.ts';
import type { ConnectionGuard } from '../../auth/connection-guard.ts';
import type { Logger } from '../../log.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { DocumentCache, NO_ERROR_CACHE, useDocumentLimits } from './documents.ts';
import { httpGate } from './http-gate.ts';
import { type EdgeLimits, type EdgeOverrides, edgeLimits } from './limits.ts';
import { CLOSE_RATE_LIMITED, QuotaBook, quotaSubject, rateLimited } from './quotas.ts';
import { SseReservations } from './sse-reservations.ts';
import { useArgumentLimits } from './use-argument-limits.ts';
import { type GatedRequests, useBodyBound } from './use-body-bound.ts';
import { useStreamGuard } from './use-stream-guard.ts';

export type { EdgeLimits, EdgeOverrides } from './limits.ts';

export interface EdgeOptions {
  limits?: EdgeOverrides;
  auth: Authenticator;
  guard: ConnectionGuard;
  metrics: Metrics;
  log: Logger;
  now?: () => number;
}

/**
 * The server's edge: limits and quotas shared by every transport. app.ts hooks it in at four
 * places: Yoga's options and plugins, the HTTP listener, and graphql-ws's connect and subscribe.
 */
export class Edge {
  readonly limits: EdgeLimits;
  readonly quotas: QuotaBook;
  readonly documents: DocumentCache;
  private reservations: SseReservations | undefined;
  private readonly gated: GatedRequests = new WeakSet();

  constructor(private readonly options: EdgeOptions) {
    this.limits = edgeLimits(options.limits);
    this.quotas = new QuotaBook(this.limits.quotas, options.metrics, options.now);
    this.documents = new DocumentCache(this.limits.documentCacheMaxBytes);
  }

  /**
   * Yoga's own options the edge sets: bounded parse cache, no multipart, CORS from the allow-list,
   * and the body bound of use-body-bound.ts instead of Yoga's.
   */
  yogaOptions(): Pick<
    YogaServerOptions<object, object>,
    'parserAndValidationCache' | 'multipart' | 'cors' | 'maxRequestBodySize'
  > {
    const origins = this.limits.corsOrigins;
    return {
      maxRequestBodySize: false,
      parserAndValidationCache: { documentCache: this.documents, errorCache: NO_ERROR_CACHE },
      multipart: false,
      cors: origins.includes('*')
        ? { credentials: false }
        : origins.length > 0
          ? { origin: [...origins] }
          : false,
    };
  }

  /** Checks before parsing (body bytes, document size, tokens); before it the armor limits and auth run. */
  documentPlugins(): Plugin[] {
    return [
      useBodyBound(this.limits.maxBodyBytes, this.gated),
      useDocumentLimits(this.limits, this.options.metrics),
    ];
  }

  /** Checks of what runs: argument names and sizes, subscription quotas, revocation of streams. */
  operationPlugins(): Plugin[] {
    return [useArgumentLimits(this.limits), useStreamGuard(this.quotas, this.options.guard)];
  }

  /** The single-connection SSE reservations, made when graphql-sse's handler is (it disposes them). */
  sseReservations = (dispose: (request: Request) => void): SseReservations => {
    this.reservations = new SseReservations({
      auth: this.options.auth,
      quotas: this.quotas,
      guard: this.options.guard,
      ttlMs: this.limits.quotas.sseReservationTtlMs,
      dispose,
    });
    return this.reservations;
  };

  /** The HTTP listener: the gate in front of Yoga on the GraphQL paths. */
  http(handler: RequestListener, paths: readonly string[]): RequestListener {
    return httpGate(handler, {
      limits: this.limits,
      auth: this.options.auth,
      quotas: this.quotas,
      log: this.options.log,
      paths,
      gated: this.gated,
    });
  }

  /**
   * A graphql-ws connection of `state`'s caller: admitted under the connection quota (the socket
   * is closed with 4029 past it), released when the socket closes. False: refused and closed.
   */
  admitSocket(socket: WebSocket, state: AuthState, address: string | undefined): boolean {
    const release = this.quotas.connection(quotaSubject(state, address));
    if (typeof release !== 'function') {
      socket.close(CLOSE_RATE_LIMITED, 'Too many connections for this key; retry later');
      return false;
    }
    socket.once('close', release);
    return true;
  }

  /** A graphql-ws operation: the request-rate quota; the error refusing it, or null. */
  wsOperation(
    ctx: WsContext<
      Record<string, unknown>,
      { socket: WebSocket; request: { socket: { remoteAddress?: string } } }
    >,
    state: AuthState | undefined,
  ) {
    const refusal = this.quotas.request(quotaSubject(state, ctx.extra.request.socket.remoteAddress));
    return refusal ? rateLimited(refusal) : null;
  }

  /**
   * A client's protocol error on a WebSocket (a frame over `maxFrameBytes`, a bad opcode) is one
   * JSON log line without a stack; graphql-ws would print a multi-line stack trace to stderr. ws
   * closes such a socket itself (1009, 1002). Call after graphql-ws's `useServer`.
   */
  quietSocketErrors(wss: WebSocketServer): void {
    wss.on('connection', (socket) => {
      socket.removeAllListeners('error');
      socket.on('error', (err: Error & { code?: string }) => {
        this.options.log.warn(
          { reason: err.message, code: err.code },
          'websocket closed on a client protocol error',
        );
      });
    });
  }

  close(): void {
    this.quotas.close();
    this.reservations?.close();
  }
}
