import { describe, expect, it } from 'vitest';
import type { EndpointPolicy, SendReport } from '../../src/endpoints/endpoint-policy.js';
import {
  applyReport,
  breakerAdmission,
  decreasedLimit,
  disableCheck,
  effectiveLimit,
  increasedLimit,
  initialState,
  INITIAL_COOLDOWN_MS,
  MAX_COOLDOWN_MS,
  nextCooldown,
  nextVersion,
  PROBE_RECHECK_MS,
  reportWriteIsOptional,
  withProbe,
  type EndpointState,
  type ReportContext,
} from '../../src/endpoints/endpoint-state.js';

const T0 = Date.parse('2026-11-26T10:00:00Z');
const DAY = 86_400_000;
const POLICY: EndpointPolicy = { rateLimitPerSecond: null, maxConcurrency: 20, breakerThreshold: 10, disableAfterDays: 5 };

const OK: SendReport = { ok: true, throttled: false, status: 200, latencyMs: 40 };
const FAIL_500: SendReport = { ok: false, throttled: false, status: 500, latencyMs: 30 };
const TIMEOUT: SendReport = { ok: false, throttled: false, status: null, latencyMs: null };
const TOO_MANY: SendReport = { ok: false, throttled: true, status: 429, latencyMs: 5 };
const UNAVAILABLE: SendReport = { ok: false, throttled: true, status: 503, latencyMs: 5 };

function ctx(report: SendReport, now: number, extra: Partial<ReportContext> = {}): ReportContext {
  return { holder: 'h', probe: false, acquiredAt: now - 1, report, policy: POLICY, now, latencyRising: false, ...extra };
}

/** Applies reports in order, one ms apart, keeping the state; returns the final state and every transition. */
function run(state: EndpointState, reports: SendReport[], start: number, extra: Partial<ReportContext> = {}) {
  let s = state;
  const transitions = [];
  for (const [i, report] of reports.entries()) {
    const out = applyReport(s, ctx(report, start + i, extra));
    if (out.next !== null) s = out.next;
    transitions.push(...out.transitions);
  }
  return { state: s, transitions };
}

describe('cool-down', () => {
  it('starts at 30 s and doubles per failed probe up to 10 min', () => {
    const seen: number[] = [];
    let c: number | null = null;
    for (let i = 0; i < 8; i++) seen.push((c = nextCooldown(c)));
    expect(seen).toEqual([30_000, 60_000, 120_000, 240_000, 480_000, 600_000, 600_000, 600_000]);
    expect(INITIAL_COOLDOWN_MS).toBe(30_000);
    expect(MAX_COOLDOWN_MS).toBe(600_000);
  });
});

describe('adaptive concurrency (AIMD)', () => {
  it('halves on congestion, never below 1', () => {
    expect([20, 11, 3, 2, 1].map(decreasedLimit)).toEqual([10, 5, 1, 1, 1]);
  });

  it('adds 1 per `limit` successes, up to the maximum', () => {
    let step = { limit: 4, successes: 0 };
    const limits: number[] = [];
    for (let i = 0; i < 13; i++) limits.push((step = increasedLimit(step.limit, step.successes, 6)).limit);
    // 4 successes → 5, 5 more → 6, then capped
    expect(limits).toEqual([4, 4, 4, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6]);
  });

  it('follows a lowered maximum at once, and a raised one only if the limit was not reduced', () => {
    const s = initialState('wh', POLICY, T0);
    expect(effectiveLimit(s, { ...POLICY, maxConcurrency: 5 })).toBe(5);
    expect(effectiveLimit(s, { ...POLICY, maxConcurrency: 50 })).toBe(50);
    expect(effectiveLimit({ ...s, effectiveConcurrency: 8 }, { ...POLICY, maxConcurrency: 50 })).toBe(8);
  });

  it('halves once per round: throttled reports of permits acquired before the halving do not halve again', () => {
    const s = initialState('wh', POLICY, T0);
    const first = applyReport(s, ctx(TOO_MANY, T0 + 100, { acquiredAt: T0 + 10 }));
    expect(first.next!.effectiveConcurrency).toBe(10);
    expect(first.transitions).toEqual([]); // 429 is throttling, not a failure
    expect(first.next!.consecutiveFailures).toBe(0);
    const sameRound = applyReport(first.next!, ctx(TOO_MANY, T0 + 101, { acquiredAt: T0 + 20 }));
    expect(sameRound.next).toBeNull(); // nothing to write
    const nextRound = applyReport(first.next!, ctx(TOO_MANY, T0 + 300, { acquiredAt: T0 + 200 }));
    expect(nextRound.next!.effectiveConcurrency).toBe(5);
  });

  it('treats rising latency like throttling, and grows back by successes', () => {
    const s = { ...initialState('wh', POLICY, T0), effectiveConcurrency: 2, decreasedAt: T0 };
    const slow = applyReport(s, ctx(OK, T0 + 50, { acquiredAt: T0 + 10, latencyRising: true }));
    expect(slow.next!.effectiveConcurrency).toBe(1);
    const grown = run(slow.next!, [OK, OK, OK], T0 + 100);
    expect(grown.state.effectiveConcurrency).toBe(3); // 1 success → 2, 2 more → 3
  });

  it('writes nothing for a success on a healthy endpoint at its maximum', () => {
    const s = initialState('wh', POLICY, T0);
    expect(applyReport(s, ctx(OK, T0 + 5))).toEqual({ next: null, transitions: [] });
  });

  it('503 both lowers the limit and counts as a failure', () => {
    const out = applyReport(initialState('wh', POLICY, T0), ctx(UNAVAILABLE, T0 + 5));
    expect(out.next).toMatchObject({ effectiveConcurrency: 10, consecutiveFailures: 1, failingSince: T0 + 5 });
  });
});

