import { defineConfig } from 'vitest/config';

// `npm run test:chaos`: the fault-injection run (test/chaos/*.chaos.ts), kept out of the default `npm test`
// (whose include is test/**/*.test.ts). Size and seed come from HERALD_CHAOS_DELIVERIES / HERALD_CHAOS_SEED.
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.chaos.ts'],
    pool: 'forks',
    testTimeout: 30 * 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
