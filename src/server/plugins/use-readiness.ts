import { type Plugin, useReadinessCheck } from 'graphql-yoga';
import type { ReadinessCheck } from '../app.ts';

/**
 * `/ready`: 200 when every check passes, else 503 with each reason on its own line (Redis not
 * connected, draining, feeds stale). Liveness is Yoga's own `/health`.
 */
export function useReadiness(checks: readonly ReadinessCheck[]): Plugin {
  return useReadinessCheck({
    endpoint: '/ready',
    check: () => {
      const reasons = checks.map((check) => check()).filter((reason): reason is string => reason !== null);
      return reasons.length === 0
        ? true
        : new Response(`not ready:\n${reasons.join('\n')}\n`, { status: 503 });
    },
  });
}
