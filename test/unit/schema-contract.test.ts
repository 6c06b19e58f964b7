import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printSchemaContract } from '../../src/schema/print.ts';

describe('schema contract', () => {
  it('schema.graphql is the printed, sorted schema (run `npm run schema:print` after a change)', () => {
    const committed = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(printSchemaContract()).toBe(committed);
  });
});
