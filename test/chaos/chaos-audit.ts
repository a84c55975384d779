/**
 * After a chaos run: wait until every expected delivery has finished, then audit it four ways — the delivery
 * table against Temporal, what the main receiver saw, what each probe ended as, and the worker processes.
 * Every broken expectation becomes a violation; observations that are not failures become notes.
 */
import type { deliverWebhookV4 } from '../../src/workflows/deliver-webhook.js';
import { deliveryResult } from '../../src/delivery/delivery-result.js';
import type { fanOutEvent } from '../../src/workflows/fan-out-event.js';
import type { DeliverWebhookResult } from '../../src/workflows/messages.js';
import { RESPONSE_BODY_LIMIT_BYTES } from '../../src/activities/http-attempt.js';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { fanOutWorkflowId } from '../../src/delivery/ids.js';
import { TERMINAL_STATUSES } from '../../src/store/deliveries.js';
import type { RunContext } from './chaos-context.js';
import type { ChaosRequest } from './chaos-receivers.js';
import { FORBIDDEN_HOST, HUGE_BODY_BYTES, type ChaosWebhooks, type Expectation, type Expected, type Infrastructure, type Kind } from './chaos-setup.js';
import { forEachLimited, sleep, timestampMs } from './chaos-utils.js';
import type { WorkerSupervisor } from './worker-supervisor.js';

type Row = Record<string, unknown>;
export type Outcomes = Map<string, { row: Row; result: DeliverWebhookResult | undefined }>;

const runningQuery = (taskQueue: string) => `TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"`;

/** Waits until every expected row is terminal and no workflow of the task queue runs (or the drain times out). */
export async function drain(ctx: RunContext, infra: Infrastructure, expectation: Expectation): Promise<Map<string, Row>> {
  const { opts, log, stamp, violations } = ctx;
  const { store, temporal, taskQueue } = infra;
  const { main } = infra.receivers;
  const { expected } = expectation;
  const terminal = new Set<string>(TERMINAL_STATUSES);
  const expectedIds = [...expected.keys()];
  const drainDeadline = Date.now() + opts.drainTimeoutMs;
  let lastProgress = 0;
  let drained = false;
  let rowsById = new Map<string, Record<string, unknown>>();
  let running = -1;
  const readRows = async () => {
    const rows: Record<string, unknown>[] = [];
    for (let from = 0; from < expectedIds.length; from += 500) {
      rows.push(...(await store.find('herald_deliveries', { where: { id: { $in: expectedIds.slice(from, from + 500) } } })));
    }
    return new Map(rows.map((r) => [String(r.id), r]));
  };
  while (Date.now() < drainDeadline) {
    try {
      rowsById = await readRows();
      const done = expectedIds.filter((id) => terminal.has(String(rowsById.get(id)?.status))).length;
      running = Number((await temporal.workflow.count(runningQuery(taskQueue))).count);
      if (Date.now() - lastProgress > 5_000) {
        lastProgress = Date.now();
        log(`${stamp()} drain: ${done}/${expectedIds.length} rows terminal, ${running} workflows running, ${main.requests.length} requests received`);
      }
      if (done === expectedIds.length && running === 0) {
        drained = true;
        break;
      }
    } catch (err) {
      log(`${stamp()} drain: read failed (${(err as Error).message.split('\n')[0]})`);
    }
    await sleep(1_000);
  }
  log(`${stamp()} ${drained ? 'drained' : `NOT drained after ${opts.drainTimeoutMs / 1000}s`}; auditing`);
  if (!drained) {
    const open = expectedIds.filter((id) => !terminal.has(String(rowsById.get(id)?.status)));
    violations.push(
      `stuck: ${open.length} deliveries not terminal and ${running} workflows still running after a ${opts.drainTimeoutMs / 1000}s drain; e.g. ${open
        .slice(0, 5)
        .map((id) => `${expected.get(id)!.workflowId} (row: ${String(rowsById.get(id)?.status ?? 'missing')})`)
        .join(', ')}`,
    );
  }
  return rowsById;
}

export interface TableAudit {
  statusCounts: Record<string, number>;
  outcomeByDelivery: Outcomes;
  attemptRows: Map<string, Row[]>;
  mismatches: string[];
  attemptLogNotes: string[];
}

