import { defineConfig } from 'vitest/config';

// `npm run test:proof`: proofs kept out of `npm test` because they are not reliable here, all on the
// time-skipping server. The breaker's cool-downs in server time do not pass: that server skips time while a
// delivery's workflow task runs a local activity, so the task expires and the run crawls past its timeout. The
// store-outage and cancel-in-flight proofs pass alone and usually in a full run, but one CI-loaded run stalled.
export default defineConfig({
  test: {
    include: ['test/**/*.proof.ts'],
    pool: 'forks',
    testTimeout: 10 * 60_000,
    hookTimeout: 120_000,
  },
});
