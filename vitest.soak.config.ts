import { defineConfig } from 'vitest/config';
// For its side effect: the Map.groupBy polyfill vitest 5's reporter needs on Node 20.
import './vitest.config.ts';

// `pnpm test:soak` (not in the default suite nor in `pnpm test:faults`): test/soak/soak.ts.
export default defineConfig({
  test: {
    include: ['test/soak/**/*.soak.ts'],
    hookTimeout: 300_000,
    fileParallelism: false,
    maxWorkers: 1,
  },
});
