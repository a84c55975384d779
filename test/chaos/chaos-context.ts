import type { ChaosOptions } from './chaos-options.js';

/** What every phase of a chaos run shares: its options, its log, the findings so far, and its clock. */
export interface RunContext {
  readonly opts: ChaosOptions;
  readonly log: (line: string) => void;
  /** Broken expectations: the run asserts nothing itself, so one run reports all of them. */
  readonly violations: string[];
  /** Observations that are not failures. */
  readonly notes: string[];
  /** ms since `startClock()` (the first publish); before it, since the context was made. */
  since(): number;
  /** `[t+12.3s]`, for log lines. */
  stamp(): string;
  startClock(): void;
}

export function createRunContext(opts: ChaosOptions): RunContext {
  let t0 = Date.now();
  const since = () => Date.now() - t0;
  return {
    opts,
    log: opts.log,
    violations: [],
    notes: [],
    since,
    stamp: () => `[t+${(since() / 1000).toFixed(1)}s]`,
    startClock: () => {
      t0 = Date.now();
    },
  };
}
