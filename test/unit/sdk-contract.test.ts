import { readFileSync } from 'node:fs';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import config from '../../codegen.ts';

describe('generated SDK types', () => {
  it('sdk/src/generated matches schema.graphql and sdk/operations (run `npm run codegen` after a change)', async () => {
    const outputs = await generate({ ...config, silent: true }, false);
    expect(outputs.length).toBeGreaterThan(0);
    for (const output of outputs) {
      const committed = readFileSync(new URL(`../../${output.filename}`, import.meta.url), 'utf8');
      expect(output.content, output.filename).toBe(committed);
    }
  });
});
