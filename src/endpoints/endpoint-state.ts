/**
 * An endpoint's shared health state and the pure rules that change it: the circuit breaker (open after N
 * consecutive failures, one probe per cool-down, cool-down doubling 30 s → 10 min), auto-disable detection and
 * the adaptive concurrency limit (AIMD). No I/O here: `endpoint-gate.ts` reads a row, calls these with the
 * clock's time and writes the result back by compare-and-set.
 */
import { countsAsFailure, type EndpointPolicy, type SendReport } from './endpoint-policy.js';
import { type RateWindow } from './rate-window.js';

export const INITIAL_COOLDOWN_MS = 30_000;
export const MAX_COOLDOWN_MS = 600_000;
/**
 * How soon a delivery that found the probe in flight looks again. Not the probe's lease (the webhook's timeout
 * plus a margin, 30 s by default): only deliverWebhookV4 runs are woken when the probe succeeds (the
 * endpoint-ready signal); a V3 run sleeping the lease held the backlog that long after the breaker had closed.
 */
export const PROBE_RECHECK_MS = 1_000;
/** Multiplicative decrease of the adaptive limit on a congestion signal. */
export const DECREASE_FACTOR = 0.5;
const DAY_MS = 86_400_000;

export type BreakerState = 'closed' | 'open';

export interface EndpointState {
  webhookId: string;
  /** Compare-and-set version; wraps below 2^31 (the column is a 32-bit integer; CAS only needs "changed"). */
  version: number;
  breaker: BreakerState;
  consecutiveFailures: number;
  /** The first failure after the last success; null while the last send succeeded. */
  failingSince: number | null;
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  openedAt: number | null;
  nextProbeAt: number | null;
  /** The current cool-down (open breaker), doubled by each failed probe. */
  cooldownMs: number | null;
  /** The permit holding the probe, and when its lease runs out. */
  probeHolder: string | null;
  probeUntil: number | null;
  effectiveConcurrency: number;
  /** The policy's maxConcurrency when the limit was last written (to follow a raised maximum). */
  policyMaxConcurrency: number;
  /** Successes since the limit last changed: +1 to the limit once they reach it. */
  successesSinceChange: number;
  /** When the limit was last halved; reports from permits acquired before that do not halve it again. */
  decreasedAt: number | null;
  /** Slot rows created so far (0…slotCount-1). */
  slotCount: number;
  rateWindow: RateWindow | null;
  updatedAt: number;
}

export type HealthTransition =
  | { kind: 'opened'; consecutiveFailures: number; nextProbeAt: number }
  | { kind: 'closed'; failedFor: number }
  | { kind: 'disable'; reason: string; failingSince: number };

export function initialState(webhookId: string, policy: EndpointPolicy, now: number): EndpointState {
  return {
    webhookId,
    version: 0,
    breaker: 'closed',
    consecutiveFailures: 0,
    failingSince: null,
    lastSuccessAt: null,
    lastFailureAt: null,
    openedAt: null,
    nextProbeAt: null,
    cooldownMs: null,
    probeHolder: null,
    probeUntil: null,
    effectiveConcurrency: policy.maxConcurrency,
    policyMaxConcurrency: policy.maxConcurrency,
    successesSinceChange: 0,
    decreasedAt: null,
    slotCount: 0,
    rateWindow: null,
    updatedAt: now,
  };
}

export function nextVersion(version: number): number {
  return version >= 2_000_000_000 ? 1 : version + 1;
}

// ---- cool-down ----------------------------------------------------------------------------------------------

/** The cool-down after a failed probe: doubled, at most MAX_COOLDOWN_MS. */
export function nextCooldown(cooldownMs: number | null): number {
  if (cooldownMs === null || cooldownMs < INITIAL_COOLDOWN_MS) return INITIAL_COOLDOWN_MS;
  return Math.min(MAX_COOLDOWN_MS, cooldownMs * 2);
}

// ---- adaptive concurrency (AIMD) ----------------------------------------------------------------------------

/** Halved (DECREASE_FACTOR), at least 1. */
export function decreasedLimit(limit: number): number {
  return Math.max(1, Math.floor(limit * DECREASE_FACTOR));
}

/**
 * Additive increase: +1 once `limit` successes arrived since the last change (≈ +1/limit per success, TCP's
 * congestion avoidance: one step per "round" of the current window), never above `max`.
 */
export function increasedLimit(limit: number, successes: number, max: number): { limit: number; successes: number } {
  if (limit >= max) return { limit: max, successes: 0 };
  const s = successes + 1;
  return s >= limit ? { limit: limit + 1, successes: 0 } : { limit, successes: s };
}

