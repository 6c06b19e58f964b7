import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printSchemaContract } from '../src/schema/print.ts';

// Writes the committed API contract; the schema-contract test fails when it is out of date.
const target = fileURLToPath(new URL('../schema.graphql', import.meta.url));
writeFileSync(target, printSchemaContract());
console.log(`wrote ${target}`);
