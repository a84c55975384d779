import { defineConfig } from 'vitest/config';

// `npm run test:cluster`: the production path on the real Temporal server built into .tools/ (see
// scripts/temporal-server.ts), kept out of `npm test` because it needs that one-time build and runs for minutes.
export default defineConfig({
  test: {
    include: ['test/cluster/**/*.cluster.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 30 * 60_000,
    hookTimeout: 10 * 60_000,
    reporters: ['default'],
  },
});
