import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // Node loads graphql's CommonJS entry for @pothos/core and graphql-yoga; Vite would pick the
    // .mjs one for our sources. Two copies of graphql refuse each other's types, so use one.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // Integration tests each start their own redis-server; two cores run two files at a time.
    maxWorkers: 2,
  },
});
