import { type ExecutionResult, GraphQLError, NoSchemaIntrospectionCustomRule } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';

const SUGGESTION = /\s*Did you mean [^?]*\?/g;

function withoutSuggestion<E extends Error>(error: E): E | GraphQLError {
  if (!error.message.includes('Did you mean') || !(error instanceof GraphQLError)) return error;
  return new GraphQLError(error.message.replace(SUGGESTION, ''), {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
}

function clean(result: ExecutionResult): ExecutionResult | undefined {
  if (!result.errors?.some((e) => e.message.includes('Did you mean'))) return undefined;
  return { ...result, errors: result.errors.map(withoutSuggestion) };
}

/** Cuts suggestions out of an operation's result (not a stream's: those carry no coercion errors). */
function cleanResult({ result, setResult }: { result: unknown; setResult: (result: never) => void }): void {
  const cleaned = isAsyncIterable(result) ? undefined : clean(result as ExecutionResult);
  if (cleaned) setResult(cleaned as never);
}

/**
 * Production: no introspection and no "Did you mean …?" on any transport. The introspection rule
 * is added to every validation (graphql-ws and single-connection SSE validate without an HTTP
 * request, which `useDisableIntrospection` keys on); suggestions are cut from validation errors
 * and from variable coercion errors (enum values, input fields), which only appear at execution.
 */
export function useNoSchemaHints(options: { introspection: boolean; suggestions: boolean }): Plugin {
  const { introspection, suggestions } = options;
  return {
    onValidate({ addValidationRule }) {
      if (!introspection) addValidationRule(NoSchemaIntrospectionCustomRule);
      if (suggestions) return;
      return ({ valid, result, setResult }) => {
        if (!valid) setResult(result.map(withoutSuggestion));
      };
    },
    onExecute: () => (suggestions ? undefined : { onExecuteDone: cleanResult }),
    onSubscribe: () => (suggestions ? undefined : { onSubscribeResult: cleanResult }),
  };
}
