/**
 * The production path, run for real: deliveries published through `herald api` and delivered by two `herald
 * worker` processes on the real multi-shard Temporal server and Postgres, while one worker is SIGKILLed and
 * restarted, the Temporal server is restarted and Postgres is restarted. Then every delivery is audited against
 * what the receiver saw, the delivery table and Temporal. Returns the facts; the spec file asserts on them.
 */
import { Client, Connection } from '@temporalio/client';
import { openEngine } from '../../src/store/open-engine.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { deliveryResult } from '../../src/delivery/delivery-result.js';
import type { DeliverWebhookResult } from '../../src/workflows/messages.js';
import type { ClusterStack } from '../../scripts/cluster/cluster-stack.js';
import type { HeraldRoleProcess } from '../../scripts/cluster/herald-processes.js';
import { startClusterReceiver, type EndpointBehaviour } from '../../scripts/cluster/receiver.js';

export interface ProductionRunOptions {
  /** `events` × the webhooks below = deliveries. */
  events: number;
  /** Behaviour per webhook, in order. */
  webhooks: EndpointBehaviour[];
  /** Events are published evenly over this window, so the faults land on deliveries at every stage. */
  publishWindowMs: number;
  /** When, after the first publish, each fault starts (they run one after the other). */
  faultsAtMs: { killWorker: number; restartTemporal: number; restartPostgres: number };
  /** How long the killed worker and Postgres stay down. */
  downMs: number;
  /** `flaky` endpoints answer 503 until this long after the first publish. */
  flakyForMs: number;
  retrySchedule: number[];
  drainTimeoutMs: number;
  log: (line: string) => void;
}

/**
 * One (webhook, event) pair that must be delivered. The test names deliveries by the pair, not by Herald's id
 * scheme, so the audit does not trust the code it checks: `deliveryId` and `workflowId` come from the row
 * (unset when there is none, which is itself a violation).
 */
interface Expected {
  webhookId: string;
  eventId: string;
  deliveryId: string | undefined;
  workflowId: string;
  behaviour: EndpointBehaviour;
  payload: unknown;
}

const pairKey = (webhookId: string, eventId: string) => `${webhookId} ${eventId}`;

/** `fn` over `items`, at most `limit` at a time; the first error rejects once all have settled. */
async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!).catch((err: unknown) => void (failure ??= err));
    }),
  );
  if (failure !== undefined) throw failure;
}

export interface ProductionRunReport {
  summary: string;
  violations: string[];
  sent: number;
  received: number;
  duplicates: number;
  lost: number;
  statuses: Record<string, number>;
  /** Temporal work (workflow tasks + activity tasks) per worker label. */
  workByWorker: Record<string, number>;
  deadFromCli: string[];
  expectedDead: string[];
  searchAttributesBefore: string[];
  searchAttributesAfter: string[];
  historyShardCount: number;
  serverVersion: string;
  faults: string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));
const TERMINAL = new Set(['success', 'dead']);

/**
 * POST/GET against `herald api` with the admin token, retried as the API contract asks a client to: through
 * outages (5xx, refused, timed out) and on 409 for an `Idempotency-Key` whose earlier request is still in
 * progress ("retry later": the earlier try may still be running, or died and holds the key for up to a minute).
 */
function apiClient(base: string, token: string) {
  let retries = 0;
  let inProgressConflicts = 0;
  const call = async <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, tries = 240): Promise<{ status: number; json: T }> => {
    let last = '';
    for (let i = 0; i < tries; i++) {
      try {
        const res = await fetch(base + path, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(30_000),
        });
        const text = await res.text();
        const keyInProgress = res.status === 409 && /"field":"Idempotency-Key"/.test(text);
        if (keyInProgress) inProgressConflicts += 1;
        if (res.status < 500 && !keyInProgress) {
          if (res.status >= 400) throw Object.assign(new Error(`${method} ${path}: HTTP ${res.status} ${text}`), { permanent: true });
          return { status: res.status, json: JSON.parse(text) as T };
        }
        last = `HTTP ${res.status} ${text.slice(0, 200)}`;
      } catch (err) {
        if ((err as { permanent?: boolean }).permanent) throw err;
        last = (err as Error).message;
      }
      retries += 1;
      await sleep(500);
    }
    throw new Error(`${method} ${path}: still failing after ${tries} tries (last: ${last})`);
  };
  return { call, retries: () => retries, inProgressConflicts: () => inProgressConflicts };
}

