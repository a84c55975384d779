import type { z } from '@hono/zod-openapi';
import type { StoredEvent } from '../store/events.js';
import type { Delivery as StoredDelivery, DeliveryAttempt } from '../store/deliveries.js';
import type { TenantPolicy as StoredTenantPolicy } from '../store/tenant-policies.js';
import type { Webhook as StoredWebhook } from '../store/webhooks.js';
import type { EndpointHealth as StoredHealth } from '../endpoints/endpoint-gate.js';
import type { Attempt, Delivery, DeliveryDetail, EndpointHealth, JsonValue, StoredEvent as EventJson, TenantPolicy, Webhook } from './schemas.js';

/**
 * Store objects → wire JSON: the store keeps epoch milliseconds, the API speaks ISO 8601; everything else
 * is already camelCase.
 */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}

export function healthJson(h: StoredHealth): z.infer<typeof EndpointHealth> {
  return { ...h, failingSince: isoOrNull(h.failingSince), lastSuccessAt: isoOrNull(h.lastSuccessAt), nextProbeAt: isoOrNull(h.nextProbeAt) };
}

export function webhookJson(w: StoredWebhook): z.infer<typeof Webhook> {
  return {
    id: w.id,
    tenantId: w.tenantId,
    url: w.url,
    description: w.description,
    eventTypes: w.eventTypes,
    active: w.active,
    disabledReason: w.disabledReason,
    disabledAt: isoOrNull(w.disabledAt),
    signatureScheme: w.signatureScheme,
    method: w.method,
    headerNames: w.headerNames,
    timeoutMs: w.timeoutMs,
    retrySchedule: w.retrySchedule,
    rateLimitPerSecond: w.rateLimitPerSecond,
    maxConcurrency: w.maxConcurrency,
    breakerThreshold: w.breakerThreshold,
    disableAfterDays: w.disableAfterDays,
    retryJitter: w.retryJitter,
    inherited: w.inherited,
    createdAt: iso(w.createdAt),
    updatedAt: iso(w.updatedAt),
  };
}

export function tenantPolicyJson(p: StoredTenantPolicy): z.infer<typeof TenantPolicy> {
  return { tenantId: p.tenantId, settings: p.settings, effective: p.effective, updatedAt: isoOrNull(p.updatedAt) };
}

export function deliveryJson(d: StoredDelivery): z.infer<typeof Delivery> {
  return {
    id: d.id,
    tenantId: d.tenantId,
    webhookId: d.webhookId,
    eventId: d.eventId,
    eventType: d.eventType,
    eventTime: iso(d.eventTimeMs),
    url: d.url,
    method: d.method,
    status: d.status,
    attempts: d.attempts,
    nextRetryAt: isoOrNull(d.nextRetryAt),
    lastAttemptedAt: isoOrNull(d.lastAttemptedAt),
    responseCode: d.responseCode,
    error: d.error,
    durationMs: d.durationMs,
    workflowId: d.workflowId,
    runId: d.runId,
    createdAt: iso(d.createdAt),
    updatedAt: iso(d.updatedAt),
  };
}

function attemptJson(a: DeliveryAttempt): z.infer<typeof Attempt> {
  return {
    attempt: a.attempt,
    at: iso(a.startedAt),
    outcome: a.outcome,
    responseCode: a.responseCode,
    durationMs: a.durationMs,
    error: a.error,
    responseBody: a.responseBody,
    nextRetryAt: isoOrNull(a.nextRetryAt),
  };
}

export function deliveryDetailJson(d: StoredDelivery & { attemptLog: DeliveryAttempt[]; payload: unknown }): z.infer<typeof DeliveryDetail> {
  return { ...deliveryJson(d), attemptLog: d.attemptLog.map(attemptJson), payload: d.payload as z.infer<typeof JsonValue> | null };
}

export function eventJson(e: StoredEvent): z.infer<typeof EventJson> {
  return {
    eventId: e.eventId,
    tenantId: e.tenantId,
    type: e.eventType,
    time: iso(e.eventTimeMs),
    payload: e.payload as z.infer<typeof JsonValue>,
    status: e.status,
    matchedCount: e.matchedCount,
    createdAt: iso(e.createdAt),
  };
}

/** An ISO 8601 time from a validated request field, as epoch ms. */
export function epochMs(isoTime: string): number {
  return new Date(isoTime).getTime();
}
