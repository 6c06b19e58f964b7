import { readdirSync, readFileSync } from 'node:fs';
import { buildSchema, type GraphQLObjectType, Kind, type OperationTypeNode, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';

/**
 * docs/API.md and the SDK's operations stay accurate to schema.graphql: every GraphQL example of
 * the page and every operation of the SDK validates against the schema, and together the page's
 * examples (and the SDK's operations) use every query, mutation and subscription field.
 */
const root = new URL('../../', import.meta.url);
const schema = buildSchema(readFileSync(new URL('schema.graphql', root), 'utf8'));
const doc = readFileSync(new URL('docs/API.md', root), 'utf8');
const blocks = [...doc.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]!);

const rootTypes: Record<OperationTypeNode, GraphQLObjectType | null | undefined> = {
  query: schema.getQueryType(),
  mutation: schema.getMutationType(),
  subscription: schema.getSubscriptionType(),
};

/** `query.orderBook`, `subscription.orderBook`, … for every root field the sources select. */
function rootFieldsOf(sources: readonly string[]): Set<string> {
  const used = new Set<string>();
  for (const source of sources) {
    for (const definition of parse(source).definitions) {
      if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
      for (const selection of definition.selectionSet.selections) {
        if (selection.kind === Kind.FIELD) used.add(`${definition.operation}.${selection.name.value}`);
      }
    }
  }
  return used;
}

function allRootFields(): string[] {
  return Object.entries(rootTypes).flatMap(([operation, type]) =>
    Object.keys(type?.getFields() ?? {}).map((field) => `${operation}.${field}`),
  );
}

describe('docs/API.md', () => {
  it('every GraphQL example is valid against schema.graphql', () => {
    expect(blocks.length).toBeGreaterThan(30);
    for (const block of blocks) {
      const errors = validate(schema, parse(block)).map((e) => e.message);
      expect(errors, block).toEqual([]);
    }
  });

  it('shows every query, mutation and subscription of schema.graphql', () => {
    const used = rootFieldsOf(blocks);
    expect(allRootFields().filter((f) => !used.has(f))).toEqual([]);
  });
});

describe('sdk/operations', () => {
  it('have an operation for every query, mutation and subscription', () => {
    const dir = new URL('sdk/operations/', root);
    const sources = readdirSync(dir)
      .filter((f) => f.endsWith('.graphql'))
      .map((f) => readFileSync(new URL(f, dir), 'utf8'));
    // Fragments live beside the operations; validate each file as a whole.
    for (const source of sources) expect(validate(schema, parse(source)).map((e) => e.message)).toEqual([]);
    const used = rootFieldsOf(sources);
    expect(allRootFields().filter((f) => !used.has(f))).toEqual([]);
  });
});
