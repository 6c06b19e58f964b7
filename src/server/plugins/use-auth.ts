import { type ExecutionArgs, getOperationAST, Kind } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { Counter } from 'prom-client';
import { type AuthState, marketDataDenial, SELF_AUTHORIZED_ROOT_FIELDS } from '../../auth/access.ts';
import type { Metrics } from '../../observability/metrics.ts';

function rootFields(args: ExecutionArgs): string[] {
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation) return [];
  return operation.selectionSet.selections.map((s) => (s.kind === Kind.FIELD ? s.name.value : '…'));
}

const HTTP_STATUS: Record<string, number> = { UNAUTHENTICATED: 401, FORBIDDEN: 403, UNAVAILABLE: 503 };

/** The error answering an operation that reads market data the caller may not read, else null. */
function denial(args: ExecutionArgs) {
  const auth = (args.contextValue as { auth?: AuthState } | undefined)?.auth;
  const needsMarketData = rootFields(args).some((name) => !SELF_AUTHORIZED_ROOT_FIELDS.has(name));
  return needsMarketData ? marketDataDenial(auth) : null;
}

/**
 * Market data needs the `marketdata:read` scope, or no key at all while anonymous market data is
 * allowed; a key that was presented and refused is always an error. Trading fields check the
 * `trade` scope and ownership themselves. Refusals are counted by reason.
 */
export function useAuth(metrics: Metrics): Plugin {
  const name = 'bookgraph_auth_rejections_total';
  const rejections =
    (metrics.registry.getSingleMetric(name) as Counter<'reason'> | undefined) ??
    new Counter({
      name,
      help: 'Operations refused for want of a valid key or scope, by reason.',
      labelNames: ['reason'],
      registers: [metrics.registry],
    });
  const refuse = (error: NonNullable<ReturnType<typeof marketDataDenial>>, args: ExecutionArgs) => {
    const code = String(error.extensions.code);
    rejections.inc({ reason: code.toLowerCase() });
    // Over HTTP the status says it too (GraphQL over HTTP: 4xx when nothing ran); Yoga strips
    // `extensions.http` from what it sends. graphql-ws and graphql-sse have no status.
    const http = 'req' in ((args.contextValue as object | undefined) ?? {});
    const status = HTTP_STATUS[code];
    return http && status ? { errors: [error], extensions: { http: { status } } } : { errors: [error] };
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = denial(args);
      if (error) setResultAndStopExecution(refuse(error, args) as never);
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = denial(args);
      if (error) setResultAndStopExecution(refuse(error, args) as never);
    },
  };
}