/** Audit 1: for every delivery, the table's row agrees with the workflow's result and run. */
export async function auditTableAgainstTemporal(ctx: RunContext, infra: Infrastructure, expectation: Expectation, rowsById: Map<string, Row>): Promise<TableAudit> {
  const { violations } = ctx;
  const { store, temporal } = infra;
  const { expected } = expectation;
  const expectedIds = [...expected.keys()];
  const statusCounts: Record<string, number> = {};
  const outcomeByDelivery = new Map<string, { row: Record<string, unknown>; result: DeliverWebhookResult | undefined }>();
  const attemptRows = new Map<string, Record<string, unknown>[]>();
  for (let from = 0; from < expectedIds.length; from += 500) {
    const rows = await store.find('herald_delivery_attempts', { where: { delivery_id: { $in: expectedIds.slice(from, from + 500) } } });
    for (const r of rows) attemptRows.set(String(r.delivery_id), [...(attemptRows.get(String(r.delivery_id)) ?? []), r]);
  }
  const mismatches: string[] = [];
  const attemptLogNotes: string[] = [];
  await forEachLimited(expectedIds, 16, async (id) => {
    const exp = expected.get(id)!;
    const row = rowsById.get(id);
    if (!row) {
      mismatches.push(`${exp.workflowId}: no row in the delivery table`);
      return;
    }
    statusCounts[`${exp.kind}:${String(row.status)}`] = (statusCounts[`${exp.kind}:${String(row.status)}`] ?? 0) + 1;
    const handle = temporal.workflow.getHandle<typeof deliverWebhookV4>(exp.workflowId);
    let description;
    try {
      description = await handle.describe();
    } catch (err) {
      mismatches.push(`${exp.workflowId}: describe failed: ${(err as Error).message}`);
      return;
    }
    // A dead delivery FAILS its workflow (so the Web UI shows it); every other final status completes it.
    const closedAs = row.status === 'dead' || row.status === 'skipped' ? 'FAILED' : 'COMPLETED';
    if (description.status.name !== closedAs) {
      mismatches.push(`${exp.workflowId}: workflow is ${description.status.name}, not ${closedAs} (row ${String(row.status)})`);
      outcomeByDelivery.set(id, { row, result: undefined });
      return;
    }
    const result = await deliveryResult(handle);
    outcomeByDelivery.set(id, { row, result });
    if (row.run_id !== description.runId) mismatches.push(`${exp.workflowId}: row run ${String(row.run_id)} ≠ workflow run ${description.runId}`);
    const tableSays = { status: row.status, attempts: Number(row.attempts), responseCode: (row.response_code as number | null) ?? null };
    const temporalSays = { status: result.status, attempts: result.attempts, responseCode: result.responseCode };
    if (JSON.stringify(tableSays) !== JSON.stringify(temporalSays)) {
      mismatches.push(`${exp.workflowId} (${exp.kind}): table ${JSON.stringify(tableSays)} ≠ Temporal ${JSON.stringify(temporalSays)}; Temporal error: ${result.error ?? '-'}; row error: ${String(row.error ?? '-')}`);
    }
    // The attempt log: one row per attempt that reached the send (an attempt whose worker died before it
    // recorded its start leaves a gap, which is not an error).
    const logged = (attemptRows.get(id) ?? []).filter((a) => a.run_id === description.runId).map((a) => Number(a.attempt)).sort((a, b) => a - b);
    const n = Number(row.attempts);
    if (logged.some((a) => a > n)) attemptLogNotes.push(`${exp.workflowId}: attempt log has attempts beyond the row's ${n}: [${logged.join(',')}]`);
    else if (logged.length !== n) attemptLogNotes.push(`${exp.workflowId}: ${n} attempts, attempt log [${logged.join(',')}]`);
  });
  for (const m of mismatches) violations.push(`table ≠ Temporal: ${m}`);
  return { statusCounts, outcomeByDelivery, attemptRows, mismatches, attemptLogNotes };
}

/**
 * Temporal's own count of send attempts (the attempt number of the last ActivityTaskStarted in history) vs
 * the row's: attempts that failed before recording their start (worker killed early, delivery DB down) are
 * not in the row, nor in the workflow result, which takes its count from the row.
 */
