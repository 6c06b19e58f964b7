import {
  BREAK,
  type DocumentNode,
  type ExecutionArgs,
  type FieldNode,
  type GraphQLField,
  type GraphQLSchema,
  getArgumentValues,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { apiError, ErrorCode } from '../../resolvers/errors.ts';
import type { EdgeLimits } from './limits.ts';

const ID = { re: /^[A-Za-z0-9._:-]{1,128}$/, hint: 'must be 1-128 characters of A-Z a-z 0-9 . _ : -' };
const EXCHANGE = { re: /^[a-z0-9][a-z0-9_-]{0,31}$/, hint: 'must be 1-32 characters of a-z 0-9 _ -' };

/**
 * Arguments that name something, by name, wherever they appear (root fields, nested fields, input
 * objects): checked before any resolver can put them in a Redis key or an error message.
 */
const NAMES: Readonly<Record<string, { re: RegExp; hint: string }>> = {
  exchange: EXCHANGE,
  exchanges: EXCHANGE,
  symbol: { re: /^[A-Za-z0-9._:/-]{1,100}$/, hint: 'must be 1-100 characters of A-Z a-z 0-9 . _ : / -' },
  id: ID,
  sessionId: ID,
  orderId: ID,
};

interface Issue {
  argument: string;
  message: string;
}

/** Strings too long and lists too long, anywhere in a value (variables, literals). */
function checkSizes(value: unknown, path: string, limits: EdgeLimits, issues: Issue[], depth = 0): void {
  if (issues.length > 0 || depth > 20) return;
  if (typeof value === 'string') {
    if (value.length > limits.maxStringLength)
      issues.push({ argument: path, message: `must be at most ${limits.maxStringLength} characters` });
  } else if (Array.isArray(value)) {
    if (value.length > limits.maxListItems)
      issues.push({ argument: path, message: `must have at most ${limits.maxListItems} items` });
    else for (const [i, item] of value.entries()) checkSizes(item, `${path}.${i}`, limits, issues, depth + 1);
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value))
      checkSizes(item, `${path}.${key}`, limits, issues, depth + 1);
  }
}

/** Problems of the document's literals: too long strings, too long lists. */
function literalIssues(document: DocumentNode, limits: EdgeLimits): Issue[] {
  const issues: Issue[] = [];
  visit(document, {
    StringValue(node) {
      if (node.value.length > limits.maxStringLength)
        issues.push({
          argument: '(literal)',
          message: `must be at most ${limits.maxStringLength} characters`,
        });
    },
    ListValue(node) {
      if (node.values.length > limits.maxListItems)
        issues.push({ argument: '(literal)', message: `must have at most ${limits.maxListItems} items` });
    },
  });
  return issues;
}

/** Name-like arguments of a value, by key, recursively through input objects and lists. */
function checkNames(value: unknown, key: string, path: string, issues: Issue[], depth = 0): void {
  if (depth > 10 || value === null || value === undefined) return;
  const rule = NAMES[key];
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) checkNames(item, key, `${path}.${i}`, issues, depth + 1);
  } else if (typeof value === 'object') {
    for (const [k, item] of Object.entries(value)) checkNames(item, k, `${path}.${k}`, issues, depth + 1);
  } else if (rule && typeof value === 'string' && !rule.re.test(value)) {
    issues.push({ argument: path, message: rule.hint });
  }
}

/** A field of the document that takes arguments, with its definition in the schema. */
interface ArgumentField {
  def: GraphQLField<unknown, unknown>;
  node: FieldNode;
  /**
   * The field's name issues when its arguments hold no variable: literals and defaults are the
   * same for every request, so they are checked once with the plan (undefined: per request).
   */
  constant?: readonly Issue[];
}

/** What the checks need of one document, found by one walk of it: the same for every request. */
export interface ArgumentPlan {
  schema: GraphQLSchema;
  literalIssues: readonly Issue[];
  /** Fields with arguments, in document order (fragments included); empty without an operation. */
  fields: readonly ArgumentField[];
}

