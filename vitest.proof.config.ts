import { defineConfig } from 'vitest/config';

// `npm run test:proof`: proofs kept out of `npm test` because they do not pass here. The breaker's cool-downs
// in server time on the time-skipping server: that server skips time while a delivery's workflow task runs a
// local activity, so the task expires and the run crawls past its timeout (see the file's header).
export default defineConfig({
  test: {
    include: ['test/**/*.proof.ts'],
    pool: 'forks',
    testTimeout: 10 * 60_000,
    hookTimeout: 120_000,
  },
});