describe('circuit breaker', () => {
  it('opens on the N-th consecutive failure, once', () => {
    const nine = run(initialState('wh', POLICY, T0), Array(9).fill(FAIL_500), T0);
    expect(nine.state.breaker).toBe('closed');
    expect(nine.transitions).toEqual([]);
    const ten = run(nine.state, [TIMEOUT, FAIL_500], T0 + 9);
    expect(ten.state).toMatchObject({ breaker: 'open', consecutiveFailures: 11, failingSince: T0, openedAt: T0 + 9, nextProbeAt: T0 + 9 + 30_000 });
    expect(ten.transitions).toEqual([{ kind: 'opened', consecutiveFailures: 10, nextProbeAt: T0 + 9 + 30_000 }]);
  });

  it('counts consecutive failures only: any success resets them and failingSince', () => {
    const out = run(initialState('wh', POLICY, T0), [...Array(9).fill(FAIL_500), OK, ...Array(9).fill(FAIL_500)], T0);
    expect(out.state).toMatchObject({ breaker: 'closed', consecutiveFailures: 9, failingSince: T0 + 10, lastSuccessAt: T0 + 9 });
  });

  it('does not count 429s (the endpoint is up) either way', () => {
    const out = run(initialState('wh', POLICY, T0), [...Array(9).fill(FAIL_500), TOO_MANY, FAIL_500], T0);
    expect(out.state.breaker).toBe('open');
  });

  it('while open: waits until the probe time, then admits one probe, then waits for it', () => {
    const open = run(initialState('wh', POLICY, T0), Array(10).fill(FAIL_500), T0).state;
    const at = open.nextProbeAt!;
    const wait = breakerAdmission(open, POLICY, at - 1);
    expect(wait).toEqual({ kind: 'wait', untilMs: at, message: 'breaker open until 10:00:30 UTC after 10 consecutive failures' });
    expect(breakerAdmission(open, POLICY, at)).toEqual({ kind: 'probe' });
    const probing = withProbe(open, 'probe-1', at + 15_000, at);
    const behind = breakerAdmission(probing, POLICY, at + 1);
    // It looks again shortly (nothing wakes it when the probe succeeds), never later than the lease's end.
    expect(behind).toMatchObject({ kind: 'wait', untilMs: at + 1 + PROBE_RECHECK_MS });
    expect(breakerAdmission(probing, POLICY, at + 14_900)).toMatchObject({ kind: 'wait', untilMs: at + 15_000 });
    // An expired probe lease (its worker crashed) lets the next caller probe.
    expect(breakerAdmission(probing, POLICY, at + 15_000)).toEqual({ kind: 'probe' });
  });

  it('a failed probe reopens with a doubled cool-down (no new `opened`); a good one closes it', () => {
    let s = run(initialState('wh', POLICY, T0), Array(10).fill(FAIL_500), T0).state;
    const cooldowns: number[] = [];
    let now = s.nextProbeAt!;
    for (let i = 0; i < 6; i++) {
      s = withProbe(s, `p${i}`, now + 10_000, now);
      const out = applyReport(s, ctx(TIMEOUT, now + 100, { holder: `p${i}`, probe: true }));
      expect(out.transitions).toEqual([]);
      s = out.next!;
      expect(s.probeHolder).toBeNull();
      cooldowns.push(s.cooldownMs!);
      expect(s.nextProbeAt).toBe(now + 100 + s.cooldownMs!);
      now = s.nextProbeAt!;
    }
    expect(cooldowns).toEqual([60_000, 120_000, 240_000, 480_000, 600_000, 600_000]);
    s = withProbe(s, 'good', now + 10_000, now);
    const closed = applyReport(s, ctx(OK, now + 50, { holder: 'good', probe: true }));
    expect(closed.transitions).toEqual([{ kind: 'closed', failedFor: now + 50 - T0 }]);
    expect(closed.next).toMatchObject({ breaker: 'closed', consecutiveFailures: 0, failingSince: null, nextProbeAt: null, cooldownMs: null, probeHolder: null, lastSuccessAt: now + 50 });
  });

  it('a 429 probe ends the probe without a verdict: same cool-down again', () => {
    let s = run(initialState('wh', POLICY, T0), Array(10).fill(FAIL_500), T0).state;
    const at = s.nextProbeAt!;
    s = withProbe(s, 'p', at + 10_000, at);
    const out = applyReport(s, ctx(TOO_MANY, at + 5, { holder: 'p', probe: true }));
    expect(out.next).toMatchObject({ breaker: 'open', cooldownMs: 30_000, nextProbeAt: at + 5 + 30_000, probeHolder: null });
  });

  it('a late failure of a request sent before the breaker opened does not touch the probe', () => {
    let s = run(initialState('wh', POLICY, T0), Array(10).fill(FAIL_500), T0).state;
    const at = s.nextProbeAt!;
    s = withProbe(s, 'p', at + 10_000, at);
    const out = applyReport(s, ctx(FAIL_500, at + 5, { holder: 'old', probe: false, acquiredAt: T0 }));
    expect(out.next).toMatchObject({ probeHolder: 'p', nextProbeAt: at, cooldownMs: 30_000 });
  });
});

