import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests talk to emulators on loopback ports only; several files run in parallel.
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
