/**
 * The send activities' side of endpoint health: asking the endpoint gate before a request (breaker, rate limit,
 * concurrency), telling it what happened after, and acting on what that changed — the operational events
 * (`herald.webhook.failing` / `recovered` / `disabled`, `herald.delivery.dead`) and auto-disable, which turns
 * the endpoint's waiting deliveries into `skipped` rows. The state itself lives in src/endpoints/.
 */
import { heartbeat, activityInfo } from '@temporalio/activity';
import { setTimeout as delay } from 'node:timers/promises';
import { publishOperationalEvent, type OperationalEvent } from '../delivery/operational-events.js';
import { sendReportOf, type EndpointPolicy } from '../endpoints/endpoint-policy.js';
import type { HealthTransition, SendPermit } from '../endpoints/endpoint-gate.js';
import { skipWaitingDeliveriesOf } from '../store/deliveries.js';
import { disableWebhook, type Webhook } from '../store/webhooks.js';
import { wakeWaitingDeliveries, type WakeDeps } from '../delivery/wake-waiting-deliveries.js';
import type { ActivityDeps } from './create-activities.js';

/** A wait this short is slept inside the activity (a concurrency slot frees up in milliseconds)… */
const SHORT_WAIT_MS = 1_000;
/** …for at most this long in total, so one endpoint's backlog never holds a worker slot another endpoint needs. */
const MAX_INLINE_WAIT_MS = 3_000;
/** A delivery's waits behind an open breaker: doubling from the first to the last, plus a random spread. */
const BREAKER_WAIT_FIRST_MS = 30_000;
const BREAKER_WAIT_MAX_MS = 600_000;
const BREAKER_SPREAD_MIN_MS = 1_000;
/** The gate's "a probe is in flight, look again shortly" waits are at most this long. */
const PROBE_IN_FLIGHT_WAIT_MS = 5_000;
/** The wake-up rate a backlog behind an open breaker is spread to (each wake-up is one activity task and a read). */
const BREAKER_WAKES_PER_SECOND = 10;
/** How long a process trusts its count of an endpoint's waiting deliveries. */
const BACKLOG_COUNT_TTL_MS = 10_000;
/**
 * Waits behind an open breaker that the workflow sleeps (deliverWebhookV4), woken by the endpoint-ready signal
 * when the breaker closes: they only need to be short enough that some delivery wakes for each probe. Spread
 * over a window of about backlog / BREAKER_WOKEN_WAKES_PER_SECOND, at most BREAKER_WOKEN_WAIT_MAX_MS, so a large
 * backlog costs a few wake-ups a second while the endpoint is down and a small one wakes at each probe time.
 */
const BREAKER_WOKEN_WAKES_PER_SECOND = 1;
const BREAKER_WOKEN_WAIT_MAX_MS = 2 * 3_600_000;
/** How long a permit is held at most beyond the request's own timeout (signing, the table writes around it). */
const LEASE_MARGIN_MS = 15_000;

/** The effective policy of a webhook as the store resolved it (webhook → tenant policy → Herald default). */
export function endpointPolicyOf(webhook: Webhook): EndpointPolicy {
  return {
    rateLimitPerSecond: webhook.rateLimitPerSecond,
    maxConcurrency: webhook.maxConcurrency,
    breakerThreshold: webhook.breakerThreshold,
    disableAfterDays: webhook.disableAfterDays,
  };
}

export type Admission =
  | { kind: 'go'; permit: SendPermit | undefined }
  /** Nothing was sent and no attempt is spent: come back at `untilMs`. */
  | { kind: 'wait'; untilMs: number; message: string; breakerOpen: boolean }
  /** The gate disabled the endpoint (failing for `disableAfterDays`); this delivery is skipped too. */
  | { kind: 'disabled'; reason: string };

/**
 * May this delivery's request go now? Waits of a few hundred ms are slept here; longer ones are returned.
 * `waitsSoFar`: how many times this delivery already came back to find the endpoint closed (its backoff).
 * `wokenOnClose`: the delivery's workflow waits for a breaker itself and is signalled when it closes
 * (deliverWebhookV4), so its breaker waits can be long.
 */