describe('auto-disable detection', () => {
  it('says disable on a failure once failing without a success for disableAfterDays', () => {
    const s = { ...initialState('wh', POLICY, T0), consecutiveFailures: 3, failingSince: T0 };
    expect(applyReport(s, ctx(FAIL_500, T0 + 5 * DAY - 1)).transitions).toEqual([]);
    expect(applyReport(s, ctx(FAIL_500, T0 + 5 * DAY + 3_600_000)).transitions).toEqual([
      { kind: 'disable', reason: 'failing without a success since 2026-11-26T10:00Z (5 days)', failingSince: T0 },
    ]);
  });

  it('never with disableAfterDays null, and never without a failure streak', () => {
    expect(disableCheck(T0, { ...POLICY, disableAfterDays: null }, T0 + 100 * DAY)).toBeNull();
    expect(disableCheck(null, POLICY, T0 + 100 * DAY)).toBeNull();
    expect(disableCheck(T0, { ...POLICY, disableAfterDays: 0.25 }, T0 + 7 * 3_600_000)).toMatchObject({ reason: 'failing without a success since 2026-11-26T10:00Z (7 hours)' });
  });

  it('is also decided at admission for an open breaker', () => {
    const open = run(initialState('wh', POLICY, T0), Array(10).fill(FAIL_500), T0).state;
    expect(breakerAdmission(open, POLICY, T0 + 6 * DAY)).toEqual({
      kind: 'disable',
      reason: 'failing without a success since 2026-11-26T10:00Z (6 days)',
      failingSince: T0,
    });
  });
});

describe('optional writes (dropped under contention)', () => {
  it('are a healthy success or a late failure behind an open breaker, never a failure streak or a probe', () => {
    const healthy = initialState('wh', POLICY, T0);
    expect(reportWriteIsOptional(healthy, ctx(OK, T0))).toBe(true);
    expect(reportWriteIsOptional(healthy, ctx(OK, T0, { latencyRising: true }))).toBe(false);
    expect(reportWriteIsOptional(healthy, ctx(FAIL_500, T0))).toBe(false);
    expect(reportWriteIsOptional(healthy, ctx(TOO_MANY, T0))).toBe(false);
    const failing = { ...healthy, consecutiveFailures: 2, failingSince: T0 };
    expect(reportWriteIsOptional(failing, ctx(OK, T0))).toBe(false);
    const open = withProbe(run(healthy, Array(10).fill(FAIL_500), T0).state, 'p', T0 + 60_000, T0 + 30_000);
    expect(reportWriteIsOptional(open, ctx(FAIL_500, T0 + 30_001, { holder: 'late' }))).toBe(true);
    expect(reportWriteIsOptional(open, ctx(FAIL_500, T0 + 30_001, { holder: 'p', probe: true }))).toBe(false);
    expect(reportWriteIsOptional(open, ctx(OK, T0 + 30_001, { holder: 'late' }))).toBe(false);
  });
});

it('versions wrap below 2^31 (the column is a 32-bit integer)', () => {
  expect(nextVersion(41)).toBe(42);
  expect(nextVersion(2_000_000_000)).toBe(1);
});
