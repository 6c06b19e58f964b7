import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../../log.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { Tracing } from '../../observability/tracing.ts';
import type { ResolverDeps } from '../../resolvers/deps.ts';
import type { ReadinessCheck } from '../app.ts';
import type { Edge } from '../edge/index.ts';
import type { HeldBookResults } from './held-book-results.ts';
import { useArmor } from './use-armor.ts';
import { useAuth } from './use-auth.ts';
import { useCompiledQueries } from './use-compiled-queries.ts';
import { useCompression } from './use-compression.ts';
import { useSingleConnectionSse } from './use-graphql-sse.ts';
import { useMetrics } from './use-metrics.ts';
import { useReadiness } from './use-readiness.ts';
import { useRequestId } from './use-request-id.ts';
import { type SharedExecutionStats, useSharedExecution } from './use-shared-execution.ts';
import { useTracing } from './use-tracing.ts';
import { useVariableErrorCodes } from './use-variable-errors.ts';

export interface PluginDeps {
  deps: ResolverDeps;
  log: Logger;
  metrics: Metrics;
  readiness: readonly ReadinessCheck[];
  executionStats?: SharedExecutionStats;
  /** OpenTelemetry tracing; off when absent. */
  tracing?: Tracing;
  /** Introspection and field suggestions answered (development). */
  introspection: boolean;
  /** Request limits and quotas (src/server/edge). */
  edge: Edge;
  /** Queries run compiled by graphql-jit (use-compiled-queries.ts). */
  compiledQueries: boolean;
  /** Kept answers of queries on held books (with compiled queries only). */
  heldBookResults?: HeldBookResults;
}

/**
 * Every Yoga plugin, in the order they run: request id first (so everything after can log it),
 * then the operation's trace span (named before auth can stop an operation), readiness and
 * metrics endpoints, then the document limits, then who may run the operation, then execution.
 */
export function usePlugins({
  log,
  metrics,
  readiness,
  executionStats,
  tracing,
  introspection,
  edge,
  compiledQueries,
  heldBookResults,
}: PluginDeps): Plugin[] {
  return [
    useRequestId(log),
    useCompression(),
    ...(tracing?.enabled ? [useTracing(tracing)] : []),
    useReadiness(readiness),
    ...useMetrics(metrics, edge.limits.metricsOnApiPort),
    ...edge.documentPlugins(),
    ...useArmor(metrics, { introspection, fieldSuggestions: introspection }),
    useAuth(metrics),
    ...edge.operationPlugins(),
    useVariableErrorCodes(),
    ...(compiledQueries ? [useCompiledQueries(undefined, heldBookResults)] : []),
    useSharedExecution(executionStats),
    useSingleConnectionSse(edge.sseReservations),
  ];
}
