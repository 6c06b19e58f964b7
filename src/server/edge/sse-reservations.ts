import { randomBytes } from 'node:crypto';
import { TOKEN_HEADER_KEY, TOKEN_QUERY_KEY } from 'graphql-sse';
import type { AuthState } from '../../auth/access.ts';
import type { Authenticator } from '../../auth/authenticator.ts';
import type { ConnectionGuard } from '../../auth/connection-guard.ts';
import { type QuotaBook, quotaSubject } from './quotas.ts';

/** The stream token a single-connection SSE request names (header or `token` query parameter). */
export function streamTokenOf(request: Request): string | null {
  const header = request.headers.get(TOKEN_HEADER_KEY);
  if (header) return header;
  return new URL(request.url, 'http://localhost/').searchParams.get(TOKEN_QUERY_KEY);
}

interface Reservation {
  clientId: string;
  release: () => void;
  expiry: NodeJS.Timeout | undefined;
}

/** What graphql-sse's `authenticate` may answer: a token, or a response ending the request. */
type Answer = string | [string, { status: number; statusText: string; headers: Record<string, string> }];

function answer(status: number, code: string, message: string, headers: Record<string, string> = {}): Answer {
  return [
    JSON.stringify({ errors: [{ message, extensions: { code } }] }),
    {
      status,
      statusText: STATUS_TEXT[status] ?? 'Error',
      headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    },
  ];
}

const STATUS_TEXT: Record<number, string> = {
  401: 'Unauthorized',
  404: 'Not Found',
  429: 'Too Many Requests',
};

const NOT_FOUND = () => answer(404, 'NOT_FOUND', 'Stream not found.');

/**
 * Single-connection SSE streams belong to the key that reserved them: a reservation (PUT) needs a
 * key; its token is 256 random bits chosen here; every later request on it (GET to listen, POST
 * an operation, DELETE one) must come with the same key, else "not found" (what a token that does
 * not exist gets). A reservation not opened within `sseReservationTtlMs` is dropped; a key holds
 * at most `sseReservations`. An opened stream ends, with the key's other streams, when the key is
 * revoked or expires.
 */
export class SseReservations {
  private readonly byToken = new Map<string, Reservation>();
  /** Requests made here to drop a reservation from graphql-sse's own table. */
  private readonly internal = new WeakSet<Request>();
  /** Cuts an opened stream (its GET) from this side. */
  private readonly cutters = new WeakMap<Request, AbortController>();

  constructor(
    private readonly options: {
      auth: Authenticator;
      quotas: QuotaBook;
      guard: ConnectionGuard;
      ttlMs: number;
      /** Calls graphql-sse with a request (to drop an unopened stream). */
      dispose: (request: Request) => void;
    },
  ) {}

  get size(): number {
    return this.byToken.size;
  }

  /** The request to hand graphql-sse: a listening GET gets a signal this side can abort. */
  prepare(request: Request): Request {
    if (request.method !== 'GET' || !streamTokenOf(request)) return request;
    const cutter = new AbortController();
    const prepared = new Request(request.url, {
      headers: request.headers,
      signal: AbortSignal.any([request.signal, cutter.signal]),
    });
    this.cutters.set(prepared, cutter);
    return prepared;
  }

  /** graphql-sse's `authenticate`. */
  async authenticate(request: Request): Promise<Answer> {
    const token = streamTokenOf(request);
    if (this.internal.has(request) && token) return token;
    const state: AuthState = await this.options.auth.forHeader(request.headers.get('authorization'));
    const principal = state.principal;
    if (!token) {
      if (request.method !== 'PUT') return randomBytes(32).toString('base64url');
      if (!principal) return answer(401, 'UNAUTHENTICATED', 'Reserving a stream needs an API key.');
      return this.reserve(quotaSubject(state, undefined), principal.clientId);
    }
    const reservation = this.byToken.get(token);
    if (!reservation || !principal || reservation.clientId !== principal.clientId) return NOT_FOUND();
    const cutter = this.cutters.get(request);
    if (cutter && request.headers.get('accept') === 'text/event-stream') {
      clearTimeout(reservation.expiry);
      reservation.expiry = undefined;
      const watched = { close: () => setTimeout(() => cutter.abort(), 200).unref() };
      void this.options.guard.admit(watched, principal);
      request.signal.addEventListener('abort', () => {
        this.options.guard.release(watched, principal.clientId);
        this.drop(token);
      });
    }
    return token;
  }

  private reserve(subject: string, clientId: string): Answer {
    const release = this.options.quotas.reservation(subject);
    if (typeof release !== 'function') {
      return answer(429, 'RATE_LIMITED', 'Too many reserved streams for this key; retry later.', {
        'retry-after': String(release.retryAfterSeconds),
      });
    }
    const token = randomBytes(32).toString('base64url');
    const expiry = setTimeout(() => this.expire(token), this.options.ttlMs);
    expiry.unref();
    this.byToken.set(token, { clientId, release, expiry });
    return token;
  }

  /** An unopened reservation's time is up: forget it here and in graphql-sse. */
  private expire(token: string): void {
    if (!this.drop(token)) return;
    const request = new Request('http://localhost/graphql/stream', {
      headers: { accept: 'text/event-stream', [TOKEN_HEADER_KEY]: token },
      signal: AbortSignal.abort(),
    });
    this.internal.add(request);
    this.options.dispose(request);
  }

  private drop(token: string): boolean {
    const reservation = this.byToken.get(token);
    if (!reservation) return false;
    this.byToken.delete(token);
    clearTimeout(reservation.expiry);
    reservation.release();
    return true;
  }

  close(): void {
    for (const token of [...this.byToken.keys()]) this.drop(token);
  }
}
