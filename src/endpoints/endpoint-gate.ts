/**
 * The endpoint gate: before each send, may this request go to its endpoint now (concurrency slot, rate window,
 * circuit breaker)? After it, what does its result change (failure counters, breaker, adaptive limit)?
 *
 * Where the state lives — the delivery database, not Temporal. Every worker process already shares the delivery
 * database through the DataEngine seam and reads it on every attempt; a per-endpoint state row and slot rows
 * there cost one or two indexed statements per send and need nothing new to run. Keeping it in Temporal would
 * mean a long-lived workflow per endpoint, a signal or update round trip per attempt (each a history event and a
 * workflow task on that endpoint's single workflow, which then becomes the bottleneck of a busy endpoint), and
 * continue-as-new bookkeeping — for state that is a few numbers and needs no durability beyond a row.
 *
 * Engines offer no transaction across statements, so every change is a compare-and-set:
 * - `herald_endpoint_state` (one row per webhook, `id` = the webhook id) changes only with
 *   `where: { id, version }`, bumping `version`; a writer that lost re-reads and retries (bounded, with a few
 *   ms of jitter).
 * - `herald_endpoint_slots`: a permit is a slot row taken by one guarded update (`holder` null or its lease
 *   expired, `slot` below the adaptive limit). The update says only how many rows it changed, so the slot is
 *   found again on release by its holder token. Rows are created on demand, so an endpoint with one request at
 *   a time has one slot row.
 *
 * Cost per send (one endpoint, breaker closed, `rateLimitPerSecond` null, limit at its maximum):
 * - acquire: 1 read (state row by primary key) + 1 write (the slot update);
 * - release: 1 write (the slot row: free, plus `last_ok_at` on success) + 1 read (state row) — and no state
 *   write unless something changed (a failure, a first success after failures, an AIMD step or a halving);
 * - a rate limit adds 1 state write per acquire (the window's compare-and-set);
 * - while the limit grows back after a halving, each success writes the state row (its AIMD counter).
 * A slot row is written only the first time the endpoint reaches that many concurrent requests.
 *
 * The gate never waits: `acquire` answers `wait` with the time to come back, and the caller sleeps. One
 * endpoint's rows are never read for another's.
 *
 * Limits: after the limit is halved, requests already holding slots above it finish (they cannot be recalled),
 * so in-flight requests may exceed the new limit for one round trip. Lease expiry and the rate window compare
 * worker clocks, which are assumed NTP-synchronised.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { UniqueViolationError, type DataEngine } from '../store/data-engine.js';
import { heraldEndpointSlots, heraldEndpointState, type EndpointStateRow } from '../store/schema.js';
import { checkEndpointPolicy, checkLeaseMs, type EndpointPolicy, type SendReport } from './endpoint-policy.js';
import {
  applyReport,
  breakerAdmission,
  effectiveLimit,
  initialState,
  nextVersion,
  reportWriteIsOptional,
  withoutProbe,
  withProbe,
  type BreakerAdmission,
  type EndpointState,
  type HealthTransition,
} from './endpoint-state.js';
import { LatencyBaseline } from './latency-baseline.js';
import { decodeRateWindow, encodeRateWindow, rateAdmission, recordGrant, RATE_SUBWINDOW_MS } from './rate-window.js';

export type { EndpointPolicy, SendReport } from './endpoint-policy.js';
export type { HealthTransition } from './endpoint-state.js';

export interface SendPermit {
  webhookId: string;
  /** This permit's token: the slot row (or the probe) it holds. */
  holder: string;
  /** The breaker's single probe request: it holds no slot. */
  probe: boolean;
  acquiredAt: number;
  /** The lease: after it, another worker may take the slot (or the probe). */
  expiresAt: number;
}

export type GateWaitReason = 'breaker-open' | 'concurrency' | 'rate-limit';

export type GateDecision =
  | { kind: 'go'; permit: SendPermit }
  | { kind: 'wait'; untilMs: number; reason: GateWaitReason; message: string }
  /** The endpoint's breaker is open and it has failed without a success for `disableAfterDays`. */
  | { kind: 'disable'; reason: string; failingSince: number };

export interface EndpointHealth {
  state: 'healthy' | 'failing' | 'open' | 'disabled';
  consecutiveFailures: number;
  failingSince: number | null;
  lastSuccessAt: number | null;
  nextProbeAt: number | null;
  /** The adaptive limit; null before the endpoint's first send (it starts at the policy's maxConcurrency). */
  effectiveConcurrency: number | null;
  /** Slots held under an unexpired lease, across all workers (a probe is not counted). */
  inFlight: number;
}