/**
 * The limit to enforce now. A lowered policy maximum applies at once; a raised one is followed at once if the
 * limit stood at the old maximum (it was not reduced by congestion), else the limit grows to it by AIMD.
 */
export function effectiveLimit(state: EndpointState, policy: EndpointPolicy): number {
  if (policy.maxConcurrency > state.policyMaxConcurrency && state.effectiveConcurrency >= state.policyMaxConcurrency) {
    return policy.maxConcurrency;
  }
  return Math.max(1, Math.min(state.effectiveConcurrency, policy.maxConcurrency));
}

// ---- auto-disable -------------------------------------------------------------------------------------------

function formatSince(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16) + 'Z';
}

/** Whole days (or hours, below a day), as an operator reads them in a reason. */
function formatDuration(ms: number): string {
  const days = Math.floor(ms / DAY_MS);
  if (days >= 1) return `${days} day${days === 1 ? '' : 's'}`;
  const hours = Math.floor(ms / 3_600_000);
  return `${hours} hour${hours === 1 ? '' : 's'}`;
}

/** A `disable` transition if the endpoint has been failing without a success for `disableAfterDays`. */
export function disableCheck(failingSince: number | null, policy: EndpointPolicy, now: number): HealthTransition | null {
  if (policy.disableAfterDays === null || failingSince === null) return null;
  const failedFor = now - failingSince;
  if (failedFor < policy.disableAfterDays * DAY_MS) return null;
  return {
    kind: 'disable',
    reason: `failing without a success since ${formatSince(failingSince)} (${formatDuration(failedFor)})`,
    failingSince,
  };
}

// ---- admission (acquire) ------------------------------------------------------------------------------------

export type BreakerAdmission =
  | { kind: 'closed' }
  | { kind: 'probe' }
  | { kind: 'wait'; untilMs: number; message: string }
  | { kind: 'disable'; reason: string; failingSince: number };

function clockTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}

function failuresPhrase(state: EndpointState): string {
  const n = state.consecutiveFailures;
  return `after ${n} consecutive failure${n === 1 ? '' : 's'}`;
}

/** What the breaker says about a new request at `now`. */
export function breakerAdmission(state: EndpointState, policy: EndpointPolicy, now: number): BreakerAdmission {
  if (state.breaker === 'closed') return { kind: 'closed' };
  const disable = disableCheck(state.failingSince, policy, now);
  if (disable?.kind === 'disable') return disable;
  const nextProbeAt = state.nextProbeAt ?? now;
  if (now < nextProbeAt) {
    return { kind: 'wait', untilMs: nextProbeAt, message: `breaker open until ${clockTime(nextProbeAt)} ${failuresPhrase(state)}` };
  }
  if (state.probeHolder !== null && state.probeUntil !== null && now < state.probeUntil) {
    return {
      kind: 'wait',
      untilMs: Math.min(state.probeUntil, now + PROBE_RECHECK_MS),
      message: `breaker open ${failuresPhrase(state)}: a probe request is in flight (its lease ends ${clockTime(state.probeUntil)})`,
    };
  }
  return { kind: 'probe' };
}

/** The state once `holder` took the probe until `until`. */
export function withProbe(state: EndpointState, holder: string, until: number, now: number): EndpointState {
  return { ...state, probeHolder: holder, probeUntil: until, updatedAt: now };
}

// ---- reports (release) --------------------------------------------------------------------------------------

export interface ReportContext {
  /** The releasing permit: its holder token, whether it is the probe, and when it was acquired. */
  holder: string;
  probe: boolean;
  acquiredAt: number;
  report: SendReport;
  policy: EndpointPolicy;
  now: number;
  /** Whether this worker's latency baseline says latency is rising (a congestion signal). */
  latencyRising: boolean;
}

export interface ReportOutcome {
  /** The state to write, or null when nothing changed (no write). */
  next: EndpointState | null;
  transitions: HealthTransition[];
}

function closedBreaker(state: EndpointState): EndpointState {
  return { ...state, breaker: 'closed', openedAt: null, nextProbeAt: null, cooldownMs: null, probeHolder: null, probeUntil: null };
}

/**
 * Applies one send's report. Success: counters reset, an open breaker closes (probe or not: the endpoint
 * answered). Failure: counted; the N-th consecutive opens the breaker; a failed probe reopens it with a doubled
 * cool-down (no `opened` transition: the endpoint did not change, operators heard already); and a failure while
 * failing for `disableAfterDays` says `disable`. A 429 is neither: a 429 probe ends the probe without a verdict
 * (next probe after the same cool-down). 429/503 and rising latency halve the limit once per round (reports of
 * permits acquired before the last halving are the same congestion); other successes grow it (AIMD).
 */
