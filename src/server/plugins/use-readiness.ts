import { type Plugin, useReadinessCheck } from 'graphql-yoga';
import type { ReadinessCheck } from '../app.ts';
import { unreadyReasons } from '../readiness.ts';

/**
 * `/ready`: 200 when every check passes, else 503 with each reason on its own line (Redis not
 * connected or not answering PING in time, draining, feeds stale). Liveness is Yoga's own `/health`.
 */
export function useReadiness(checks: readonly ReadinessCheck[]): Plugin {
  return useReadinessCheck({
    endpoint: '/ready',
    check: async () => {
      const reasons = await unreadyReasons(checks);
      return reasons.length === 0
        ? true
        : new Response(`not ready:\n${reasons.join('\n')}\n`, { status: 503 });
    },
  });
}