export function argumentPlan(
  schema: GraphQLSchema,
  document: DocumentNode,
  limits: EdgeLimits,
): ArgumentPlan {
  const fields: ArgumentField[] = [];
  if (document.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION)) {
    const typeInfo = new TypeInfo(schema);
    visit(
      document,
      visitWithTypeInfo(typeInfo, {
        Field(node) {
          const def = typeInfo.getFieldDef();
          if (!def || !node.arguments?.length) return;
          fields.push(hasVariable(node) ? { def, node } : { def, node, constant: nameIssues(def, node, {}) });
        },
      }),
    );
  }
  return { schema, literalIssues: literalIssues(document, limits), fields };
}

/**
 * Plans by document, for as long as the document lives: parsed documents are shared through
 * Yoga's bounded document cache (documents.ts), so this holds no more than that cache does.
 */
export class ArgumentPlans {
  private readonly plans = new WeakMap<DocumentNode, ArgumentPlan>();

  constructor(private readonly limits: EdgeLimits) {}

  get(schema: GraphQLSchema, document: DocumentNode): ArgumentPlan {
    let plan = this.plans.get(document);
    if (plan?.schema !== schema) {
      plan = argumentPlan(schema, document, this.limits);
      this.plans.set(document, plan);
    }
    return plan;
  }
}

/** Every problem of an operation's arguments, before it runs; empty when there is none. */
export function argumentIssues(args: ExecutionArgs, limits: EdgeLimits, plan?: ArgumentPlan): Issue[] {
  const issues: Issue[] = [];
  const variables = (args.variableValues ?? {}) as Record<string, unknown>;
  for (const [name, value] of Object.entries(variables)) checkSizes(value, `$${name}`, limits, issues);
  const { literalIssues, fields } = plan ?? argumentPlan(args.schema, args.document, limits);
  issues.push(...literalIssues);
  if (issues.length > 0) return issues;
  for (const field of fields)
    issues.push(...(field.constant ?? nameIssues(field.def, field.node, variables)));
  return issues;
}

/** The name checks of one field's argument values (none if a value has the wrong type). */
function nameIssues(
  def: GraphQLField<unknown, unknown>,
  node: FieldNode,
  variables: Record<string, unknown>,
): Issue[] {
  const values = argumentValues(def, node, variables);
  if (!values) return []; // A value of the wrong type: execution reports it (BAD_USER_INPUT).
  const issues: Issue[] = [];
  for (const [name, value] of Object.entries(values)) checkNames(value, name, name, issues);
  return issues;
}

/** A field's argument values, or undefined when one has the wrong type (the execution says so). */
export function argumentValues(
  def: GraphQLField<unknown, unknown>,
  node: FieldNode,
  variables: Record<string, unknown>,
): Record<string, unknown> | undefined {
  try {
    return getArgumentValues(def, node, variables);
  } catch {
    return undefined;
  }
}

/** Whether any argument of `node` refers to a variable, however deep in lists or objects. */
export function hasVariable(node: FieldNode): boolean {
  let found = false;
  for (const argument of node.arguments ?? []) {
    visit(argument.value, {
      Variable() {
        found = true;
        return BREAK;
      },
    });
  }
  return found;
}

/**
 * Every string argument that names something (exchange, symbol, ids) is checked for length and
 * characters, and every string and list anywhere in the arguments for size, before execution on
 * every transport. The refusal (BAD_USER_INPUT) names the argument, never echoes its value.
 */
export function useArgumentLimits(limits: EdgeLimits): Plugin {
  const plans = new ArgumentPlans(limits);
  const refusal = (args: ExecutionArgs) => {
    const issues = argumentIssues(args, limits, plans.get(args.schema, args.document));
    if (issues.length === 0) return null;
    const shown = issues.slice(0, 10);
    return {
      errors: [
        apiError(ErrorCode.BadUserInput, shown.map((i) => `${i.argument}: ${i.message}`).join('; '), {
          issues: shown,
        }),
      ],
    };
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const result = refusal(args);
      if (result) setResultAndStopExecution(result);
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const result = refusal(args);
      if (result) setResultAndStopExecution(result as never);
    },
  };
}
