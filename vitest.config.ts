import { defineConfig } from 'vitest/config';

// vitest 5's reporter calls Map.groupBy, which Node 20 lacks (it arrived in Node 21): without
// this, every failing test crashes the reporter and its details are lost. This config file is
// loaded in the main vitest process, where the reporter runs.
if (typeof (Map as unknown as { groupBy?: unknown }).groupBy !== 'function') {
  Object.defineProperty(Map, 'groupBy', {
    configurable: true,
    writable: true,
    value<K, V>(items: Iterable<V>, key: (item: V, index: number) => K): Map<K, V[]> {
      const groups = new Map<K, V[]>();
      let index = 0;
      for (const item of items) {
        const k = key(item, index++);
        const group = groups.get(k);
        if (group) group.push(item);
        else groups.set(k, [item]);
      }
      return groups;
    },
  });
}

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'benchmarks/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Test files share the machine's servers; each isolates by unique schema and queue names.
    fileParallelism: true,
    maxWorkers: 2,
    // Outside CI: services nobody runs start in containers once per run, where Docker or Podman
    // answers (docs/testing.md). Under CI it does nothing.
    globalSetup: ['@outboxkit/testkit/vitest-global-setup'],
  },
});
