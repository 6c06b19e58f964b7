import { randomBytes } from 'node:crypto';

const SESSION_ID_RE = /^ses_[a-z0-9-]{1,32}_[a-z0-9]{8,40}$/;
const ORDER_ID_RE = /^(ses_[a-z0-9-]{1,32}_[a-z0-9]{8,40})_(\d{6,})$/;

/** `ses_<region>_<time base36><random hex>`: names its home region, sorts by time of creation. */
export function newSessionId(region: string, now: number): string {
  return `ses_${region}_${now.toString(36)}${randomBytes(5).toString('hex')}`;
}

/** `<sessionId>_<n>`: the session's n-th order, zero-padded so ids of a session sort by n. */
export function orderId(sessionId: string, n: number): string {
  return `${sessionId}_${String(n).padStart(6, '0')}`;
}

export function isSessionId(id: string): boolean {
  return SESSION_ID_RE.test(id);
}

/** The session and number an order id names, or null for anything that is not an order id. */
export function parseOrderId(id: string): { sessionId: string; n: number } | null {
  const match = ORDER_ID_RE.exec(id);
  return match ? { sessionId: match[1]!, n: Number(match[2]) } : null;
}

/** The region a session id names, or null for anything that is not a session id. */
function sessionRegion(sessionId: string): string | null {
  return isSessionId(sessionId) ? sessionId.slice(4, sessionId.lastIndexOf('_')) : null;
}

/**
 * The home region a session or order id names (`ses_<region>_…`, `<sessionId>_<n>`): the only
 * region that writes it. Null for anything that is neither. The one parser of home regions.
 */
export function homeRegion(id: string): string | null {
  return sessionRegion(parseOrderId(id)?.sessionId ?? id);
}
