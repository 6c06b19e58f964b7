import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * The typed SDK for integrators: typed document nodes, variables and results for every
 * operation in sdk/operations, generated from the committed contract (schema.graphql).
 * Run `npm run codegen` after changing either.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['sdk/operations/*.graphql'],
  generates: {
    'sdk/src/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        scalars: { Decimal: 'string', Long: 'number' },
        enumsAsTypes: true,
        useTypeImports: true,
        emitLegacyCommonJSImports: false,
      },
    },
  },
};

export default config;
