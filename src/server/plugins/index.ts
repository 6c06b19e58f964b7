import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../../log.ts';
import type { ResolverDeps } from '../../resolvers/deps.ts';
import { useReadiness } from './use-readiness.ts';

export interface PluginDeps {
  deps: ResolverDeps;
  log: Logger;
}

/** Every Yoga plugin, in the order they run. */
export function usePlugins({ deps }: PluginDeps): Plugin[] {
  return [useReadiness(deps)];
}
