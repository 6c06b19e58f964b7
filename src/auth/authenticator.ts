import { type AuthState, anonymous } from './access.ts';
import { type ApiClientRegistry, bearerToken } from './api-keys.ts';

/** What the GraphQL context factory is handed, for HTTP, SSE and WebSocket alike. */
export interface InitialContext {
  request?: { headers: { get(name: string): string | null } };
  extra?: { socket?: object };
}

/**
 * Turns credentials into an AuthState: the `Authorization` header over HTTP and SSE, the
 * `connectionParams.authorization` (or `Authorization`) of a graphql-ws connection, checked once
 * at connection and remembered per socket.
 */
export class Authenticator {
  private readonly sockets = new WeakMap<object, AuthState>();

  constructor(
    readonly registry: ApiClientRegistry,
    readonly anonymousMarketData: boolean,
  ) {}

  /**
   * A bookgraph key (`bgk_…`) must be valid. Any other token (a gateway's own bearer token, say)
   * is not ours to judge: while anonymous market data is allowed it counts as no key.
   */
  async fromKey(key: string | null): Promise<AuthState> {
    if (key === null) return anonymous(this.anonymousMarketData);
    const result = await this.registry.authenticate(key);
    if (!result.ok && result.reason === 'malformed' && this.anonymousMarketData) return anonymous(true);
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

  /** The caller of one operation: its socket's state over WebSocket, else its request's header. */
  async forOperation(initial: InitialContext): Promise<AuthState> {
    const socket = initial.extra?.socket;
    if (socket) return this.sockets.get(socket) ?? anonymous(this.anonymousMarketData);
    const header = initial.request?.headers.get('authorization') ?? null;
    if (header === null) return anonymous(this.anonymousMarketData);
    return this.fromKey(bearerToken(header) ?? header);
  }
}
