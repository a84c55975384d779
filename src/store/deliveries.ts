import { DeliveryNotFoundError } from '../errors.js';
import { decodeCursor, encodeCursor, newestFirstPage } from './cursor.js';
import type { DeliveryStatus } from '../workflows/messages.js';
import { UniqueViolationError, type DataEngine } from './data-engine.js';
import { heraldDeliveries, heraldDeliveryAttempts } from './schema.js';

const DELIVERIES = heraldDeliveries.name;
const DELIVERY_ATTEMPTS = heraldDeliveryAttempts.name;

/**
 * The delivery table: a projection of Temporal's history that operators can query. Every write here is
 * idempotent (activities retry) and fenced by the workflow run id, so a late write from an old run or a
 * cancelled attempt cannot overwrite a newer state.
 */
export interface Delivery {
  id: string;
  tenantId: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  /** When the event happened (epoch ms): the envelope timestamp, kept for redeliveries. */
  eventTimeMs: number;
  url: string;
  method: string;
  status: DeliveryStatus;
  attempts: number;
  nextRetryAt: number | null;
  lastAttemptedAt: number | null;
  responseCode: number | null;
  responseBody: string | null;
  error: string | null;
  durationMs: number | null;
  workflowId: string;
  runId: string | null;
  createdAt: number;
  updatedAt: number;
}

export type AttemptOutcome = 'success' | 'retry' | 'dead' | 'gone' | 'refused';

export interface DeliveryAttempt {
  attempt: number;
  runId: string;
  startedAt: number;
  durationMs: number | null;
  responseCode: number | null;
  responseBody: string | null;
  error: string | null;
  outcome: AttemptOutcome;
  nextRetryAt: number | null;
}

/** Statuses after which nothing more will be sent without an operator. */
export const TERMINAL_STATUSES: DeliveryStatus[] = ['success', 'dead', 'cancelled', 'skipped'];
const OPEN_STATUSES: DeliveryStatus[] = ['pending', 'in_flight'];

type Row = Record<string, unknown>;

