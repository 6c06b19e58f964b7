/**
 * Whether an error means "Redis cannot answer now" (an outage the caller may retry) rather than
 * a bug: a command timed out, the connection is closed or gave up reconnecting, or the server
 * refuses for a passing reason (loading, busy script, failover in progress, a demoted primary, out
 * of memory under `noeviction`: Redis refused the write, nothing was written, it may pass once
 * memory is freed).
 */
export function isRedisUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; depth++) {
    if (e.name === 'MaxRetriesPerRequestError') return true;
    if (TRANSIENT_MESSAGES.some((m) => e instanceof Error && e.message.startsWith(m))) return true;
    if (e.name === 'ReplyError' && TRANSIENT_REPLIES.test(e.message)) return true;
    e = 'originalError' in e && e.originalError ? e.originalError : e.cause;
  }
  return false;
}

/** ioredis's own messages (Command.js, utils CONNECTION_CLOSED_ERROR_MSG, Redis.js). */
const TRANSIENT_MESSAGES = ['Command timed out', 'Connection is closed.', "Stream isn't writeable"] as const;

const TRANSIENT_REPLIES = /^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|NOREPLICAS|OOM)\b/;
