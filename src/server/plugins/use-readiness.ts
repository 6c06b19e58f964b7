import { type Plugin, useReadinessCheck } from 'graphql-yoga';
import type { ResolverDeps } from '../../resolvers/deps.ts';

/** `/ready`: 200 while Redis answers, 503 otherwise. Liveness is Yoga's own `/health`. */
export function useReadiness(deps: ResolverDeps): Plugin {
  return useReadinessCheck({
    endpoint: '/ready',
    check: () => (deps.redisReady() ? true : new Response('redis: not connected', { status: 503 })),
  });
}
