import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Renders are CPU-bound and the CI box has 2 cores: run files two at a time.
    maxWorkers: 2,
    pool: 'forks',
  },
});