export async function runProductionPath(stack: ClusterStack, opts: ProductionRunOptions): Promise<ProductionRunReport> {
  const log = opts.log;
  const violations: string[] = [];
  const faults: string[] = [];
  const receiver = await startClusterReceiver();
  const connection = await Connection.connect({ address: stack.temporal.address });
  const temporal = new Client({ connection, namespace: stack.temporal.namespace });
  let store: DataEngine | undefined;
  try {
    const system = await connection.workflowService.getSystemInfo({});
    const cluster = await connection.workflowService.getClusterInfo({});
    const listAttributes = async () => Object.keys((await connection.operatorService.listSearchAttributes({ namespace: stack.temporal.namespace })).customAttributes ?? {});
    const searchAttributesBefore = await listAttributes();

    // ── Herald's roles: one API, two workers, separate processes ──
    const api = await stack.startRole('api', 'api');
    const workers: HeraldRoleProcess[] = [await stack.startRole('worker', 'worker-1'), await stack.startRole('worker', 'worker-2')];
    const searchAttributesAfter = await listAttributes();
    log(`herald api (pid ${api.pids[0]}) and workers ${workers.map((w) => `${w.label} (pid ${w.pids[0]})`).join(', ')} ready`);
    const apiEnv = stack.roleEnv('api');
    const client = apiClient(`http://${apiEnv.HERALD_API_HOST}:${apiEnv.HERALD_API_PORT}`, stack.local.apiTokens);

    // ── webhooks, through the REST API ──
    const hooks: { id: string; behaviour: EndpointBehaviour }[] = [];
    const webhookByPath = new Map<string, string>();
    for (const [i, behaviour] of opts.webhooks.entries()) {
      const hookPath = `/hook/${i}-${behaviour}`;
      const { json } = await client.call<{ id: string; secret: string }>('POST', '/v1/webhooks', {
        url: `${receiver.origin}${hookPath}`,
        eventTypes: ['order.*'],
        retrySchedule: opts.retrySchedule,
        description: `cluster run: ${behaviour}`,
      });
      receiver.endpoint(hookPath, json.secret, behaviour);
      hooks.push({ id: json.id, behaviour });
      webhookByPath.set(hookPath, json.id);
    }

    // ── publish, with the faults running alongside ──
    const runTag = Date.now().toString(36);
    const expected = new Map<string, Expected>();
    const eventIds: string[] = [];
    for (let e = 0; e < opts.events; e++) {
      const eventId = `evt_${runTag}_${e}`;
      eventIds.push(eventId);
      const payload = { order: e, run: runTag };
      for (const h of hooks) expected.set(pairKey(h.id, eventId), { webhookId: h.id, eventId, deliveryId: undefined, workflowId: `(no row: webhook ${h.id}, event ${eventId})`, behaviour: h.behaviour, payload });
    }
    const t0 = Date.now();
    const at = () => `t+${((Date.now() - t0) / 1000).toFixed(1)}s`;
    receiver.flakyUntil(t0 + opts.flakyForMs);
    const publishedAt = new Map<string, number>();
    const publishing = (async () => {
      await inParallel(eventIds.map((eventId, order) => ({ eventId, order })), 8, async ({ eventId, order }) => {
        await sleep(t0 + (order * opts.publishWindowMs) / opts.events - Date.now());
        await client.call('POST', '/v1/events', { id: eventId, type: 'order.created', payload: { order, run: runTag } }, { 'idempotency-key': `publish-${eventId}` });
        publishedAt.set(eventId, Date.now());
      });
    })();
    const faulting = (async () => {
      await sleep(t0 + opts.faultsAtMs.killWorker - Date.now());
      const victim = workers[0]!;
      await victim.kill9();
      faults.push(`${at()} SIGKILL ${victim.label} (pid ${victim.pids.at(-1)})`);
      log(faults.at(-1)!);
      await sleep(opts.downMs);
      await victim.restart();
      faults.push(`${at()} ${victim.label} restarted (pid ${victim.pids.at(-1)})`);
      log(faults.at(-1)!);

      await sleep(t0 + opts.faultsAtMs.restartTemporal - Date.now());
      faults.push(`${at()} Temporal server restart (SIGTERM, start again)`);
      log(faults.at(-1)!);
      const { downMs } = await stack.temporal.restart();
      faults.push(`${at()} Temporal server serving again after ${(downMs / 1000).toFixed(1)} s`);
      log(faults.at(-1)!);

      await sleep(t0 + opts.faultsAtMs.restartPostgres - Date.now());
      faults.push(`${at()} Postgres restart (fast shutdown; Temporal's and Herald's databases both down)`);
      log(faults.at(-1)!);
      await stack.postgres.outage(opts.downMs);
      faults.push(`${at()} Postgres accepting connections again`);
      log(faults.at(-1)!);
    })();
    await Promise.all([publishing, faulting]);
    log(`${at()} published ${eventIds.length} events (${expected.size} deliveries; ${client.retries()} API calls retried through the faults)`);

    // ── drain: every row terminal, bounded ──
    store = await openEngine(stack.heraldDatabaseUrl);
    const ids = [...expected.keys()];
    const rows = new Map<string, Record<string, unknown>>();
    const readRows = async () => {
      for (let i = 0; i < eventIds.length; i += 500) {
        for (const r of await store!.find('herald_deliveries', { where: { event_id: { $in: eventIds.slice(i, i + 500) } } })) {
          const key = pairKey(String(r.webhook_id), String(r.event_id));
          rows.set(key, r);
          const exp = expected.get(key);
          if (exp) {
            exp.deliveryId = String(r.id);
            exp.workflowId = String(r.workflow_id);
          }
        }
      }
    };
    const drainDeadline = Date.now() + opts.drainTimeoutMs;
    let lastReport = 0;
    for (;;) {
      await readRows();
      const done = ids.filter((id) => TERMINAL.has(String(rows.get(id)?.status))).length;
      if (done === ids.length) break;
      if (Date.now() > drainDeadline) {
        violations.push(`stuck: ${ids.length - done} deliveries not terminal ${opts.drainTimeoutMs / 1000}s after the last fault`);
        break;
      }
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        log(`${at()} draining: ${done}/${ids.length} terminal`);
      }
      await sleep(1_000);
    }
    log(`${at()} drained; auditing ${ids.length} deliveries`);

    // ── audit: the table agrees with Temporal; who did the work ──
    const statuses: Record<string, number> = {};
    const identityToWorker = new Map<string, string>();
    for (const w of workers) for (const identity of w.identities()) identityToWorker.set(identity, w.label);
    const workByWorker: Record<string, number> = Object.fromEntries(workers.map((w) => [w.label, 0]));
    const mismatches: string[] = [];
    await inParallel(ids, 16, async (id) => {
      const exp = expected.get(id)!;
      const row = rows.get(id);
      if (!row) {
        mismatches.push(`${exp.workflowId}: no row`);
        return;
      }
      statuses[`${exp.behaviour}:${String(row.status)}`] = (statuses[`${exp.behaviour}:${String(row.status)}`] ?? 0) + 1;
      const wantStatus = exp.behaviour === 'reject' ? 'dead' : 'success';
      if (row.status !== wantStatus) mismatches.push(`${exp.workflowId} (${exp.behaviour}): row ${String(row.status)}, expected ${wantStatus} (error ${String(row.error ?? '-')})`);
      const handle = temporal.workflow.getHandle(exp.workflowId);
      try {
        const d = await handle.describe();
        // A dead delivery FAILS its workflow (so the Web UI shows it); every other final status completes it.
        const closedAs = row.status === 'dead' || row.status === 'skipped' ? 'FAILED' : 'COMPLETED';
        if (d.status.name !== closedAs) {
          mismatches.push(`${exp.workflowId}: workflow ${d.status.name}, not ${closedAs} (row ${String(row.status)})`);
          return;
        }
        const result: DeliverWebhookResult = await deliveryResult(handle);
        if (row.run_id !== d.runId) mismatches.push(`${exp.workflowId}: row run ${String(row.run_id)} ≠ workflow run ${d.runId}`);
        const table = { status: row.status, attempts: Number(row.attempts), responseCode: (row.response_code as number | null) ?? null };
        const fromTemporal = { status: result.status, attempts: result.attempts, responseCode: result.responseCode };
        if (JSON.stringify(table) !== JSON.stringify(fromTemporal)) mismatches.push(`${exp.workflowId}: table ${JSON.stringify(table)} ≠ Temporal ${JSON.stringify(fromTemporal)}`);
        const history = await handle.fetchHistory();
        for (const e of history.events ?? []) {
          const identity = e.workflowTaskStartedEventAttributes?.identity ?? e.activityTaskStartedEventAttributes?.identity;
          const label = identity ? identityToWorker.get(identity) : undefined;
          if (label) workByWorker[label] = (workByWorker[label] ?? 0) + 1;
        }
      } catch (err) {
        mismatches.push(`${exp.workflowId}: ${(err as Error).message}`);
      }
    });
    for (const m of mismatches.slice(0, 20)) violations.push(`table ≠ Temporal: ${m}`);
    if (mismatches.length > 20) violations.push(`table ≠ Temporal: … and ${mismatches.length - 20} more`);
    for (const w of workers) if (!(workByWorker[w.label]! > 0)) violations.push(`${w.label} did no Temporal work`);

    // Nothing of Herald's is left running (visibility is eventually consistent: a few tries).
    let running = -1;
    for (let i = 0; i < 20; i++) {
      running = Number((await temporal.workflow.count(`ExecutionStatus = "Running" AND WorkflowType IN ("deliverWebhook", "fanOutEvent")`)).count);
      if (running === 0) break;
      await sleep(1_000);
    }
    if (running !== 0) violations.push(`stuck: ${running} deliverWebhook/fanOutEvent workflows still running`);

    // ── audit: what the receiver saw ──
    // A request belongs to the pair (webhook of its path, event named by its webhook-id): a request under any
    // other webhook-id is a duplicate under another id, and shows up here as unexpected.
    const requestKey = (r: { path: string; webhookId: string }) => pairKey(webhookByPath.get(r.path) ?? `(path ${r.path})`, r.webhookId);
    const validFor = new Set<string>();
    const accepted = new Map<string, number>();
    const problems: string[] = [];
    for (const r of receiver.requests) {
      const key = requestKey(r);
      const exp = expected.get(key);
      if (!exp) {
        problems.push(`unexpected request: ${r.path} webhook-id ${r.webhookId} (delivery ${r.deliveryId}, attempt ${r.attempt})`);
        continue;
      }
      if (!r.valid) problems.push(`${exp.workflowId} attempt ${r.attempt}: invalid signature (${r.verifyError})`);
      else if (JSON.stringify(r.data) !== JSON.stringify(exp.payload)) problems.push(`${exp.workflowId}: payload ${JSON.stringify(r.data)} ≠ ${JSON.stringify(exp.payload)}`);
      else if (r.deliveryId !== exp.deliveryId) problems.push(`${exp.workflowId}: request says delivery ${r.deliveryId}, the table ${exp.deliveryId ?? '(no row)'}`);
      else validFor.add(key);
      if (r.status === 200) accepted.set(key, (accepted.get(key) ?? 0) + 1);
    }
    for (const p of problems.slice(0, 20)) violations.push(`receiver: ${p}`);
    if (problems.length > 20) violations.push(`receiver: … and ${problems.length - 20} more`);
    const lost = ids.filter((id) => !validFor.has(id));
    if (lost.length) violations.push(`lost: ${lost.length} deliveries never received with a valid signature, e.g. ${lost.slice(0, 5).map((id) => expected.get(id)!.workflowId).join(', ')}`);
    const duplicates = [...accepted.values()].reduce((n, c) => n + Math.max(0, c - 1), 0);

    // ── the operator's view: dead deliveries through the temporal CLI ──
    const expectedDead = [...expected.values()].filter((e) => e.behaviour === 'reject').map((e) => e.workflowId).sort();
    let deadFromCli: string[] = [];
    for (let i = 0; i < 20; i++) {
      const out = await stack.temporal.cli(['workflow', 'list', '--query', 'HeraldDeliveryStatus="dead"', '--output', 'json', '--limit', String(expected.size + 100)]);
      deadFromCli = parseWorkflowIds(out).sort();
      if (JSON.stringify(deadFromCli) === JSON.stringify(expectedDead)) break;
      await sleep(1_000);
    }

    const timed = [...expected.values()]
      .map((e) => {
        const first = receiver.requests.find((r) => r.status === 200 && requestKey(r) === pairKey(e.webhookId, e.eventId));
        return { e, ms: first ? first.at - (publishedAt.get(e.eventId) ?? first.at) : Number.NaN };
      })
      .filter((x) => Number.isFinite(x.ms))
      .sort((a, b) => a.ms - b.ms);
    const latencies = timed.map((x) => x.ms);
    const pct = (q: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! : 0);
    // The slowest delivery's story (its requests and its history), so a long tail can be explained, not guessed.
    const slowest = timed.at(-1)?.e;
    const slowestStory: string[] = [];
    if (slowest) {
      const from = publishedAt.get(slowest.eventId) ?? t0;
      const rel = (ms: number) => `+${((ms - from) / 1000).toFixed(1)}s`;
      slowestStory.push(`slowest: ${slowest.workflowId} (${slowest.behaviour}); requests: ${receiver.requests.filter((r) => requestKey(r) === pairKey(slowest.webhookId, slowest.eventId)).map((r) => `#${r.attempt}→${r.status}@${rel(r.at)}`).join(' ')}`);
      try {
        const history = await temporal.workflow.getHandle(slowest.workflowId).fetchHistory();
        const events = (history.events ?? []).map((ev) => {
          const ms = Number(ev.eventTime?.seconds ?? 0) * 1000 + Math.floor((ev.eventTime?.nanos ?? 0) / 1e6);
          const kind = Object.keys(ev).find((k) => k.endsWith('EventAttributes') && (ev as Record<string, unknown>)[k]) ?? '?';
          const failure = ev.activityTaskTimedOutEventAttributes ? ' (timed out)' : ev.workflowTaskTimedOutEventAttributes ? ' (wft timed out)' : ev.workflowTaskFailedEventAttributes ? ' (wft failed)' : '';
          return `${kind.replace('EventAttributes', '')}${failure}@${rel(ms)}`;
        });
        slowestStory.push(`  history: ${events.join(' ')}`);
      } catch (err) {
        slowestStory.push(`  history unavailable: ${(err as Error).message}`);
      }
    }
    const summary = [
      `── cluster run: Temporal ${system.serverVersion} (${cluster.historyShardCount} history shards) on Postgres; herald api ×1, herald worker ×2 ──`,
      `sent:        ${expected.size} deliveries (${opts.events} events × ${hooks.length} webhooks: ${countBy(opts.webhooks)})`,
      `received:    ${validFor.size} distinct deliveries with a valid signature (${receiver.requests.length} requests)`,
      `duplicates:  ${duplicates} (a 200 answered twice for one delivery; all under the same webhook-id)`,
      `lost:        ${lost.length}`,
      `statuses:    ${Object.entries(statuses).sort().map(([k, v]) => `${k}=${v}`).join(' ')}`,
      `table ≠ Temporal: ${mismatches.length}`,
      `work (workflow + activity tasks) by worker: ${Object.entries(workByWorker).map(([k, v]) => `${k}=${v}`).join(' ')}`,
      `dead via \`temporal workflow list --query 'HeraldDeliveryStatus="dead"'\`: ${deadFromCli.length} (expected ${expectedDead.length})`,
      `publish → first 200: p50 ${(pct(0.5) / 1000).toFixed(1)} s, p99 ${(pct(0.99) / 1000).toFixed(1)} s, max ${(pct(1) / 1000).toFixed(1)} s`,
      `API calls retried through faults: ${client.retries()} (of which 409 "Idempotency-Key still being processed": ${client.inProgressConflicts()})`,
      ...slowestStory,
      'faults:',
      ...faults.map((f) => `  ${f}`),
      `violations: ${violations.length}`,
    ].join('\n');
    return {
      summary,
      violations,
      sent: expected.size,
      received: validFor.size,
      duplicates,
      lost: lost.length,
      statuses,
      workByWorker,
      deadFromCli,
      expectedDead,
      searchAttributesBefore,
      searchAttributesAfter,
      historyShardCount: cluster.historyShardCount,
      serverVersion: system.serverVersion,
      faults,
    };
  } finally {
    await store?.close().catch(() => undefined);
    await connection.close().catch(() => undefined);
    await receiver.close();
  }
}

function countBy(items: string[]): string {
  const counts = new Map<string, number>();
  for (const i of items) counts.set(i, (counts.get(i) ?? 0) + 1);
  return [...counts].map(([k, v]) => `${v} ${k}`).join(', ');
}

/** `temporal workflow list --output json` prints a JSON array, or one object per line in some versions. */
export function parseWorkflowIds(out: string): string[] {
  const text = out.trim();
  if (!text) return [];
  const items: unknown[] = text.startsWith('[') ? (JSON.parse(text) as unknown[]) : text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown);
  return items.map((i) => String((i as { execution?: { workflowId?: string } }).execution?.workflowId ?? '')).filter(Boolean);
}

