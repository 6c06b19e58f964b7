/** How the client retries: HTTP queries on network errors and 5xx/429, subscriptions on lost connections. */
export interface RetryOptions {
  /** Retries after the first try; 0 turns retrying off. @default 5 */
  attempts?: number;
  /** Delay before the first retry. @default 250 */
  initialDelayMs?: number;
  /** Upper bound of a delay. @default 10000 */
  maxDelayMs?: number;
  /** Each delay is the previous one times this. @default 2 */
  factor?: number;
  /** Randomise each delay to 50–100 % of its value, so clients cut off together do not return together. @default true */
  jitter?: boolean;
  /**
   * Reconnections in a row of a lost subscription connection (graphql-ws, SSE) before its
   * subscriptions fail with CONNECTION_CLOSED. Forever by default: a server restart or a network
   * outage of any length is waited out, each try `maxDelayMs` apart at most.
   * @default Infinity (0 when `attempts` is 0)
   */
  reconnectAttempts?: number;
}

export type ResolvedRetry = Required<RetryOptions>;

export function resolveRetry(options: RetryOptions = {}): ResolvedRetry {
  return {
    attempts: options.attempts ?? 5,
    initialDelayMs: options.initialDelayMs ?? 250,
    maxDelayMs: options.maxDelayMs ?? 10_000,
    factor: options.factor ?? 2,
    jitter: options.jitter ?? true,
    reconnectAttempts: options.reconnectAttempts ?? (options.attempts === 0 ? 0 : Number.POSITIVE_INFINITY),
  };
}

/** The delay before retry number `retry` (0-based). */
export function backoffDelay(retry: ResolvedRetry, attempt: number): number {
  const delay = Math.min(retry.maxDelayMs, retry.initialDelayMs * retry.factor ** attempt);
  return retry.jitter ? delay * (0.5 + Math.random() / 2) : delay;
}

/** Resolves after `ms`, or rejects with the signal's reason once it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