export async function admit(deps: ActivityDeps, webhook: Webhook, waitsSoFar = 0, wokenOnClose = false): Promise<Admission> {
  if (!deps.gate) return { kind: 'go', permit: undefined };
  const policy = endpointPolicyOf(webhook);
  const leaseMs = webhook.timeoutMs + LEASE_MARGIN_MS;
  const started = deps.clock();
  // The inline waits are bounded in real time too: `deps.clock` may stand still or jump (a clock that follows
  // a time-skipping test server stands still while an activity runs, which made this loop spin forever).
  const startedReal = performance.now();
  for (;;) {
    const decision = await deps.gate.acquire(webhook.id, policy, leaseMs);
    if (decision.kind === 'go') return { kind: 'go', permit: decision.permit };
    if (decision.kind === 'disable') {
      await disableEndpoint(deps, webhook, decision.reason);
      return { kind: 'disabled', reason: decision.reason };
    }
    const now = deps.clock();
    const waitMs = decision.untilMs - now;
    if (waitMs > SHORT_WAIT_MS || now + waitMs - started > MAX_INLINE_WAIT_MS || performance.now() + waitMs - startedReal > MAX_INLINE_WAIT_MS) {
      if (decision.reason !== 'breaker-open') return { kind: 'wait', untilMs: decision.untilMs, message: decision.message, breakerOpen: false };
      if (wokenOnClose) return { kind: 'wait', untilMs: await wokenBreakerWaitUntil(deps, webhook.id, decision.untilMs, now), message: decision.message, breakerOpen: true };
      // Behind an open breaker, a backlog of thousands would all wake at each probe time only to wait again.
      // Each delivery instead backs off on its own (30 s doubling to 10 min, like the cool-down) and is spread
      // at random over a window sized to the backlog (about BREAKER_WAKES_PER_SECOND wake-ups a second, ≤ 10
      // min): a few deliveries still wake near every probe time, a small backlog drains within seconds of the
      // breaker closing, and a large one never wakes as a herd.
      // A short wait means a probe is in flight and the gate asks to look again in a moment (its answer may
      // close the breaker): no backoff then, or the backlog would sleep through the recovery.
      const backoffMs = waitMs <= PROBE_IN_FLIGHT_WAIT_MS ? waitMs : Math.max(waitMs, Math.min(BREAKER_WAIT_MAX_MS, BREAKER_WAIT_FIRST_MS * 2 ** Math.min(waitsSoFar, 10)));
      const backlogMs = ((await waitingDeliveries(deps, webhook.id, now)) / BREAKER_WAKES_PER_SECOND) * 1000;
      const spreadMs = Math.min(Math.max(backlogMs, BREAKER_SPREAD_MIN_MS), BREAKER_WAIT_MAX_MS) * deps.random();
      return { kind: 'wait', untilMs: now + Math.floor(backoffMs + spreadMs), message: decision.message, breakerOpen: true };
    }
    if (!activityInfo().isLocal) heartbeat();
    await delay(Math.max(waitMs, 10));
  }
}

/**
 * Until when a delivery that is woken when the breaker closes (deliverWebhookV4) waits behind it, the gate
 * having said `untilMs`: long — the close wakes the delivery, even while a probe is in flight (the gate's
 * short "look again") — and spread so that a few still wake near each probe time.
 */
async function wokenBreakerWaitUntil(deps: ActivityDeps, webhookId: string, untilMs: number, now: number): Promise<number> {
  const waitMs = untilMs - now;
  const windowMs = Math.min(((await waitingDeliveries(deps, webhookId, now)) / BREAKER_WOKEN_WAKES_PER_SECOND) * 1000, BREAKER_WOKEN_WAIT_MAX_MS);
  return now + Math.floor(Math.max(waitMs, windowMs * (0.5 + 0.5 * deps.random())));
}

/**
 * A delivery back from a wait behind the breaker (deliverWebhookV4) looks before it asks for a permit: a read
 * of the breaker, no write, so a backlog that wakes while the endpoint is still down costs one workflow task
 * each. Undefined: go on to the send activity (closed, a probe is due, or the endpoint must be disabled).
 */
export async function breakerStillOpen(deps: ActivityDeps, webhook: Webhook): Promise<{ untilMs: number; message: string } | undefined> {
  if (!deps.gate) return undefined;
  const breaker = await deps.gate.breaker(webhook.id, endpointPolicyOf(webhook));
  if (breaker.kind !== 'wait') return undefined;
  const now = deps.clock();
  return { untilMs: await wokenBreakerWaitUntil(deps, webhook.id, breaker.untilMs, now), message: breaker.message };
}

const backlogCounts = new Map<string, { count: number; at: number }>();

/** Deliveries of the endpoint waiting in the table (counted at most every 10 s per process and endpoint). */
async function waitingDeliveries(deps: ActivityDeps, webhookId: string, now: number): Promise<number> {
  const cached = backlogCounts.get(webhookId);
  if (cached && now - cached.at < BACKLOG_COUNT_TTL_MS) return cached.count;
  const count = await deps.store.count('herald_deliveries', { where: { webhook_id: webhookId, status: 'pending' } });
  if (backlogCounts.size > 10_000) backlogCounts.clear();
  backlogCounts.set(webhookId, { count, at: now });
  return count;
}

/**
 * A rate-limited endpoint's window counts grants, so a grant must turn into a request at once: on a busy worker
 * the time between them (the table write, signing, a crowded event loop) could let requests bunch up at the
 * endpoint beyond its limit. A grant older than this when the request is about to go is given back and taken
 * again. Only rate-limited endpoints pay for it, and only when the worker was slow.
 */
const STALE_GRANT_MS = 50;
/** How long a renewal may wait for its turn in the window before the request goes on its earlier grant. */
const RENEWAL_WAIT_MS = 5_000;

