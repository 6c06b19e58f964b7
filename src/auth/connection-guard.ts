import type { Logger } from 'pino';
import { RateLimitedLog } from '../observability/rate-limited-log.ts';
import type { ChannelSubscriber } from '../pubsub/channel-subscriber.ts';
import { apiKeyRevokedChannel } from '../redis/keys.ts';
import type { ApiClientRegistry, Principal } from './api-keys.ts';

/** graphql-ws's close code for a refused or withdrawn authorisation. */
export const CLOSE_FORBIDDEN = 4403;

/**
 * RFC 6455 "Try Again Later": the key could not be checked at the handshake (Redis unreachable or
 * its registry lost). Clients reconnect after a pause; 4403 would tell them to give up.
 */
export const CLOSE_KEY_UNCHECKED = 1013;

/** What the guard needs of a socket. */
export interface ClosableSocket {
  close(code: number, reason: string): void;
}

export interface ConnectionGuardOptions {
  registry: ApiClientRegistry;
  channels: ChannelSubscriber;
  log: Logger;
  now?: () => number;
  /** How often expiry is checked on every authenticated connection. @default 250 */
  expiryCheckMs?: number;
  /**
   * How often each connected client's key is read again from Redis, in case a revocation
   * message was lost (pub/sub drops what is published while the subscriber reconnects). @default 5000
   */
  recheckMs?: number;
}

/**
 * Keeps authenticated WebSocket connections honest after the handshake: a key revoked (published
 * on the revocation channel, from any region) or expired mid-connection closes every socket of
 * that client with 4403. Expiry is checked locally every `expiryCheckMs`; revocation arrives by
 * pub/sub and is confirmed by a periodic re-read.
 */
export class ConnectionGuard {
  private readonly byClient = new Map<string, Map<ClosableSocket, Principal>>();
  private listening: Promise<() => void> | undefined;
  private readonly expiryTimer: NodeJS.Timeout;
  private readonly recheckTimer: NodeJS.Timeout;
  private readonly now: () => number;
  /** A lost registry or an outage makes every re-check fail alike: one line per second. */
  private readonly unknownLog: RateLimitedLog;

  constructor(private readonly options: ConnectionGuardOptions) {
    this.now = options.now ?? Date.now;
    this.unknownLog = new RateLimitedLog(options.log);
    this.expiryTimer = setInterval(() => this.closeExpired(), options.expiryCheckMs ?? 250);
    this.expiryTimer.unref();
    this.recheckTimer = setInterval(() => void this.recheck(), options.recheckMs ?? 5_000);
    this.recheckTimer.unref();
  }

  /** Number of authenticated connections (tests, metrics). */
  get size(): number {
    let n = 0;
    for (const sockets of this.byClient.values()) n += sockets.size;
    return n;
  }

  /** Watches the socket until `release`; resolves once revocations are being listened to. */
  async admit(socket: ClosableSocket, principal: Principal): Promise<void> {
    this.listening ??= this.listenForRevocations();
    let sockets = this.byClient.get(principal.clientId);
    if (!sockets) {
      sockets = new Map();
      this.byClient.set(principal.clientId, sockets);
    }
    sockets.set(socket, principal);
    // A failed SUBSCRIBE (Redis down, or the connection closed by shutdown) is not this socket's
    // failure, and callers do not await admit: rejecting here was an unhandled rejection. The
    // periodic re-check still confirms the key, and the next admit subscribes again.
    await this.listening.catch((err: unknown) =>
      this.unknownLog.warn('listen', { err }, 'revocation channel not subscribed; will retry'),
    );
    // The key was read before this socket was registered and before revocations were heard: a
    // revocation published in between would otherwise wait for the periodic re-check.
    await this.check(principal.clientId);
  }

  /** SUBSCRIBE to revocations; forgotten if it fails, so the next admit tries again. */
  private listenForRevocations(): Promise<() => void> {
    const listening = this.options.channels.listen(apiKeyRevokedChannel(), (clientId) =>
      this.closeClient(clientId, 'key revoked'),
    );
    listening.catch(() => {
      if (this.listening === listening) this.listening = undefined;
    });
    return listening;
  }

  release(socket: ClosableSocket, clientId: string): void {
    const sockets = this.byClient.get(clientId);
    if (!sockets) return;
    sockets.delete(socket);
    if (sockets.size === 0) this.byClient.delete(clientId);
  }

  close(): void {
    clearInterval(this.expiryTimer);
    clearInterval(this.recheckTimer);
    this.unknownLog.close();
    this.listening?.then(
      (stop) => stop(),
      () => {},
    );
    this.byClient.clear();
  }

  private closeClient(clientId: string, why: string): void {
    const sockets = this.byClient.get(clientId);
    if (!sockets) return;
    this.byClient.delete(clientId);
    this.options.log.info(
      { clientId, why, connections: sockets.size },
      'closing connections of a withdrawn key',
    );
    for (const socket of sockets.keys()) socket.close(CLOSE_FORBIDDEN, `Forbidden: ${why}`);
  }

  private closeExpired(): void {
    const now = this.now();
    for (const [clientId, sockets] of this.byClient) {
      for (const [socket, principal] of sockets) {
        if (principal.expiresAt !== null && principal.expiresAt <= now) {
          sockets.delete(socket);
          socket.close(CLOSE_FORBIDDEN, 'Forbidden: key expired');
        }
      }
      if (sockets.size === 0) this.byClient.delete(clientId);
    }
  }

  private async recheck(): Promise<void> {
    for (const clientId of [...this.byClient.keys()]) await this.check(clientId);
  }

  /**
   * Only `revokedAt` revokes. A missing record is "unknown, retry": Redis may have restarted
   * empty or failed over to an empty replica, and closing every socket with 4403 then would
   * throw out every client for good (issue 14 row 9). Expiry is still enforced locally.
   */
  private async check(clientId: string): Promise<void> {
    try {
      const client = await this.options.registry.get(clientId);
      if (client && client.revokedAt !== null) this.closeClient(clientId, 'key revoked');
      else if (!client)
        this.unknownLog.warn('missing', { clientId }, 'key record missing; connection kept, checking again');
    } catch (err) {
      this.unknownLog.warn('failed', { err, clientId }, 'key re-check failed; will retry');
    }
  }
}