function toDelivery(row: Row): Delivery {
  return {
    id: String(row.id),
    tenantId: String(row.tenant_id),
    webhookId: String(row.webhook_id),
    eventId: String(row.event_id),
    eventType: String(row.event_type),
    eventTimeMs: Number(row.event_time),
    url: String(row.url),
    method: String(row.method),
    status: row.status as DeliveryStatus,
    attempts: Number(row.attempts ?? 0),
    nextRetryAt: (row.next_retry_at as number | null) ?? null,
    lastAttemptedAt: (row.last_attempted_at as number | null) ?? null,
    responseCode: (row.response_code as number | null) ?? null,
    responseBody: (row.response_body as string | null) ?? null,
    error: (row.error as string | null) ?? null,
    durationMs: (row.duration_ms as number | null) ?? null,
    workflowId: String(row.workflow_id),
    runId: (row.run_id as string | null) ?? null,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toAttempt(row: Row): DeliveryAttempt {
  return {
    attempt: Number(row.attempt),
    runId: String(row.run_id),
    startedAt: Number(row.started_at),
    durationMs: (row.duration_ms as number | null) ?? null,
    responseCode: (row.response_code as number | null) ?? null,
    responseBody: (row.response_body as string | null) ?? null,
    error: (row.error as string | null) ?? null,
    outcome: row.outcome as AttemptOutcome,
    nextRetryAt: (row.next_retry_at as number | null) ?? null,
  };
}

export interface RecordCreatedInput {
  deliveryId: string;
  tenantId: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  eventTimeMs: number;
  url: string;
  method: string;
  workflowId: string;
  runId: string;
}

/**
 * A run's row fields from the workflow's ids and the webhook as it is now. The URL is not in the workflow input (it
 * may carry a token), so the row records the webhook's current one; a webhook already gone leaves it empty.
 */
export function deliveryRowOf(
  input: Omit<RecordCreatedInput, 'url' | 'method'>,
  webhook: { url: string; method: string } | undefined,
): RecordCreatedInput {
  return {
    deliveryId: input.deliveryId,
    tenantId: input.tenantId,
    webhookId: input.webhookId,
    eventId: input.eventId,
    eventType: input.eventType,
    eventTimeMs: input.eventTimeMs,
    url: webhook?.url ?? '',
    method: webhook?.method ?? 'POST',
    workflowId: input.workflowId,
    runId: input.runId,
  };
}

type NewDeliveryFields = Pick<RecordCreatedInput, 'deliveryId' | 'tenantId' | 'webhookId' | 'eventId' | 'eventType' | 'eventTimeMs' | 'url' | 'method' | 'workflowId'>;

/** A delivery row before any attempt. */
function newDeliveryRow(input: NewDeliveryFields, state: { status: DeliveryStatus; error: string | null; runId: string | null }, now: number): Row {
  return {
    id: input.deliveryId,
    tenant_id: input.tenantId,
    webhook_id: input.webhookId,
    event_id: input.eventId,
    event_type: input.eventType,
    event_time: input.eventTimeMs,
    url: input.url,
    method: input.method,
    status: state.status,
    attempts: 0,
    next_retry_at: null,
    last_attempted_at: null,
    response_code: null,
    response_body: null,
    error: state.error,
    duration_ms: null,
    workflow_id: input.workflowId,
    run_id: state.runId,
    created_at: now,
    updated_at: now,
  };
}

/**
 * A run has started: insert the row, or — for a redelivery (a new run id) — reset it to pending. Repeating
 * the call for the same run changes nothing.
 */
export async function recordDeliveryCreated(engine: DataEngine, input: RecordCreatedInput, now = Date.now()): Promise<void> {
  const existing = await engine.findOne(DELIVERIES, { where: { id: input.deliveryId } });
  if (!existing) {
    try {
      await engine.insert(DELIVERIES, newDeliveryRow(input, { status: 'pending', error: null, runId: input.runId }, now));
      return;
    } catch (err) {
      if (!(err instanceof UniqueViolationError)) throw err;
      // Another writer inserted it first; fall through to the run check.
    }
  }
  const current = existing ?? (await engine.findOne(DELIVERIES, { where: { id: input.deliveryId } }));
  if (!current || current.run_id === input.runId) return;
  await engine.update(
    DELIVERIES,
    {
      status: 'pending',
      attempts: 0,
      run_id: input.runId,
      workflow_id: input.workflowId,
      url: input.url,
      method: input.method,
      next_retry_at: null,
      last_attempted_at: null,
      response_code: null,
      response_body: null,
      error: null,
      duration_ms: null,
      updated_at: now,
    },
    { where: { id: input.deliveryId, run_id: current.run_id ?? null }, multi: false },
  );
}

/**
 * The fast path's first write: the row, already in flight with attempt 1, in one insert (a healthy delivery
 * writes the row, its attempt and its outcome: three statements). When the row exists — a redelivery (an older
 * run's row) or this run's local activity running again after its workflow task was lost with a worker — it
 * falls back to the general path: a redelivery's row is reset, and a rerun continues from the attempts the row
 * counted (an attempt that never reported is logged as lost and the next number is sent). Returns the attempt
 * to send, or null when the row is not this run's open delivery.
 */
export async function recordFirstAttemptStarted(engine: DataEngine, input: RecordCreatedInput, now = Date.now()): Promise<number | null> {
  try {
    await engine.insert(DELIVERIES, { ...newDeliveryRow(input, { status: 'in_flight', error: null, runId: input.runId }, now), attempts: 1, last_attempted_at: now });
    return 1;
  } catch (err) {
    if (!(err instanceof UniqueViolationError)) throw err;
  }
  await recordDeliveryCreated(engine, input, now);
  const row = await engine.findOne(DELIVERIES, { where: { id: input.deliveryId, run_id: input.runId } });
  const attempt = Number(row?.attempts ?? 0) + 1;
  const open = await recordAttemptStarted(engine, { deliveryId: input.deliveryId, runId: input.runId, attempt, url: input.url }, now);
  return open ? attempt : null;
}

/**
 * An attempt is about to send. Returns false when the row is no longer this run's open delivery (cancelled,
 * finished, or redelivered by a newer run), or — with `expectedAttempts` — when another execution of the same
 * run started an attempt first: the caller must not send.
 */
export async function recordAttemptStarted(
  engine: DataEngine,
  input: { deliveryId: string; runId: string; attempt: number; url: string; expectedAttempts?: number },
  now = Date.now(),
  /** The row as the caller just read it (saves the read); otherwise read here when a lost attempt is possible. */
  known?: Delivery,
): Promise<boolean> {
  // Only a retry can follow a lost attempt: the first attempt of a run skips this read.
  const before = known ? deliveryRowFields(known) : input.attempt > 1 ? await engine.findOne(DELIVERIES, { where: { id: input.deliveryId, run_id: input.runId } }) : null;
  const where: Row = { id: input.deliveryId, run_id: input.runId, status: { $in: OPEN_STATUSES } };
  if (input.expectedAttempts !== undefined) where.attempts = input.expectedAttempts;
  const changed = await engine.update(
    DELIVERIES,
    { status: 'in_flight', attempts: input.attempt, last_attempted_at: now, url: input.url, next_retry_at: null, updated_at: now },
    { where, multi: false },
  );
  if (changed === 0) return false;
  // Still in flight from an earlier attempt: that attempt never reported (its worker died, or Temporal timed it
  // out) and Temporal is retrying it. Log it, so the attempt log keeps one row per attempt made.
  if (before && before.status === 'in_flight' && Number(before.attempts) >= 1 && Number(before.attempts) < input.attempt) {
    await recordAttemptLost(engine, { deliveryId: input.deliveryId, runId: input.runId, attempt: Number(before.attempts), startedAt: Number(before.last_attempted_at ?? now) }, 'no result was reported (worker stopped or attempt timed out); retried');
  }
  return true;
}

/**
 * The attempt-log row of an attempt whose request went out but whose outcome nobody saw (a worker crash, a
 * timeout, a cancel in flight): the log keeps one row per attempt made, and says so instead of staying silent.
 */
export async function recordAttemptLost(engine: DataEngine, attempt: { deliveryId: string; runId: string; attempt: number; startedAt: number }, why: string): Promise<void> {
  try {
    await engine.insert(DELIVERY_ATTEMPTS, {
      id: `${attempt.deliveryId}:${attempt.runId}:${attempt.attempt}`,
      delivery_id: attempt.deliveryId,
      run_id: attempt.runId,
      attempt: attempt.attempt,
      started_at: attempt.startedAt,
      duration_ms: null,
      response_code: null,
      response_body: null,
      error: `outcome unknown: ${why}`,
      outcome: 'retry',
      next_retry_at: null,
    });
  } catch (err) {
    // Its own result arrived after all (a late worker): that row is the better record.
    if (!(err instanceof UniqueViolationError)) throw err;
  }
}

function deliveryRowFields(d: Delivery): Row {
  return { status: d.status, attempts: d.attempts, last_attempted_at: d.lastAttemptedAt };
}

export interface AttemptResultInput {
  deliveryId: string;
  runId: string;
  attempt: number;
  startedAt: number;
  durationMs: number | null;
  responseCode: number | null;
  responseBody: string | null;
  error: string | null;
  outcome: AttemptOutcome;
  nextRetryAt: number | null;
}

/** One attempt finished: its log row (keyed by delivery, run and attempt) and the delivery's latest state. */
export async function recordAttemptFinished(engine: DataEngine, input: AttemptResultInput, now = Date.now()): Promise<void> {
  const attemptRow = {
    id: `${input.deliveryId}:${input.runId}:${input.attempt}`,
    delivery_id: input.deliveryId,
    run_id: input.runId,
    attempt: input.attempt,
    started_at: input.startedAt,
    duration_ms: input.durationMs,
    response_code: input.responseCode,
    response_body: input.responseBody,
    error: input.error,
    outcome: input.outcome,
    next_retry_at: input.nextRetryAt,
  };
  try {
    await engine.insert(DELIVERY_ATTEMPTS, attemptRow);
  } catch (err) {
    if (!(err instanceof UniqueViolationError)) throw err;
    const { id, ...rest } = attemptRow;
    await engine.update(DELIVERY_ATTEMPTS, rest, { where: { id }, multi: false });
  }
  const status: DeliveryStatus = input.outcome === 'success' ? 'success' : input.outcome === 'retry' && input.nextRetryAt !== null ? 'pending' : 'dead';
  await engine.update(
    DELIVERIES,
    {
      status,
      attempts: input.attempt,
      last_attempted_at: input.startedAt,
      response_code: input.responseCode,
      response_body: input.responseBody,
      error: input.error,
      duration_ms: input.durationMs,
      next_retry_at: input.nextRetryAt,
      updated_at: now,
    },
    // Fenced on the attempt too: a late result from an attempt Temporal already gave up on must not
    // overwrite the state of the newer attempt.
    { where: { id: input.deliveryId, run_id: input.runId, attempts: input.attempt, status: { $in: OPEN_STATUSES } }, multi: false },
  );
}

/** The workflow's final word for this run. Fields the attempts already recorded are kept unless given. */
export async function recordDeliveryFinished(
  engine: DataEngine,
  input: { deliveryId: string; runId: string; status: 'success' | 'dead' | 'cancelled' | 'skipped'; responseCode: number | null; error: string | null },
  now = Date.now(),
): Promise<void> {
  if (input.status === 'cancelled') {
    // Cancelled with a request in flight: the attempt log says its outcome is unknown rather than nothing.
    const row = await engine.findOne(DELIVERIES, { where: { id: input.deliveryId, run_id: input.runId } });
    if (row?.status === 'in_flight' && Number(row.attempts) >= 1) {
      await recordAttemptLost(engine, { deliveryId: input.deliveryId, runId: input.runId, attempt: Number(row.attempts), startedAt: Number(row.last_attempted_at ?? now) }, 'cancelled while the request was in flight');
    }
  }
  const data: Row = { status: input.status, next_retry_at: null, updated_at: now };
  if (input.responseCode !== null) data.response_code = input.responseCode;
  if (input.error !== null) data.error = input.error;
  await engine.update(DELIVERIES, data, { where: { id: input.deliveryId, run_id: input.runId }, multi: false });
}

export async function findDelivery(engine: DataEngine, id: string, tenantId?: string): Promise<Delivery | undefined> {
  const row = await engine.findOne(DELIVERIES, { where: { id, ...(tenantId ? { tenant_id: tenantId } : {}) } });
  return row ? toDelivery(row) : undefined;
}

export async function findDeliveryByPair(engine: DataEngine, eventId: string, webhookId: string): Promise<Delivery | undefined> {
  const row = await engine.findOne(DELIVERIES, { where: { event_id: eventId, webhook_id: webhookId } });
  return row ? toDelivery(row) : undefined;
}

export async function getDeliveryWithAttempts(engine: DataEngine, id: string, tenantId?: string): Promise<Delivery & { attemptLog: DeliveryAttempt[] }> {
  const delivery = await findDelivery(engine, id, tenantId);
  if (!delivery) throw new DeliveryNotFoundError(id);
  const rows = await engine.find(DELIVERY_ATTEMPTS, {
    where: { delivery_id: id, ...(delivery.runId ? { run_id: delivery.runId } : {}) },
    orderBy: [{ field: 'attempt', order: 'asc' }],
  });
  return { ...delivery, attemptLog: rows.map(toAttempt) };
}

export interface ListDeliveriesFilter {
  tenantId?: string;
  status?: DeliveryStatus;
  webhookId?: string;
  eventId?: string;
  eventType?: string;
  /** created_at range, epoch ms, inclusive start, exclusive end. */
  since?: number;
  until?: number;
  limit?: number;
  cursor?: string;
}

export const MAX_LIST_LIMIT = 500;

/** Newest first, paged by an opaque cursor (created_at + id of the last row, so equal times page stably). */
export async function listDeliveries(engine: DataEngine, filter: ListDeliveriesFilter = {}): Promise<{ items: Delivery[]; nextCursor: string | null }> {
  const and: Row[] = [];
  if (filter.tenantId) and.push({ tenant_id: filter.tenantId });
  if (filter.status) and.push({ status: filter.status });
  if (filter.webhookId) and.push({ webhook_id: filter.webhookId });
  if (filter.eventId) and.push({ event_id: filter.eventId });
  if (filter.eventType) and.push({ event_type: filter.eventType });
  if (filter.since !== undefined) and.push({ created_at: { $gte: filter.since } });
  if (filter.until !== undefined) and.push({ created_at: { $lt: filter.until } });
  return newestFirstPage(engine, DELIVERIES, { and, limit: filter.limit, cursor: filter.cursor, maxLimit: MAX_LIST_LIMIT }, toDelivery);
}

/** A matching webhook was disabled at fan-out: the delivery is recorded, not sent, so recovery can send it. */
export async function recordDeliverySkipped(
  engine: DataEngine,
  input: NewDeliveryFields & { reason: string },
  now = Date.now(),
): Promise<void> {
  try {
    await engine.insert(DELIVERIES, newDeliveryRow(input, { status: 'skipped', error: input.reason, runId: null }, now));
  } catch (err) {
    // Already recorded (a retried fan-out page): one row per (event, webhook).
    if (!(err instanceof UniqueViolationError)) throw err;
  }
}

/** How many of an event's deliveries were recorded as skipped (disabled webhooks at fan-out). */
export async function countSkippedDeliveries(engine: DataEngine, tenantId: string, eventId: string): Promise<number> {
  return await engine.count(DELIVERIES, { where: { tenant_id: tenantId, event_id: eventId, status: 'skipped' } });
}

/** `dead` and `skipped` deliveries of one webhook created in [sinceMs, untilMs), oldest first, after `cursor`. */
export async function listRecoverable(
  engine: DataEngine,
  page: { tenantId: string; webhookId: string; sinceMs: number; untilMs: number; cursor: string | null; limit: number },
): Promise<{ items: Delivery[]; nextCursor: string | null }> {
  const and: Row[] = [
    { tenant_id: page.tenantId, webhook_id: page.webhookId, status: { $in: ['dead', 'skipped'] } },
    { created_at: { $gte: page.sinceMs } },
    { created_at: { $lt: page.untilMs } },
  ];
  if (page.cursor) {
    const { at, id } = decodeCursor(page.cursor);
    and.push({ $or: [{ created_at: { $gt: at } }, { created_at: at, id: { $gt: id } }] });
  }
  const rows = await engine.find(DELIVERIES, {
    where: { $and: and },
    orderBy: [
      { field: 'created_at', order: 'asc' },
      { field: 'id', order: 'asc' },
    ],
    limit: page.limit,
  });
  const items = rows.map(toDelivery);
  const last = items[items.length - 1];
  return { items, nextCursor: items.length === page.limit && last ? encodeCursor(last.createdAt, last.id) : null };
}

/**
 * Retention: deletes up to `limit` deliveries in `statuses` last updated before `olderThanMs`, with their
 * attempt logs. Open deliveries are never in `statuses`, and the delete re-checks the status, so a row
 * redelivered meanwhile survives.
 */
export async function deleteExpiredDeliveries(engine: DataEngine, input: { statuses: DeliveryStatus[]; olderThanMs: number; limit: number }): Promise<number> {
  const statuses = input.statuses.filter((s) => !OPEN_STATUSES.includes(s));
  if (statuses.length === 0) return 0;
  const rows = await engine.find(DELIVERIES, {
    where: { status: { $in: statuses }, updated_at: { $lt: input.olderThanMs } },
    fields: ['id'],
    orderBy: [{ field: 'updated_at', order: 'asc' }],
    limit: input.limit,
  });
  const ids = rows.map((r) => String(r.id));
  if (ids.length === 0) return 0;
  const deleted = await engine.delete(DELIVERIES, { where: { id: { $in: ids }, status: { $in: statuses } }, multi: true });
  // Attempt logs go only with their delivery: one redelivered in between keeps both.
  const survivors = new Set((await engine.find(DELIVERIES, { where: { id: { $in: ids } }, fields: ['id'] })).map((r) => String(r.id)));
  const gone = ids.filter((id) => !survivors.has(id));
  if (gone.length) await engine.delete(DELIVERY_ATTEMPTS, { where: { delivery_id: { $in: gone } }, multi: true });
  return deleted;
}

/**
 * A webhook was disabled (auto-disable, 410): its deliveries waiting for a retry become `skipped` rows with the
 * reason, at once, so nothing is silently dropped and `recover` can redeliver them once the endpoint is fixed.
 * A request still in flight is left to finish; each run reports `skipped` itself when it next wakes.
 */
export async function skipWaitingDeliveriesOf(engine: DataEngine, webhookId: string, reason: string, now: number): Promise<number> {
  return await engine.update(
    DELIVERIES,
    { status: 'skipped', error: reason, next_retry_at: null, updated_at: now },
    { where: { webhook_id: webhookId, status: 'pending' }, multi: true },
  );
}
