import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS and ESM copies; Node loads the CJS one for Pothos and yoga, so the tests
    // must too, or the schema's types come from "another module or realm".
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/support/no-secrets-in-logs.ts'],
    // Tests talk to emulators on loopback ports only.
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
