import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import { type ExecutionArgs, type ExecutionResult, GraphQLError, getOperationAST } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Metrics } from '../../observability/metrics.ts';
import { ErrorCode } from '../../resolvers/errors.ts';

const KNOWN_CODES = new Set<string>([
  ...Object.values(ErrorCode),
  'BAD_USER_INPUT',
  'GRAPHQL_VALIDATION_FAILED',
]);

export function rootField(args: ExecutionArgs): { type: string; field: string } {
  const operation = getOperationAST(args.document, args.operationName);
  const first = operation?.selectionSet.selections[0];
  // Root field names come from the schema, so the label stays bounded; anything else is "other".
  const field =
    first?.kind === 'Field' && args.schema.getRootType(operation!.operation)?.getFields()[first.name.value]
      ? first.name.value
      : 'other';
  return { type: operation?.operation ?? 'unknown', field };
}

export function errorCode(error: GraphQLError): string {
  const code = error.extensions?.code;
  if (typeof code === 'string' && KNOWN_CODES.has(code)) return code;
  return error.originalError && !(error.originalError instanceof GraphQLError) ? 'INTERNAL' : 'OTHER';
}

function countErrors(metrics: Metrics, field: string, result: ExecutionResult): void {
  for (const error of result.errors ?? []) metrics.errors.inc({ field, code: errorCode(error) });
}

/**
 * `/metrics` (yoga's Prometheus plugin, on our registry, with the unbounded operationName label
 * off) plus bookgraph's own per-root-field latency and error counts.
 */
export function useMetrics(metrics: Metrics, onApiPort = true): Plugin[] {
  const own: Plugin = {
    onExecute({ args }) {
      const { type, field } = rootField(args);
      const end = metrics.requestDuration.startTimer({ type, field });
      return {
        onExecuteDone({ result }) {
          end();
          if (!isAsyncIterable(result)) countErrors(metrics, field, result);
        },
      };
    },
    onSubscribe({ args }) {
      const { type, field } = rootField(args);
      const end = metrics.requestDuration.startTimer({ type, field });
      return {
        onSubscribeResult({ result }) {
          end();
          if (!isAsyncIterable(result)) countErrors(metrics, field, result);
        },
        onSubscribeError() {
          end();
          metrics.errors.inc({ field, code: 'INTERNAL' });
        },
      };
    },
  };
  return [
    usePrometheus({
      registry: metrics.registry,
      // Off in production unless METRICS_ON_API_PORT: scraped on OPS_PORT instead.
      endpoint: onApiPort ? '/metrics' : false,
      labels: { operationName: false, url: false },
      metrics: {
        graphql_yoga_http_duration: true,
        graphql_envelop_phase_parse: true,
        graphql_envelop_phase_validate: true,
        graphql_envelop_phase_execute: true,
        graphql_envelop_error_result: true,
        graphql_envelop_request: false,
        graphql_envelop_request_duration: false,
        graphql_envelop_request_time_summary: false,
        graphql_envelop_phase_context: false,
        graphql_envelop_phase_subscribe: false,
        graphql_envelop_deprecated_field: false,
        graphql_envelop_schema_change: false,
      },
    }),
    own,
  ];
}