export interface EndpointGate {
  /** `leaseMs`: how long the permit may be held before others may reclaim it (a crashed worker's slot). */
  acquire(webhookId: string, policy: EndpointPolicy, leaseMs: number): Promise<GateDecision>;
  /** `report` null: no request was sent (the permit is only returned; nothing about the endpoint changes). */
  release(permit: SendPermit, report: SendReport | null, policy: EndpointPolicy): Promise<HealthTransition[]>;
  /** `active`: the webhook's own flag (a disabled webhook reports `disabled` whatever its counters say). */
  health(webhookId: string, active: boolean): Promise<EndpointHealth>;
  /**
   * What the breaker says now, read only (no permit, no write): for a delivery deciding whether to keep
   * waiting. `wait` carries the same wake-up jitter as `acquire`'s.
   */
  breaker(webhookId: string, policy: EndpointPolicy): Promise<BreakerAdmission>;
  /** The webhook was deleted: its rows go. */
  forget(webhookId: string): Promise<void>;
  /** An operator re-enabled it: healthy again, counters, breaker and limit cleared. */
  reset(webhookId: string): Promise<void>;
}

export interface EndpointGateDeps {
  engine: DataEngine;
  clock: () => number;
  /** [0, 1); default Math.random. Spreads slot choice and wake-up times. */
  random?: () => number;
  /** The endpoint's adaptive limit as this process last saw it; null once forgotten (drop the series). */
  onConcurrencyChange?: (webhookId: string, limit: number | null) => void;
  /** Permits this process holds for the endpoint (its share of in-flight requests). */
  onInFlightChange?: (webhookId: string, inFlight: number) => void;
}

/** The state row cannot be written: too many concurrent writers won the compare-and-set first. */
export class EndpointGateContentionError extends Error {
  override name = 'EndpointGateContentionError';
  constructor(
    readonly webhookId: string,
    attempts: number,
  ) {
    super(`endpoint gate: the state of webhook ${webhookId} changed under ${attempts} consecutive writes; retry`);
  }
}

/** Compare-and-set rounds before giving up (acquire then answers a short wait; release throws). */
export const MAX_CAS_ATTEMPTS = 25;
/** Compare-and-set rounds for a report whose write changes no decision (then it is dropped). */
const OPTIONAL_WRITE_ATTEMPTS = 3;
/** Rounds of slot updates that found no free slot before answering `wait` (a lost race under Postgres). */
const SLOT_ROUNDS = 2;
/** How soon a caller that found every slot busy comes back (× 0.5–1.5). */
export const CONCURRENCY_WAIT_MS = 100;
/** Spread of breaker wake-ups, so a backlog does not wake in one millisecond. */
const BREAKER_WAIT_JITTER_MS = 1_000;
/** Process-local latency baselines kept (oldest dropped first). */
const MAX_BASELINES = 10_000;

const STATE = heraldEndpointState.name;
const SLOTS = heraldEndpointSlots.name;

function slotId(webhookId: string, slot: number): string {
  return `${webhookId}#${String(slot).padStart(5, '0')}`;
}

function fromRow(row: EndpointStateRow): EndpointState {
  return {
    webhookId: row.id,
    version: row.version,
    breaker: row.breaker,
    consecutiveFailures: row.consecutive_failures,
    failingSince: row.failing_since,
    lastSuccessAt: row.last_success_at,
    lastFailureAt: row.last_failure_at,
    openedAt: row.opened_at,
    nextProbeAt: row.next_probe_at,
    cooldownMs: row.cooldown_ms,
    probeHolder: row.probe_holder,
    probeUntil: row.probe_until,
    effectiveConcurrency: row.effective_concurrency,
    policyMaxConcurrency: row.policy_max_concurrency,
    successesSinceChange: row.successes_since_change,
    decreasedAt: row.decreased_at,
    slotCount: row.slot_count,
    rateWindow: decodeRateWindow(row.rate_window_json),
    updatedAt: row.updated_at,
  };
}

function toRow(state: EndpointState): Omit<EndpointStateRow, 'id'> {
  return {
    version: state.version,
    breaker: state.breaker,
    consecutive_failures: state.consecutiveFailures,
    failing_since: state.failingSince,
    last_success_at: state.lastSuccessAt,
    last_failure_at: state.lastFailureAt,
    opened_at: state.openedAt,
    next_probe_at: state.nextProbeAt,
    cooldown_ms: state.cooldownMs,
    probe_holder: state.probeHolder,
    probe_until: state.probeUntil,
    effective_concurrency: state.effectiveConcurrency,
    policy_max_concurrency: state.policyMaxConcurrency,
    successes_since_change: state.successesSinceChange,
    decreased_at: state.decreasedAt,
    slot_count: state.slotCount,
    rate_window_json: state.rateWindow === null ? null : encodeRateWindow(state.rateWindow),
    updated_at: state.updatedAt,
  };
}

