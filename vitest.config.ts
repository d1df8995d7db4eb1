import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Kernels and models are CPU-heavy; two workers match the CI machine's two cores.
    pool: 'forks',
    maxWorkers: 2,
  },
});