export async function noteUncountedAttempts(ctx: RunContext, infra: Infrastructure, expectation: Expectation, rowsById: Map<string, Row>, attemptLogNotes: string[]): Promise<void> {
  const { notes } = ctx;
  const { temporal } = infra;
  const { expected } = expectation;
  const expectedIds = [...expected.keys()];
  const uncounted: string[] = [];
  await forEachLimited(expectedIds, 16, async (id) => {
    const exp = expected.get(id)!;
    const row = rowsById.get(id);
    try {
      const history = await temporal.workflow.getHandle(exp.workflowId).fetchHistory();
      const started = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
      // The fast path's first attempt is a local activity: its marker's result says which attempt it made,
      // and the retry activity's attempts come after it.
      const fastPath = firstAttemptOf(history.events ?? []);
      const activityAttempt = Number(started[started.length - 1]?.activityTaskStartedEventAttributes?.attempt ?? 0);
      const lastAttempt = activityAttempt > 0 ? activityAttempt + fastPath : fastPath;
      if (row && lastAttempt !== Number(row.attempts)) uncounted.push(`${exp.workflowId} (${exp.kind}): Temporal ran ${lastAttempt} send attempts, the row counts ${String(row.attempts)} (${String(row.status)})`);
    } catch (err) {
      uncounted.push(`${exp.workflowId}: history unavailable: ${(err as Error).message}`);
    }
  });
  if (uncounted.length) notes.push(`send attempts Temporal ran but the table/result do not count (${uncounted.length} deliveries): ${uncounted.slice(0, 5).join('; ')}${uncounted.length > 5 ? '; …' : ''}`);
  if (attemptLogNotes.length) notes.push(`attempt-log gaps (${attemptLogNotes.length}): ${attemptLogNotes.slice(0, 5).join('; ')}${attemptLogNotes.length > 5 ? '; …' : ''}`);
}

/** Each fan-out closed and started every main webhook; retried fan-out batches are noted with their delay. */
export async function auditFanOuts(ctx: RunContext, infra: Infrastructure, hooks: ChaosWebhooks, expectation: Expectation): Promise<void> {
  const { violations, notes } = ctx;
  const { temporal, tenantId, taskQueue, store } = infra;
  const { eventIds } = expectation;
  const webhooks = hooks.main.length;
  // Fan-outs: each closed, each started every main webhook.
  const fanOutProblems: string[] = [];
  await forEachLimited(eventIds, 16, async (eventId) => {
    const handle = temporal.workflow.getHandle<typeof fanOutEvent>(fanOutWorkflowId(tenantId, eventId));
    try {
      const event = await store.findOne('herald_events', { where: { tenant_id: tenantId, event_id: eventId } });
      if (event?.status === 'fanned_out' && !(await hasWorkflow(temporal, fanOutWorkflowId(tenantId, eventId)))) {
        // A direct fan-out (publish started the deliveries itself): the event row is its record.
        const rows = await store.count('herald_deliveries', { where: { event_id: eventId } });
        if (Number(event.matched_count) !== webhooks || rows !== webhooks) fanOutProblems.push(`${eventId}: direct fan-out matched ${String(event.matched_count)}, ${rows} rows`);
        return;
      }
      const d = await handle.describe();
      if (d.status.name !== 'COMPLETED') {
        fanOutProblems.push(`${eventId}: fan-out ${d.status.name}`);
        return;
      }
      const r = await handle.result();
      if (r.started !== webhooks || r.skipped !== 0) fanOutProblems.push(`${eventId}: fan-out started ${r.started}, skipped ${r.skipped}`);
    } catch (err) {
      fanOutProblems.push(`${eventId}: ${(err as Error).message}`);
    }
  });
  for (const p of fanOutProblems) violations.push(`fan-out: ${p}`);
  // Fan-out batches that were retried (a worker died under them): how long their deliveries waited.
  const fanOutRetries: { eventId: string; attempt: number; spanMs: number }[] = [];
  await forEachLimited(eventIds, 16, async (eventId) => {
    try {
      if (!(await hasWorkflow(temporal, fanOutWorkflowId(tenantId, eventId)))) return;
      const history = await temporal.workflow.getHandle(fanOutWorkflowId(tenantId, eventId)).fetchHistory();
      const events = history.events ?? [];
      for (const e of events) {
        const attempt = Number(e.activityTaskStartedEventAttributes?.attempt ?? 1);
        if (attempt <= 1) continue;
        const scheduledId = Number(e.activityTaskStartedEventAttributes?.scheduledEventId ?? 0);
        const scheduled = events.find((x) => Number(x.eventId) === scheduledId);
        fanOutRetries.push({ eventId, attempt, spanMs: timestampMs(e.eventTime) - timestampMs(scheduled?.eventTime) });
      }
    } catch {
      // reported above
    }
  });
  if (fanOutRetries.length) {
    const worst = fanOutRetries.reduce((a, b) => (b.spanMs > a.spanMs ? b : a));
    notes.push(`fan-out batches retried after a worker died under them: ${fanOutRetries.length}; the last attempt of the worst started ${(worst.spanMs / 1000).toFixed(1)}s after the batch was scheduled (attempt ${worst.attempt}, event ${worst.eventId})`);
  }
  const stillRunning = Number((await temporal.workflow.count(runningQuery(taskQueue))).count);
  if (stillRunning !== 0) violations.push(`${stillRunning} workflows of the task queue are still running`);
}