export function createEndpointGate(deps: EndpointGateDeps): EndpointGate {
  const { engine, clock } = deps;
  const random = deps.random ?? Math.random;
  const baselines = new Map<string, LatencyBaseline>();
  const reportedLimits = new Map<string, number>();
  const inFlight = new Map<string, number>();

  const noteLimit = (webhookId: string, limit: number) => {
    if (reportedLimits.get(webhookId) === limit) return;
    reportedLimits.set(webhookId, limit);
    deps.onConcurrencyChange?.(webhookId, limit);
  };
  const noteInFlight = (webhookId: string, delta: number) => {
    const n = Math.max(0, (inFlight.get(webhookId) ?? 0) + delta);
    if (n === 0) inFlight.delete(webhookId);
    else inFlight.set(webhookId, n);
    deps.onInFlightChange?.(webhookId, n);
  };
  const baselineOf = (webhookId: string): LatencyBaseline => {
    let b = baselines.get(webhookId);
    if (b === undefined) {
      if (baselines.size >= MAX_BASELINES) baselines.delete(baselines.keys().next().value!);
      b = new LatencyBaseline();
      baselines.set(webhookId, b);
    }
    return b;
  };
  // Jittered and growing (up to 50 ms), so a crowd of writers thins out instead of colliding again in step.
  const backoff = (attempt: number) => delay(Math.floor(random() * Math.min(2 ** attempt, 50)));

  async function read(webhookId: string): Promise<EndpointState | null> {
    const row = await engine.findOne<EndpointStateRow>(STATE, { where: { id: webhookId } });
    return row === null ? null : fromRow(row);
  }

  async function readOrCreate(webhookId: string, policy: EndpointPolicy, now: number): Promise<EndpointState> {
    const existing = await read(webhookId);
    if (existing !== null) return existing;
    const fresh = initialState(webhookId, policy, now);
    try {
      await engine.insert(STATE, { id: webhookId, ...toRow(fresh) });
      return fresh;
    } catch (error) {
      if (!(error instanceof UniqueViolationError)) throw error;
      const winner = await read(webhookId);
      if (winner === null) throw error; // inserted and forgotten in between: let the caller retry
      return winner;
    }
  }

  /** Compare-and-set of the whole state row; true if this write won. */
  async function cas(prev: EndpointState, next: EndpointState): Promise<boolean> {
    const row = toRow({ ...next, version: nextVersion(prev.version) });
    return (await engine.update(STATE, row, { where: { id: prev.webhookId, version: prev.version } })) === 1;
  }

  /** Takes a free or expired slot below `limit` among the existing rows; true if taken. */
  async function takeExistingSlot(state: EndpointState, limit: number, holder: string, now: number, leaseMs: number): Promise<boolean> {
    const existing = Math.min(limit, state.slotCount);
    if (existing === 0) return false;
    // A random first slot spreads concurrent acquirers over the rows instead of all racing for the lowest.
    const start = Math.floor(random() * existing);
    const ranges: [number, number][] = start > 0 ? [[start, existing], [0, start]] : [[0, existing]];
    for (const [from, to] of ranges) {
      const taken = await engine.update(
        SLOTS,
        { holder, acquired_at: now, expires_at: now + leaseMs },
        {
          where: {
            webhook_id: state.webhookId,
            slot: { $gte: from, $lt: to },
            $or: [{ holder: null }, { expires_at: { $lte: now } }],
          },
        },
      );
      if (taken === 1) return true;
    }
    return false;
  }

  /** Creates slot row `state.slotCount`, held by `holder`; 'taken', or 'exists' if another worker made it. */
  async function createSlot(state: EndpointState, holder: string, now: number, leaseMs: number): Promise<'taken' | 'exists'> {
    const slot = state.slotCount;
    let outcome: 'taken' | 'exists' = 'taken';
    try {
      await engine.insert(SLOTS, {
        id: slotId(state.webhookId, slot),
        webhook_id: state.webhookId,
        slot,
        holder,
        acquired_at: now,
        expires_at: now + leaseMs,
      });
    } catch (error) {
      if (!(error instanceof UniqueViolationError)) throw error;
      outcome = 'exists';
    }
    // Record the row in slot_count (whoever inserted it); a lost race leaves a larger count, which is as good.
    let current: EndpointState | null = state;
    for (let attempt = 1; current !== null && current.slotCount <= slot && attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      if (await cas(current, { ...current, slotCount: slot + 1 })) break;
      await backoff(attempt);
      current = await read(state.webhookId);
    }
    return outcome;
  }

  async function freeSlot(webhookId: string, holder: string, okAt: number | null): Promise<void> {
    const data: Record<string, unknown> = { holder: null, acquired_at: null, expires_at: null };
    if (okAt !== null) data['last_ok_at'] = okAt;
    // No row if the lease expired and another worker took the slot: nothing of ours to free.
    await engine.update(SLOTS, data, { where: { webhook_id: webhookId, holder } });
  }

  function jittered(ms: number): number {
    return Math.floor(ms * (0.5 + random()));
  }

  async function acquire(webhookId: string, policy: EndpointPolicy, leaseMs: number): Promise<GateDecision> {
    checkEndpointPolicy(policy);
    checkLeaseMs(leaseMs);
    const holder = randomUUID();
    let slotRounds = 0;
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      const now = clock();
      const state = await readOrCreate(webhookId, policy, now);
      const limit = effectiveLimit(state, policy);
      noteLimit(webhookId, limit);

      const breaker = breakerAdmission(state, policy, now);
      if (breaker.kind === 'disable') return breaker;
      if (breaker.kind === 'wait') {
        return { kind: 'wait', reason: 'breaker-open', untilMs: breaker.untilMs + Math.floor(random() * BREAKER_WAIT_JITTER_MS), message: breaker.message };
      }
      if (breaker.kind === 'probe') {
        if (await cas(state, withProbe(state, holder, now + leaseMs, now))) {
          return { kind: 'go', permit: { webhookId, holder, probe: true, acquiredAt: now, expiresAt: now + leaseMs } };
        }
        await backoff(attempt);
        continue;
      }

      const rate = policy.rateLimitPerSecond;
      if (rate !== null) {
        const admission = rateAdmission(state.rateWindow, rate, now);
        if (!admission.allowed) return rateWait(admission.untilMs, rate);
      }

      if (!(await takeExistingSlot(state, limit, holder, now, leaseMs))) {
        if (state.slotCount < limit) {
          if ((await createSlot(state, holder, now, leaseMs)) === 'exists') continue;
        } else {
          if (++slotRounds < SLOT_ROUNDS) continue;
          return {
            kind: 'wait',
            reason: 'concurrency',
            untilMs: now + jittered(CONCURRENCY_WAIT_MS),
            message: `${limit} request${limit === 1 ? '' : 's'} in flight to this endpoint (its concurrency limit)`,
          };
        }
      }

      const permit: SendPermit = { webhookId, holder, probe: false, acquiredAt: now, expiresAt: now + leaseMs };
      if (rate === null) {
        noteInFlight(webhookId, 1);
        return { kind: 'go', permit };
      }
      const granted = await takeRateGrant(state, rate);
      if (granted === true) {
        noteInFlight(webhookId, 1);
        return { kind: 'go', permit };
      }
      await freeSlot(webhookId, holder, null);
      return granted;
    }
    return {
      kind: 'wait',
      reason: 'concurrency',
      untilMs: clock() + jittered(CONCURRENCY_WAIT_MS),
      message: 'many workers are acquiring this endpoint at once; trying again shortly',
    };
  }

  function rateWait(untilMs: number, rate: number): GateDecision {
    return {
      kind: 'wait',
      reason: 'rate-limit',
      untilMs: untilMs + Math.floor(random() * RATE_SUBWINDOW_MS),
      message: `rate limit of ${rate} request${rate === 1 ? '' : 's'} per second reached`,
    };
  }

  /** Counts one request in the rate window; true, or the wait to answer. */
  async function takeRateGrant(first: EndpointState, rate: number): Promise<true | GateDecision> {
    let state: EndpointState | null = first;
    for (let attempt = 1; state !== null && attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      const now = clock();
      const admission = rateAdmission(state.rateWindow, rate, now);
      if (!admission.allowed) return rateWait(admission.untilMs, rate);
      if (await cas(state, { ...state, rateWindow: recordGrant(state.rateWindow, now), updatedAt: now })) return true;
      await backoff(attempt);
      state = await read(first.webhookId);
    }
    return rateWait(clock() + jittered(CONCURRENCY_WAIT_MS), rate);
  }

  async function release(permit: SendPermit, report: SendReport | null, policy: EndpointPolicy): Promise<HealthTransition[]> {
    checkEndpointPolicy(policy);
    const { webhookId, holder } = permit;
    const now = clock();
    if (!permit.probe) {
      await freeSlot(webhookId, holder, report?.ok === true ? now : null);
      noteInFlight(webhookId, -1);
    }
    if (report === null && !permit.probe) return [];
    let latencyRising = false;
    if (report !== null && report.ok && report.latencyMs !== null) latencyRising = baselineOf(webhookId).observe(report.latencyMs);

    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      const state = await read(webhookId);
      if (state === null) return []; // forgotten meanwhile (webhook deleted)
      const t = clock();
      if (report === null) {
        const next = permit.probe ? withoutProbe(state, holder, t) : null;
        if (next === null || (await cas(state, next))) return [];
      } else {
        const ctx = { holder, probe: permit.probe, acquiredAt: permit.acquiredAt, report, policy, now: t, latencyRising };
        const outcome = applyReport(state, ctx);
        if (outcome.next === null) return outcome.transitions;
        if (await cas(state, outcome.next)) {
          noteLimit(webhookId, outcome.next.effectiveConcurrency);
          return outcome.transitions;
        }
        if (attempt >= OPTIONAL_WRITE_ATTEMPTS && reportWriteIsOptional(state, ctx)) return outcome.transitions;
      }
      await backoff(attempt);
    }
    throw new EndpointGateContentionError(webhookId, MAX_CAS_ATTEMPTS);
  }

  async function health(webhookId: string, active: boolean): Promise<EndpointHealth> {
    const now = clock();
    const [state, held, lastOk] = await Promise.all([
      read(webhookId),
      engine.count(SLOTS, { where: { webhook_id: webhookId, holder: { $ne: null }, expires_at: { $gt: now } } }),
      engine.aggregate(SLOTS, { where: { webhook_id: webhookId }, aggregations: [{ function: 'max', field: 'last_ok_at', alias: 'last' }] }),
    ]);
    const slotOk = lastOk[0]?.['last'];
    const lastSuccessAt = Math.max(state?.lastSuccessAt ?? -Infinity, typeof slotOk === 'number' ? slotOk : slotOk == null ? -Infinity : Number(slotOk));
    const failing = state !== null && state.consecutiveFailures > 0;
    return {
      state: !active ? 'disabled' : state?.breaker === 'open' ? 'open' : failing ? 'failing' : 'healthy',
      consecutiveFailures: state?.consecutiveFailures ?? 0,
      failingSince: state?.failingSince ?? null,
      lastSuccessAt: Number.isFinite(lastSuccessAt) ? lastSuccessAt : null,
      nextProbeAt: state?.breaker === 'open' ? state.nextProbeAt : null,
      effectiveConcurrency: state?.effectiveConcurrency ?? null,
      inFlight: held,
    };
  }

  async function forget(webhookId: string): Promise<void> {
    await engine.delete(SLOTS, { where: { webhook_id: webhookId }, multi: true });
    await engine.delete(STATE, { where: { id: webhookId } });
    baselines.delete(webhookId);
    inFlight.delete(webhookId);
    if (reportedLimits.delete(webhookId)) deps.onConcurrencyChange?.(webhookId, null);
  }

  async function reset(webhookId: string): Promise<void> {
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      const state = await read(webhookId);
      if (state === null) return;
      const now = clock();
      const fresh = initialState(webhookId, { rateLimitPerSecond: null, maxConcurrency: state.policyMaxConcurrency, breakerThreshold: 1, disableAfterDays: null }, now);
      const next: EndpointState = { ...fresh, slotCount: state.slotCount, lastSuccessAt: state.lastSuccessAt, rateWindow: state.rateWindow };
      if (await cas(state, next)) {
        baselines.delete(webhookId);
        noteLimit(webhookId, next.effectiveConcurrency);
        return;
      }
      await backoff(attempt);
    }
    throw new EndpointGateContentionError(webhookId, MAX_CAS_ATTEMPTS);
  }

  async function breaker(webhookId: string, policy: EndpointPolicy): Promise<BreakerAdmission> {
    const state = await read(webhookId);
    if (state === null) return { kind: 'closed' };
    const admission = breakerAdmission(state, policy, clock());
    return admission.kind === 'wait' ? { ...admission, untilMs: admission.untilMs + Math.floor(random() * BREAKER_WAIT_JITTER_MS) } : admission;
  }

  return { acquire, release, health, breaker, forget, reset };
}
