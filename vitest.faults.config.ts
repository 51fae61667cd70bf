import { defineConfig } from 'vitest/config';
// For its side effect: the Map.groupBy polyfill vitest 5's reporter needs on Node 20.
import './vitest.config.ts';

// `pnpm test:faults`: the full fault-injection set (test/faults/*.faults.ts; the default suite runs
// only the small subset in test/faults/subset.test.ts). One file at a time: the scenarios kill
// processes and freeze servers, and lease takeovers should not compete for 2 cores with other
// files. The global setup prints one table of every scenario at the end.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.faults.ts'],
    globalSetup: ['test/faults/global-setup.ts'],
    testTimeout: 900_000,
    hookTimeout: 300_000,
    fileParallelism: false,
    maxWorkers: 1,
  },
});
