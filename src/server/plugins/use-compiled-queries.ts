import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  GraphQLError,
  getOperationAST,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { getVariableValues } from 'graphql/execution/values.js';
import { type CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';
import { isPromise, type Plugin } from 'graphql-yoga';
import type { HeldBookResults } from './held-book-results.ts';

type Compiled = CompiledQuery<unknown, Record<string, unknown>> & {
  operation: OperationDefinitionNode;
  fragments: Map<string, FragmentDefinitionNode>;
};

/** Every field node answering `key` in these selection sets, through fragments (as collectFields merges them). */
function fieldsNamed(sets: readonly SelectionSetNode[], key: string, compiled: Compiled): FieldNode[] {
  const out: FieldNode[] = [];
  const visit = (set: SelectionSetNode) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if ((selection.alias ?? selection.name).value === key) out.push(selection);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet);
      } else {
        const fragment = compiled.fragments.get(selection.name.value);
        if (fragment) visit(fragment.selectionSet);
      }
    }
  };
  for (const set of sets) visit(set);
  return out;
}

/** The field nodes of a response path: what graphql's executor locates an error with. */
function nodesAt(path: readonly (string | number)[], compiled: Compiled): FieldNode[] {
  let sets: SelectionSetNode[] = [compiled.operation.selectionSet];
  let nodes: FieldNode[] = [];
  for (const key of path) {
    if (typeof key === 'number') continue;
    nodes = fieldsNamed(sets, key, compiled);
    sets = nodes.flatMap((n) => (n.selectionSet ? [n.selectionSet] : []));
  }
  return nodes;
}

/**
 * graphql-jit's errors carry no AST nodes, and Yoga's masking rebuilds errors from their nodes:
 * each is made again as graphql's executor makes it (`locatedError`), with the nodes of its path.
 */
function located(result: ExecutionResult<unknown>, compiled: Compiled): ExecutionResult<unknown> {
  if (!result.errors?.length) return result;
  const errors = result.errors.map((error) => {
    const path = error.path ?? [];
    const original = error.originalError;
    if (original instanceof GraphQLError && original.path) return original;
    return new GraphQLError(original?.message ?? error.message, {
      nodes: nodesAt(path, compiled),
      path,
      originalError: original ?? undefined,
      extensions: original instanceof GraphQLError ? original.extensions : error.extensions,
    });
  });
  return { ...result, errors };
}

/**
 * Compiled queries, by document and operation name, for as long as the document lives: parsed
 * documents are shared through Yoga's bounded document cache (src/server/edge/documents.ts), so
 * this holds no more than that cache does, plus one entry per operation of a document.
 */
export class CompiledQueries {
  private readonly byDocument = new WeakMap<DocumentNode, Map<string, Compiled | null>>();
  /** Compilations done (tests: one per document and operation). */
  compilations = 0;

  /** The compiled query, or null for anything else (a mutation, a subscription, or a failure). */
  get(args: ExecutionArgs): Compiled | null {
    let operations = this.byDocument.get(args.document);
    if (!operations) {
      operations = new Map();
      this.byDocument.set(args.document, operations);
    }
    const name = args.operationName ?? '';
    let compiled = operations.get(name);
    if (compiled === undefined) {
      compiled = this.compile(args);
      operations.set(name, compiled);
    }
    return compiled;
  }

  private compile(args: ExecutionArgs): Compiled | null {
    if (getOperationAST(args.document, args.operationName)?.operation !== 'query') return null;
    this.compilations += 1;
    const result = compileQuery(args.schema, args.document, args.operationName ?? undefined);
    if (!isCompiledQuery(result)) return null;
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const d of args.document.definitions)
      if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    const operation = getOperationAST(args.document, args.operationName)!;
    return Object.assign(result, { operation, fragments }) as Compiled;
  }
}

function withStatus400(error: GraphQLError): GraphQLError {
  Object.defineProperty(error, 'extensions', {
    value: { ...error.extensions, http: { ...(error.extensions?.http as object), status: 400 } },
  });
  return error;
}

/**
 * One run of a compiled query. Variables are coerced by graphql first when the operation has
 * any, so that a bad one is refused with graphql's own error (located at its definition, which
 * use-variable-errors.ts codes BAD_USER_INPUT); graphql-jit words and locates it differently.
 */
function runCompiled(compiled: Compiled, args: ExecutionArgs) {
  const definitions = compiled.operation.variableDefinitions ?? [];
  const inputs = (args.variableValues ?? {}) as Record<string, unknown>;
  if (definitions.length > 0) {
    const coerced = getVariableValues(args.schema, definitions, inputs, { maxErrors: 50 });
    // As @graphql-tools/executor (Yoga's) answers them: HTTP 400.
    if (coerced.errors) return { errors: coerced.errors.map(withStatus400) };
  }
  const result = compiled.query(args.rootValue, args.contextValue, inputs);
  return isPromise(result) ? result.then((r) => located(r, compiled)) : located(result, compiled);
}

/**
 * Queries run by graphql-jit: each (document, operation) is compiled once into a function that
 * resolves its selection without the generic executor's per-field work (collecting fields,
 * looking up types, building paths). `orderBook(depth: 20)` with every field costs ~25 µs of CPU
 * instead of ~88 µs (docs/BENCHMARKS.md). Every other hook of the execution still runs (edge
 * limits, auth, metrics, error masking): only the execute function is swapped. Mutations and
 * subscriptions keep the regular executor.
 */
export function useCompiledQueries(queries = new CompiledQueries(), results?: HeldBookResults): Plugin {
  return {
    onExecute({ args, setExecuteFn }) {
      const compiled = queries.get(args);
      if (!compiled) return;
      setExecuteFn(
        (a) =>
          (results
            ? results.execute(
                compiled,
                compiled.operation,
                a,
                () => runCompiled(compiled, a) as ExecutionResult | Promise<ExecutionResult>,
              )
            : runCompiled(compiled, a)) as never,
      );
    },
  };
}
