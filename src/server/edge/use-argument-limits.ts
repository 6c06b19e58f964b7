import {
  type DocumentNode,
  type ExecutionArgs,
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

function checkLiterals(document: DocumentNode, limits: EdgeLimits, issues: Issue[]): void {
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

function checkFieldArguments(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown>,
  issues: Issue[],
): void {
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const def = typeInfo.getFieldDef();
        if (!def || !node.arguments?.length) return;
        let values: Record<string, unknown>;
        try {
          values = getArgumentValues(def, node, variables);
        } catch {
          return; // A value of the wrong type: execution reports it (BAD_USER_INPUT).
        }
        for (const [name, value] of Object.entries(values)) checkNames(value, name, name, issues);
      },
    }),
  );
}

/** Every problem of an operation's arguments, before it runs; empty when there is none. */
export function argumentIssues(args: ExecutionArgs, limits: EdgeLimits): Issue[] {
  const issues: Issue[] = [];
  const variables = (args.variableValues ?? {}) as Record<string, unknown>;
  for (const [name, value] of Object.entries(variables)) checkSizes(value, `$${name}`, limits, issues);
  checkLiterals(args.document, limits, issues);
  if (issues.length === 0 && args.document.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION))
    checkFieldArguments(args.schema, args.document, variables, issues);
  return issues;
}

/**
 * Every string argument that names something (exchange, symbol, ids) is checked for length and
 * characters, and every string and list anywhere in the arguments for size, before execution on
 * every transport. The refusal (BAD_USER_INPUT) names the argument, never echoes its value.
 */
export function useArgumentLimits(limits: EdgeLimits): Plugin {
  const refusal = (args: ExecutionArgs) => {
    const issues = argumentIssues(args, limits);
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
