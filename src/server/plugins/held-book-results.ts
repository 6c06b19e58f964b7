import {
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type GraphQLField,
  Kind,
  type OperationDefinitionNode,
} from 'graphql';
import { isPromise } from 'graphql-yoga';
import type { ResolverDeps } from '../../resolvers/deps.ts';
import { isStale } from '../../resolvers/orderbook.ts';
import { argumentValues, hasVariable } from '../edge/use-argument-limits.ts';

/** What the answers depend on, per book the operation reads: the book, its version, its staleness. */
interface Held {
  book: object;
  version: number;
  stale: boolean;
}

interface Entry {
  held: Held[];
  result: ExecutionResult;
  /** The result's JSON, made on its first reuse. */
  text?: string;
}

/** A result Yoga serialises with its own `stringify` when it has one (result-processor/stringify.js). */
type Stringified = ExecutionResult & { stringify?: (value: unknown) => string };

/** The operation's root fields, when every one is `orderBook` (or `__typename`) without directives. */
interface BookPlan {
  fields: {
    node: FieldNode;
    def: GraphQLField<unknown, unknown>;
    key: string;
    /** The arguments, when they hold no variable: the same for every request. */
    constant?: Record<string, unknown>;
  }[];
}

/** A held book as the resolvers see it (book-hub.ts `liveReplica`, served-book.ts). */
interface HeldBook {
  readonly version: number;
  readonly receiveTs: number;
}

/**
 * Answers of queries that read only books this process holds live (issue 15: a query as cheap as
 * `{ __typename }`). `orderBook` served from the in-process replica is a pure function of the
 * document, its variables, the book's state and whether it is stale; the book's `version` moves
 * on every change the replica makes (served-book.ts), so an answer kept under (document and
 * operation, variables) with the versions and staleness it was made from is the answer a new
 * execution would give while they hold. Kept: answers without errors, of operations whose root
 * fields are all `orderBook` on live books. Auth, limits and quotas run before execution and are
 * not skipped; each hit is a shallow copy, so no hook sees another request's result object.
 */
export class HeldBookResults {
  private readonly plans = new WeakMap<OperationDefinitionNode, BookPlan | null>();
  private readonly entries = new WeakMap<object, Map<string, Entry>>();
  hits = 0;
  misses = 0;

  /**
   * @param maxPerOperation variable sets kept per operation, oldest dropped first
   * @param onAnswer told of each query on held books: its answer reused or executed (metrics)
   */
  constructor(
    private readonly maxPerOperation = 32,
    private readonly onAnswer?: (reused: boolean) => void,
  ) {}

  /** Answers `args` (compiled as `operation`) from a kept result, or runs `run` and keeps its answer. */
  execute(
    compiled: object,
    operation: OperationDefinitionNode,
    args: ExecutionArgs,
    run: () => ExecutionResult | Promise<ExecutionResult>,
  ): ExecutionResult | Promise<ExecutionResult> {
    const plan = this.plan(operation, args);
    const deps = (args.contextValue as { deps?: ResolverDeps } | undefined)?.deps;
    const held = plan && deps ? this.held(plan, deps, args) : undefined;
    if (!plan || !held) return run();
    const variables = args.variableValues ? JSON.stringify(args.variableValues) : '';
    let byVariables = this.entries.get(compiled);
    const kept = byVariables?.get(variables);
    if (kept && sameHeld(kept.held, held)) {
      this.hits += 1;
      this.onAnswer?.(true);
      return reuse(kept);
    }
    this.misses += 1;
    this.onAnswer?.(false);
    const keep = (result: ExecutionResult): ExecutionResult => {
      if (result.errors || !answersMatch(plan, result, held)) return result;
      byVariables ??= this.entries.get(compiled);
      if (!byVariables) {
        byVariables = new Map();
        this.entries.set(compiled, byVariables);
      }
      byVariables.delete(variables);
      byVariables.set(variables, { held, result });
      if (byVariables.size > this.maxPerOperation) byVariables.delete(byVariables.keys().next().value!);
      return { ...result };
    };
    const result = run();
    return isPromise(result) ? result.then(keep) : keep(result);
  }

  private plan(operation: OperationDefinitionNode, args: ExecutionArgs): BookPlan | null {
    let plan = this.plans.get(operation);
    if (plan === undefined) {
      plan = bookPlan(operation, args);
      this.plans.set(operation, plan);
    }
    return plan;
  }

  /** Each `orderBook` field's book, if every one is held live now; else undefined. */
  private held(plan: BookPlan, deps: ResolverDeps, args: ExecutionArgs): Held[] | undefined {
    const held: Held[] = [];
    for (const { node, def, constant } of plan.fields) {
      const values =
        constant ?? argumentValues(def, node, (args.variableValues ?? {}) as Record<string, unknown>);
      if (!values) return undefined; // A bad argument: the execution answers it.
      const { exchange, symbol } = values;
      if (typeof exchange !== 'string' || typeof symbol !== 'string') return undefined;
      const book = deps.hub.liveReplica(exchange, symbol) as (HeldBook & object) | undefined;
      if (!book) return undefined;
      held.push({
        book,
        version: book.version,
        stale: isStale(deps, book.receiveTs, true, exchange, symbol),
      });
    }
    return held;
  }
}

function bookPlan(operation: OperationDefinitionNode, args: ExecutionArgs): BookPlan | null {
  if (operation.operation !== 'query') return null;
  const def = args.schema.getQueryType()?.getFields().orderBook;
  if (!def) return null;
  const fields: BookPlan['fields'] = [];
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD || selection.directives?.length) return null;
    if (selection.name.value === '__typename') continue;
    if (selection.name.value !== 'orderBook') return null;
    const key = (selection.alias ?? selection.name).value;
    const constant = hasVariable(selection) ? undefined : argumentValues(def, selection, {});
    fields.push(constant ? { node: selection, def, key, constant } : { node: selection, def, key });
  }
  return fields.length > 0 ? { fields } : null;
}

/**
 * A shallow copy of a kept result that Yoga serialises from the kept JSON (over HTTP and SSE;
 * graphql-ws serialises the copy itself and skips the function). A copy some hook changed, or
 * one Yoga rebuilt to strip internals, is serialised as usual.
 */
function reuse(entry: Entry): ExecutionResult {
  const kept = entry.result;
  const copy: Stringified = { ...kept };
  copy.stringify = (value) => {
    const unchanged =
      value === copy &&
      Object.keys(copy).every(
        (k) => k === 'stringify' || copy[k as keyof ExecutionResult] === kept[k as keyof ExecutionResult],
      ) &&
      Object.keys(copy).length === Object.keys(kept).length + 1;
    if (!unchanged) return JSON.stringify(value);
    entry.text ??= JSON.stringify(kept);
    return entry.text;
  };
  return copy;
}

function sameHeld(a: Held[], b: Held[]): boolean {
  return a.every((h, i) => h.book === b[i]!.book && h.version === b[i]!.version && h.stale === b[i]!.stale);
}

/**
 * Whether the answer is the one `held` describes: its `stale`, where asked, is the one computed
 * for the key (the resolver reads the clock again, and the two may fall either side of the limit).
 */
function answersMatch(plan: BookPlan, result: ExecutionResult, held: Held[]): boolean {
  return plan.fields.every(({ key }, i) => {
    const answer = (result.data as Record<string, { stale?: unknown } | null> | null | undefined)?.[key];
    if (!answer) return false;
    return answer.stale === undefined || answer.stale === held[i]!.stale;
  });
}
