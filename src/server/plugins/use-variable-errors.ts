import { type ExecutionResult, GraphQLError, Kind } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { ErrorCode } from '../../resolvers/errors.ts';

/** A variable whose value does not fit its type: graphql-js points the error at its definition. */
function isVariableError(error: GraphQLError): boolean {
  return (
    !error.extensions?.code && (error.nodes ?? []).some((node) => node.kind === Kind.VARIABLE_DEFINITION)
  );
}

function withCodes(result: ExecutionResult): ExecutionResult | undefined {
  if (!result.errors?.some(isVariableError)) return undefined;
  const errors = result.errors.map((error) =>
    isVariableError(error)
      ? new GraphQLError(error.message, {
          nodes: error.nodes,
          source: error.source,
          positions: error.positions,
          extensions: { ...error.extensions, code: ErrorCode.BadUserInput },
        })
      : error,
  );
  return { ...result, errors };
}

/**
 * Gives variable coercion errors (`$depth = 2.5` for an `Int`) the BAD_USER_INPUT code that the
 * same mistake gets from our argument checks, so clients can tell input errors apart by code.
 */
export function useVariableErrorCodes(): Plugin {
  return {
    onExecute() {
      return {
        onExecuteDone({ result, setResult }) {
          if (isAsyncIterable(result)) return;
          const coded = withCodes(result);
          if (coded) setResult(coded);
        },
      };
    },
    onSubscribe() {
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) return;
          const coded = withCodes(result);
          if (coded) setResult(coded);
        },
      };
    },
  };
}