/** The permit to send on now: the same one, or a renewed one if it is a rate-limited grant grown stale. */
export async function freshPermit(deps: ActivityDeps, webhook: Webhook, permit: SendPermit | undefined): Promise<SendPermit | undefined> {
  if (!deps.gate || !permit || webhook.rateLimitPerSecond === null || deps.clock() - permit.acquiredAt <= STALE_GRANT_MS) return permit;
  const policy = endpointPolicyOf(webhook);
  await deps.gate.release(permit, null, policy);
  const deadline = deps.clock() + RENEWAL_WAIT_MS;
  const deadlineReal = performance.now() + RENEWAL_WAIT_MS;
  for (;;) {
    const decision = await deps.gate.acquire(webhook.id, policy, webhook.timeoutMs + LEASE_MARGIN_MS);
    if (decision.kind === 'go') return decision.permit;
    // The breaker opened or the endpoint was disabled meanwhile: this one request (already counted as an
    // attempt in the table) goes without a permit rather than being lost.
    if (decision.kind !== 'wait' || decision.reason === 'breaker-open' || deps.clock() > deadline || performance.now() > deadlineReal) return undefined;
    await delay(Math.max(10, Math.min(decision.untilMs - deps.clock(), SHORT_WAIT_MS)));
  }
}

/** Gives the permit back: `sent` null when no request went out (nothing about the endpoint changes). */
export async function release(deps: ActivityDeps, webhook: Webhook, permit: SendPermit | undefined, sent: { status: number | null; durationMs: number | null } | null): Promise<void> {
  if (!deps.gate || !permit) return;
  const transitions = await deps.gate.release(permit, sent ? sendReportOf(sent.status, sent.durationMs) : null, endpointPolicyOf(webhook));
  for (const transition of transitions) await actOn(deps, webhook, transition);
}

async function actOn(deps: ActivityDeps, webhook: Webhook, transition: HealthTransition): Promise<void> {
  const subject = { tenantId: webhook.tenantId, webhookId: webhook.id, url: webhook.url };
  switch (transition.kind) {
    case 'opened':
      deps.logger.warn({ webhookId: webhook.id, consecutiveFailures: transition.consecutiveFailures, nextProbeAt: new Date(transition.nextProbeAt).toISOString() }, 'endpoint breaker opened');
      // The opening is named by its first probe time, stored with the breaker: a retried report names the same one.
      await announce(deps, { type: 'herald.webhook.failing', ...subject, consecutiveFailures: transition.consecutiveFailures, nextProbeAt: transition.nextProbeAt, occurredAt: transition.nextProbeAt });
      return;
    case 'closed':
      deps.logger.info({ webhookId: webhook.id, failedForMs: transition.failedFor }, 'endpoint breaker closed');
      wakeWaitingDeliveries(wakeDepsOf(deps), webhook, { status: 'pending' }, 'breaker closed');
      await announce(deps, { type: 'herald.webhook.recovered', ...subject, failedForMs: transition.failedFor, occurredAt: deps.clock() });
      return;
    case 'disable':
      await disableEndpoint(deps, webhook, transition.reason);
      return;
  }
}

/** Auto-disable: the webhook off with its reason, its waiting deliveries skipped, the operators told. */
export async function disableEndpoint(deps: ActivityDeps, webhook: Webhook, reason: string): Promise<void> {
  const now = deps.clock();
  const disabled = await disableWebhook(deps.store, webhook.id, reason, now);
  const skipped = await skipWaitingDeliveriesOf(deps.store, webhook.id, `skipped: webhook disabled (${reason})`, now);
  deps.logger.warn({ webhookId: webhook.id, reason, skipped }, 'endpoint disabled');
  // Their workflows end `skipped` as soon as they look again: now, not at the end of their waits.
  if (skipped > 0) wakeWaitingDeliveries(wakeDepsOf(deps), webhook, { status: 'skipped', updatedAt: now }, 'webhook disabled');
  if (disabled) await announce(deps, { type: 'herald.webhook.disabled', tenantId: webhook.tenantId, webhookId: webhook.id, url: webhook.url, reason, occurredAt: now });
}

/** What waking the endpoint's waiting deliveries needs, from the activities' deps. */
export function wakeDepsOf(deps: ActivityDeps): WakeDeps {
  return { store: deps.store, temporal: deps.starter.temporal, logger: deps.logger };
}

/**
 * Publishes an operational event; a failure is logged, never thrown: the delivery that noticed the transition
 * must not spend an attempt (or resend) because the operators' stream was unreachable.
 */
export async function announce(deps: ActivityDeps, event: OperationalEvent): Promise<void> {
  try {
    const published = await publishOperationalEvent(deps, event);
    if (published.published) deps.logger.info({ eventId: published.eventId, type: event.type, deliveries: published.deliveries }, 'operational event published');
  } catch (err) {
    deps.logger.error({ err, type: event.type }, 'operational event not published');
  }
}
