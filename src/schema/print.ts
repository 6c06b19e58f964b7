import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from './index.ts';

/** The SDL of the API, sorted, as committed in schema.graphql. */
export function printSchemaContract(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
