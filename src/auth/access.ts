import { apiError, ErrorCode } from '../resolvers/errors.ts';
import type { Principal, Scope } from './api-keys.ts';

/** Who the caller is, as far as one request or connection is concerned. */
export interface AuthState {
  /** The authenticated client, or null when no key (or a rejected one) was presented. */
  principal: Principal | null;
  /** Why a presented key was refused; null when no key was presented or it was accepted. */
  rejected: 'malformed' | 'unknown' | 'revoked' | 'expired' | 'unavailable' | null;
  /** Whether market data is served without a key (`ALLOW_ANONYMOUS_MARKETDATA`). */
  anonymousMarketData: boolean;
}

/** The state of a caller who presented nothing, under a policy. */
export function anonymous(anonymousMarketData: boolean): AuthState {
  return { principal: null, rejected: null, anonymousMarketData };
}

/**
 * Root fields that check their own access (trading: the `trade` scope, and their ownership).
 * Every other root field is market data: it needs `marketdata:read`, unless anonymous market data
 * is allowed and no key was presented.
 */
export const SELF_AUTHORIZED_ROOT_FIELDS: ReadonlySet<string> = new Set([
  '__typename',
  'me',
  'openSession',
  'closeSession',
  'session',
  'sessions',
  'placeOrder',
  'cancelOrder',
  'cancelAllOrders',
  'order',
  'orders',
  'orderUpdates',
]);

/** The error answering a caller without a usable key (UNAVAILABLE when the key cannot be checked now). */
export function unauthenticated(auth: AuthState | undefined) {
  // The key could not be checked (Redis lost the registry): a passing condition, not a refusal.
  if (auth?.rejected === 'unavailable') {
    return apiError(ErrorCode.Unavailable, 'The API key cannot be checked right now; retry shortly.');
  }
  const why = auth?.rejected
    ? `The API key is ${auth.rejected === 'unknown' ? 'not valid' : auth.rejected}.`
    : 'An API key is required.';
  return apiError(ErrorCode.Unauthenticated, `${why} Send it as "Authorization: Bearer <key>".`);
}

/** The caller, whatever its scopes; UNAUTHENTICATED without a valid key. */
export function requireClient(auth: AuthState | undefined): Principal {
  if (!auth?.principal) throw unauthenticated(auth);
  return auth.principal;
}

/** The caller, if its key carries `scope`; else an UNAUTHENTICATED or FORBIDDEN error is thrown. */
export function requireScope(auth: AuthState | undefined, scope: Scope): Principal {
  const principal = auth?.principal;
  if (!principal) throw unauthenticated(auth);
  if (!principal.scopes.has(scope)) {
    throw apiError(ErrorCode.Forbidden, `The API key lacks the "${scope}" scope.`, { scope });
  }
  return principal;
}

/** Null when market data may be served to this caller, else the error to answer with. */
export function marketDataDenial(auth: AuthState | undefined) {
  if (!auth) return null;
  if (auth.rejected) return unauthenticated(auth);
  if (!auth.principal) return auth.anonymousMarketData ? null : unauthenticated(auth);
  return auth.principal.scopes.has('marketdata:read')
    ? null
    : apiError(ErrorCode.Forbidden, 'The API key lacks the "marketdata:read" scope.', {
        scope: 'marketdata:read',
      });
}
