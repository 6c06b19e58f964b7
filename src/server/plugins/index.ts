import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../../log.ts';
import type { ResolverDeps } from '../../resolvers/deps.ts';
import { useReadiness } from './use-readiness.ts';
import { type SharedExecutionStats, useSharedExecution } from './use-shared-execution.ts';

export interface PluginDeps {
  deps: ResolverDeps;
  log: Logger;
  executionStats?: SharedExecutionStats;
}

/** Every Yoga plugin, in the order they run. */
export function usePlugins({ deps, executionStats }: PluginDeps): Plugin[] {
  return [useReadiness(deps), useSharedExecution(executionStats)];
}