export function applyReport(state: EndpointState, ctx: ReportContext): ReportOutcome {
  const { report, policy, now } = ctx;
  const transitions: HealthTransition[] = [];
  let s: EndpointState = { ...state };
  const isProbe = ctx.probe && state.probeHolder === ctx.holder;

  if (report.ok) {
    if (s.breaker === 'open') {
      transitions.push({ kind: 'closed', failedFor: now - (s.failingSince ?? s.openedAt ?? now) });
      s = closedBreaker(s);
    }
    s.consecutiveFailures = 0;
    s.failingSince = null;
  } else if (countsAsFailure(report)) {
    s.consecutiveFailures = Math.min(s.consecutiveFailures + 1, 1_000_000_000);
    s.failingSince ??= now;
    s.lastFailureAt = now;
    if (isProbe) {
      const cooldownMs = nextCooldown(s.cooldownMs);
      s = { ...s, cooldownMs, nextProbeAt: now + cooldownMs, probeHolder: null, probeUntil: null };
    } else if (s.breaker === 'closed' && s.consecutiveFailures >= policy.breakerThreshold) {
      s = { ...s, breaker: 'open', openedAt: now, cooldownMs: INITIAL_COOLDOWN_MS, nextProbeAt: now + INITIAL_COOLDOWN_MS, probeHolder: null, probeUntil: null };
      transitions.push({ kind: 'opened', consecutiveFailures: s.consecutiveFailures, nextProbeAt: s.nextProbeAt! });
    }
    const disable = disableCheck(s.failingSince, policy, now);
    if (disable !== null) transitions.push(disable);
  } else if (isProbe) {
    s = { ...s, nextProbeAt: now + (s.cooldownMs ?? INITIAL_COOLDOWN_MS), probeHolder: null, probeUntil: null };
  }

  // Adaptive concurrency.
  const limit = effectiveLimit(state, policy);
  const sameRound = s.decreasedAt !== null && ctx.acquiredAt < s.decreasedAt;
  const congested = report.throttled || (report.ok && ctx.latencyRising);
  s.effectiveConcurrency = limit;
  s.policyMaxConcurrency = policy.maxConcurrency;
  if (congested) {
    if (!sameRound) {
      s.effectiveConcurrency = decreasedLimit(limit);
      s.successesSinceChange = 0;
      s.decreasedAt = now;
    }
  } else if (report.ok) {
    const grown = increasedLimit(limit, s.successesSinceChange, policy.maxConcurrency);
    s.effectiveConcurrency = grown.limit;
    s.successesSinceChange = grown.successes;
  }

  if (!changed(state, s)) return { next: null, transitions };
  if (report.ok) s.lastSuccessAt = now;
  s.updatedAt = now;
  return { next: s, transitions };
}

/**
 * Whether losing this report's write would change no decision, so that under heavy contention it may be dropped
 * rather than retried: a success on a healthy endpoint (only the AIMD growth counter moves), or a late failure
 * of a request sent before the breaker opened (the breaker is open already; only the counters move).
 */
export function reportWriteIsOptional(state: EndpointState, ctx: ReportContext): boolean {
  const isProbe = ctx.probe && state.probeHolder === ctx.holder;
  if (ctx.report.ok) return state.breaker === 'closed' && state.consecutiveFailures === 0 && !ctx.report.throttled && !ctx.latencyRising;
  return state.breaker === 'open' && !isProbe;
}

/** The state once a probe permit ended without sending a request: another caller may probe at once. */
export function withoutProbe(state: EndpointState, holder: string, now: number): EndpointState | null {
  if (state.probeHolder !== holder) return null;
  return { ...state, probeHolder: null, probeUntil: null, updatedAt: now };
}

const COMPARED: readonly (keyof EndpointState)[] = [
  'breaker',
  'consecutiveFailures',
  'failingSince',
  'lastFailureAt',
  'openedAt',
  'nextProbeAt',
  'cooldownMs',
  'probeHolder',
  'probeUntil',
  'effectiveConcurrency',
  'policyMaxConcurrency',
  'successesSinceChange',
  'decreasedAt',
];

/** Whether anything but the bookkeeping times changed (lastSuccessAt alone is not worth a write: slots carry it). */
function changed(a: EndpointState, b: EndpointState): boolean {
  return COMPARED.some((key) => a[key] !== b[key]);
}
