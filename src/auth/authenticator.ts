import { type AuthState, anonymous, unauthenticated } from './access.ts';
import { type ApiClientRegistry, bearerToken } from './api-keys.ts';

/** What the GraphQL context factory is handed, for HTTP, SSE and WebSocket alike. */
export interface InitialContext {
  request?: { headers: { get(name: string): string | null } };
  extra?: { socket?: object };
  /** The Node request of an HTTP call, checked by the edge's gate (src/server/edge/http-gate.ts). */
  req?: object;
}

/**
 * The HTTP answer to a request whose caller is refused before anything is read or parsed: a
 * presented key that is not valid (401), one that cannot be checked now (503), or no key where
 * anonymous calls are off and the request carries a body to run (401). Null: let it through.
 */
export function authenticationError(
  state: AuthState,
  hasBody: boolean,
): { status: number; code: string; message: string } | null {
  if (!state.rejected && (state.principal || state.anonymousMarketData || !hasBody)) return null;
  const error = unauthenticated(state);
  return {
    status: state.rejected === 'unavailable' ? 503 : 401,
    code: String(error.extensions.code),
    message: error.message,
  };
}

/**
 * Turns credentials into an AuthState: the `Authorization` header over HTTP and SSE, the
 * `connectionParams.authorization` (or `Authorization`) of a graphql-ws connection, checked once
 * at connection and remembered per socket.
 */
export class Authenticator {
  private readonly sockets = new WeakMap<object, AuthState>();
  private readonly requests = new WeakMap<object, AuthState>();

  constructor(
    readonly registry: ApiClientRegistry,
    readonly anonymousMarketData: boolean,
  ) {}

  /**
   * A presented key must be a valid bookgraph key (`bgk_…`): any other token, malformed ones
   * included, is refused (UNAUTHENTICATED, close 4403), never taken for "no key".
   */
  async fromKey(key: string | null): Promise<AuthState> {
    if (key === null) return anonymous(this.anonymousMarketData);
    const result = await this.registry.authenticate(key);
    return result.ok
      ? { principal: result.principal, rejected: null, anonymousMarketData: this.anonymousMarketData }
      : { principal: null, rejected: result.reason, anonymousMarketData: this.anonymousMarketData };
  }

  /** The key of graphql-ws `connectionParams`: `authorization` or `Authorization`, "Bearer <key>" or the bare key. */
  static keyFromConnectionParams(params: Readonly<Record<string, unknown>> | undefined): string | null {
    const value = params?.authorization ?? params?.Authorization;
    if (typeof value !== 'string' || value.trim() === '') return null;
    return bearerToken(value) ?? value.trim();
  }

  rememberSocket(socket: object, state: AuthState): void {
    this.sockets.set(socket, state);
  }

  /** The state the edge found for an HTTP request, so its operation does not check the key again. */
  rememberRequest(req: object, state: AuthState): void {
    this.requests.set(req, state);
  }

  /** The caller of one operation: its socket's state over WebSocket, else its request's header. */
  async forOperation(initial: InitialContext): Promise<AuthState> {
    const socket = initial.extra?.socket;
    if (socket) return this.sockets.get(socket) ?? anonymous(this.anonymousMarketData);
    const gated = initial.req && this.requests.get(initial.req);
    if (gated) return gated;
    return this.forHeader(initial.request?.headers.get('authorization') ?? null);
  }

  /** The caller of an `Authorization` header value (null: none sent). */
  forHeader(header: string | null): Promise<AuthState> {
    if (header === null || header.trim() === '') return this.fromKey(null);
    return this.fromKey(bearerToken(header) ?? header.trim());
  }
}