export interface ReceiverAudit {
  receivedValid: Set<string>;
  lostCount: number;
  invalidSignatures: number;
  duplicates: number;
  redundant: number;
  /** Publish → first accepted request, at quantile q. */
  pct: (q: number) => number;
  slowest: { e: Expected; ms: number } | undefined;
}

/** Audit 2: every main delivery arrived, validly signed, with its event's id and payload, and once. */
export function auditReceiver(ctx: RunContext, infra: Infrastructure, expectation: Expectation, rowsById: Map<string, Row>, outcomeByDelivery: Outcomes, publishedAt: Map<string, number>): ReceiverAudit {
  const { violations } = ctx;
  const { main } = infra.receivers;
  const { expected } = expectation;
  const byDeliveryPath = new Map<string, Expected>();
  for (const exp of expected.values()) if (exp.kind === 'main') byDeliveryPath.set(`${exp.path} ${exp.deliveryId}`, exp);
  const receivedValid = new Set<string>();
  const distinct = new Set<string>();
  let invalidSignatures = 0;
  const requestProblems: string[] = [];
  for (const req of main.requests as ChaosRequest[]) {
    const exp = byDeliveryPath.get(`${req.path} ${req.deliveryId}`);
    if (!exp) {
      requestProblems.push(`a request nobody expected: ${req.path} delivery ${req.deliveryId} webhook-id ${req.webhookId}`);
      continue;
    }
    distinct.add(exp.deliveryId);
    if (!req.valid) {
      invalidSignatures += 1;
      requestProblems.push(`${exp.deliveryId} attempt ${req.attempt}: signature invalid (${req.verifyError})`);
      continue;
    }
    if (req.webhookId !== exp.eventId) requestProblems.push(`${exp.deliveryId} attempt ${req.attempt}: webhook-id ${req.webhookId}, expected ${exp.eventId} (a duplicate under another id)`);
    else if (JSON.stringify(req.data) !== JSON.stringify(exp.payload)) requestProblems.push(`${exp.deliveryId}: payload differs from the event's`);
    else receivedValid.add(exp.deliveryId);
  }
  for (const p of requestProblems.slice(0, 20)) violations.push(`receiver: ${p}`);
  if (requestProblems.length > 20) violations.push(`receiver: … and ${requestProblems.length - 20} more`);
  const mainExpected = [...expected.values()].filter((e) => e.kind === 'main');
  const lost = mainExpected.filter((e) => !receivedValid.has(e.deliveryId));
  if (lost.length) violations.push(`lost: ${lost.length} deliveries never received with a valid signature, e.g. ${lost.slice(0, 5).map((e) => `${e.workflowId} (row ${String(rowsById.get(e.deliveryId)?.status)})`).join(', ')}`);
  const notSuccess = mainExpected.filter((e) => rowsById.get(e.deliveryId)?.status !== 'success');
  if (notSuccess.length) {
    violations.push(
      `main deliveries not 'success': ${notSuccess.length}, e.g. ${notSuccess
        .slice(0, 5)
        .map((e) => {
          const o = outcomeByDelivery.get(e.deliveryId);
          const received = main.requests.filter((r) => r.deliveryId === e.deliveryId).map((r) => `#${r.attempt}→${r.status}`);
          return `${e.workflowId}: row ${String(o?.row.status)} attempts ${String(o?.row.attempts)} error "${String(o?.row.error ?? '')}", Temporal ${o?.result ? `${o.result.status}/${o.result.attempts}` : '?'}, receiver saw [${received.join(' ')}]`;
        })
        .join('; ')}`,
    );
  }
  // A duplicate is a request the receiver accepted (2xx) for a delivery it had already accepted; retries after a
  // 503 or a dropped connection are not duplicates from the receiver's point of view.
  const accepted = new Map<string, number>();
  for (const req of main.requests) if (req.status >= 200 && req.status < 300 && req.deliveryId) accepted.set(req.deliveryId, (accepted.get(req.deliveryId) ?? 0) + 1);
  const duplicates = [...accepted.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0);
  const redundant = main.requests.length - distinct.size;
  // Latency under chaos: from an event's publish to the first accepted request of each of its deliveries.
  const firstAccepted = new Map<string, number>();
  for (const req of main.requests) if (req.status >= 200 && req.status < 300 && req.deliveryId && !firstAccepted.has(req.deliveryId)) firstAccepted.set(req.deliveryId, req.at);
  const latencies = mainExpected
    .map((e) => ({ e, ms: (firstAccepted.get(e.deliveryId) ?? Number.NaN) - (publishedAt.get(e.eventId) ?? Number.NaN) }))
    .filter((l) => Number.isFinite(l.ms))
    .sort((a, b) => a.ms - b.ms);
  const pct = (q: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.ms : 0);
  const slowest = latencies[latencies.length - 1];
  return { receivedValid, lostCount: lost.length, invalidSignatures, duplicates, redundant, pct, slowest };
}

/** Audit 3: each probe ended as it must (dead on timeout, truncated 50 MB body, refused redirect and address). */
export function auditProbes(ctx: RunContext, infra: Infrastructure, expectation: Expectation, table: TableAudit): { probeLines: string[]; hugeBytesWrittenMax: number } {
  const { opts, violations } = ctx;
  const { silent, huge, forbidden } = infra.receivers;
  const { expected } = expectation;
  const { outcomeByDelivery, attemptRows } = table;
  const probeLines: string[] = [];
  const probeOutcomes = (kind: Kind) => [...expected.values()].filter((e) => e.kind === kind).map((e) => ({ exp: e, ...outcomeByDelivery.get(e.deliveryId) }));
  for (const o of probeOutcomes('silent')) {
    const row = o.row;
    const arrivals = silent.arrivals.filter((d) => d === o.exp.deliveryId).length;
    probeLines.push(`never-answering: ${String(row?.status)} after ${String(row?.attempts)} recorded attempts (${arrivals} requests arrived), error "${String(row?.error)}"`);
    if (row?.status !== 'dead') violations.push(`never-answering probe ${o.exp.workflowId}: status ${String(row?.status)}, expected dead`);
    else {
      // Its last attempt either timed out on the wire ("timeout after 1000ms … retries exhausted") or, when a
      // worker kill or server restart took it, in Temporal ("Activity task timed out", or "activity Heartbeat
      // timeout" when the dead worker's heartbeats stopped first): all are the timeout path. With attempts counted
      // by the table (V3), an attempt whose worker was killed mid-request is logged as "outcome of attempt N
      // unknown" by the execution after it, and that is the last error when it was the final attempt.
      if (!/timeout after \d+ms|timed out|heartbeat timeout|outcome of attempt \d+ unknown/i.test(String(row.error))) violations.push(`never-answering probe ${o.exp.workflowId}: error "${String(row.error)}" does not say timeout`);
      if (!(Number(row.attempts) >= 1 && Number(row.attempts) <= opts.probeSchedule.length + 1)) violations.push(`never-answering probe ${o.exp.workflowId}: ${String(row.attempts)} attempts, expected 1–${opts.probeSchedule.length + 1}`);
      if (row.response_code !== null) violations.push(`never-answering probe ${o.exp.workflowId}: response code ${String(row.response_code)}`);
      if (arrivals < 1) violations.push(`never-answering probe ${o.exp.workflowId}: no request ever arrived`);
      if (/retries exhausted/.test(String(row.error)) && Number(row.attempts) !== opts.probeSchedule.length + 1) violations.push(`never-answering probe ${o.exp.workflowId}: retries exhausted after ${String(row.attempts)} of ${opts.probeSchedule.length + 1} attempts`);
    }
  }
  for (const o of probeOutcomes('huge')) {
    const row = o.row;
    const bodyBytes = Buffer.byteLength(String(row?.response_body ?? ''), 'utf8');
    const logBodies = (attemptRows.get(o.exp.deliveryId) ?? []).map((a) => Buffer.byteLength(String(a.response_body ?? ''), 'utf8'));
    probeLines.push(`50 MB body: ${String(row?.status)} / HTTP ${String(row?.response_code)} after ${String(row?.attempts)} attempts; stored ${bodyBytes} bytes (attempt log: ${logBodies.join(', ')})`);
    if (row?.status !== 'success' || row.response_code !== 200) violations.push(`50 MB probe ${o.exp.workflowId}: ${String(row?.status)} / ${String(row?.response_code)}, expected success / 200 (error "${String(row?.error)}")`);
    if (bodyBytes > RESPONSE_BODY_LIMIT_BYTES || logBodies.some((b) => b > RESPONSE_BODY_LIMIT_BYTES)) violations.push(`50 MB probe ${o.exp.workflowId}: stored ${bodyBytes} bytes, more than ${RESPONSE_BODY_LIMIT_BYTES}`);
    if (row?.status === 'success' && bodyBytes !== RESPONSE_BODY_LIMIT_BYTES) violations.push(`50 MB probe ${o.exp.workflowId}: stored ${bodyBytes} bytes, expected exactly the first ${RESPONSE_BODY_LIMIT_BYTES}`);
  }
  const hugeBytesWrittenMax = Math.max(0, ...huge.bytesWritten);
  if (huge.bytesWritten.some((b) => b >= HUGE_BODY_BYTES / 2)) {
    violations.push(`50 MB probe: the worker read ${huge.bytesWritten.map((b) => `${(b / 1e6).toFixed(1)} MB`).join(', ')} of a 50 MB body (it should stop after 16 KiB)`);
  }
  for (const o of probeOutcomes('redirect')) {
    const row = o.row;
    probeLines.push(`redirect to ${FORBIDDEN_HOST}: ${String(row?.status)} / HTTP ${String(row?.response_code)} after ${String(row?.attempts)} attempts, error "${String(row?.error)}"`);
    if (row?.status !== 'dead' || row.response_code !== 302) violations.push(`redirect probe ${o.exp.workflowId}: ${String(row?.status)} / ${String(row?.response_code)}, expected dead / 302`);
    else if (!/redirect/i.test(String(row.error))) violations.push(`redirect probe ${o.exp.workflowId}: error "${String(row.error)}" does not say redirect`);
  }
  for (const o of probeOutcomes('refused')) {
    const row = o.row;
    probeLines.push(`direct to ${FORBIDDEN_HOST}: ${String(row?.status)} after ${String(row?.attempts)} attempts, error "${String(row?.error)}"`);
    if (row?.status !== 'dead') violations.push(`refused probe ${o.exp.workflowId}: ${String(row?.status)}, expected dead`);
    else if (!/127\.0\.0\.2/.test(String(row.error))) violations.push(`refused probe ${o.exp.workflowId}: error "${String(row.error)}" does not name the refused address`);
  }
  if (forbidden.arrivals.length !== 0) violations.push(`the ${FORBIDDEN_HOST} receiver saw ${forbidden.arrivals.length} requests; it must see none`);
  return { probeLines, hugeBytesWrittenMax };
}

/** Audit 4: no worker died by itself, and none blew past the RSS ceiling. Returns the peak RSS in MB. */
export function auditWorkers(ctx: RunContext, supervisor: WorkerSupervisor): number {
  const { opts, violations } = ctx;
  for (const u of supervisor.unexpectedExits) violations.push(`worker ${u.pid} exited by itself at t+${(u.at / 1000).toFixed(1)}s (${u.exit}):\n${u.stderrTail}`);
  const workerPeakRssMb = Math.max(0, ...supervisor.incarnations.map((i) => i.peakRssKb)) / 1024;
  if (workerPeakRssMb > opts.maxWorkerRssMb) violations.push(`a worker process peaked at ${workerPeakRssMb.toFixed(0)} MB RSS, above the ${opts.maxWorkerRssMb} MB ceiling`);
  return workerPeakRssMb;
}

async function hasWorkflow(temporal: Client, workflowId: string): Promise<boolean> {
  try {
    await temporal.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** The attempt the fast path's local activity (deliverFirstAttempt) reported in its marker, 0 when none did. */
function firstAttemptOf(events: readonly { markerRecordedEventAttributes?: { details?: Record<string, { payloads?: { data?: Uint8Array | null }[] | null }> | null } | null }[]): number {
  for (const e of events) {
    const data = e.markerRecordedEventAttributes?.details?.['result']?.payloads?.[0]?.data;
    if (!data) continue;
    try {
      const result = JSON.parse(Buffer.from(data).toString('utf8')) as { outcome?: string; attempt?: number };
      if (result.outcome && typeof result.attempt === 'number') return result.attempt;
    } catch {
      // not a JSON result: another marker
    }
  }
  return 0;
}
