/**
 * Records the histories the replay test checks every workflow change against: representative scenarios of
 * every workflow type, run on a real dev server (started here, in memory) with a receiver on 127.0.0.1,
 * written as JSON to test/histories/<workflow type>.<scenario>.json.
 *
 *   npm run record-histories
 *
 * Re-record only when a workflow change is meant to break old histories (a new workflow type, or after
 * every run of the old code has finished); otherwise guard the change with patched() and keep the files.
 * Files of retired workflow types (`deliverWebhook.*`, `deliverWebhookV2.*`, `deliverWebhookV3.*`, the earlier delivery types) are never rewritten: new code
 * cannot produce them, and they stay for as long as the frozen type is registered.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { pino } from 'pino';
import { parseEgressAllowList } from '../src/egress/allow-list.js';
import { createGuardedDispatcher } from '../src/egress/guarded-dispatcher.js';
import { HeraldClient } from '../src/client/herald-client.js';
import { deliveryResult } from '../src/delivery/delivery-result.js';
import { projectRoot } from '../src/embedded/project-root.js';
import { resolveTemporalBinary } from '../src/embedded/temporal-binaries.js';
import { startDevServer } from '../src/embedded/temporal-dev-server.js';
import type { DataEngine } from '../src/store/data-engine.js';
import { heraldDeliveries } from '../src/store/schema.js';
import { openEngine } from '../src/store/open-engine.js';
import { createSecretBox } from '../src/store/secret-box.js';
import { createWorker } from '../src/worker/create-worker.js';
import { recordEvent } from '../src/store/events.js';
import type { refanEvents } from '../src/workflows/refan-events.js';
import { sweepRetention } from '../src/workflows/sweep-retention.js';

const run = promisify(execFile);
const TASK_QUEUE = 'record-histories';

/** Answers for the receiver: status (and headers) by request index. */
type Script = (index: number) => { status: number; headers?: Record<string, string> };

interface Recording {
  /** `<workflow type>.<scenario>` */
  name: string;
  workflowId: string;
  runId?: string;
}

interface Env {
  herald: HeraldClient;
  temporal: Client;
  store: DataEngine;
  url: string;
  setScript(script: Script): void;
}

const ok: Script = () => ({ status: 200 });

async function waitFor(cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out waiting for the scenario');
}

/** One delivery through `deliver`, the receiver answering per `script`, optionally acted on while it runs. */
function delivery(name: string, script: Script, webhook: { retrySchedule?: number[] } = {}, act?: (env: Env, deliveryId: string) => Promise<void>) {
  return async (env: Env): Promise<Recording[]> => {
    env.setScript(script);
    const { webhook: wh } = await env.herald.webhooks.create({ url: env.url, retryJitter: 0, ...webhook });
    const started = await env.herald.deliveries.deliver({ webhookId: wh.id, eventId: `evt_${name}`, eventType: 'order.created', payload: { scenario: name } });
    await act?.(env, started.deliveryId);
    await deliveryResult(env.herald.deliveries.handle(started.workflowId));
    return [{ name: `deliverWebhookV4.${name}`, workflowId: started.workflowId }];
  };
}

const SCENARIOS: ((env: Env) => Promise<Recording[]>)[] = [
  delivery('success', ok),
  delivery('retry-then-success', (i) => ({ status: i < 2 ? 503 : 200 }), { retrySchedule: [1, 1] }),
  delivery('dead-after-schedule', () => ({ status: 500 }), { retrySchedule: [1, 1] }),
  delivery('dead-on-4xx', () => ({ status: 400 })),
  delivery('gone-disables-webhook', () => ({ status: 410 })),
  delivery('retry-after', (i) => (i === 0 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 }), { retrySchedule: [1] }),
  delivery('cancelled', () => ({ status: 503 }), { retrySchedule: [3600] }, async (env, id) => {
    await waitFor(async () => {
      const row = await env.herald.deliveries.get(id).catch(() => undefined);
      return Boolean(row && row.attempts >= 1 && row.status === 'pending');
    });
    await env.herald.deliveries.cancel(id);
  }),
  // The webhook is disabled while the delivery waits for its retry: the delivery ends skipped (a failed run).
  delivery('skipped-webhook-disabled', () => ({ status: 503 }), { retrySchedule: [2] }, async (env, id) => {
    await waitFor(async () => {
      const row = await env.herald.deliveries.get(id).catch(() => undefined);
      return Boolean(row && row.attempts >= 1 && row.status === 'pending');
    });
    const row = await env.herald.deliveries.get(id);
    await env.herald.webhooks.disable(row.webhookId, 'disabled while recording histories');
  }),
  // An endpoint whose breaker opens (threshold 1) with two deliveries: one waits in the workflow after its
  // retry activity met the open breaker, the other after its first attempt did; the probe (whichever wakes
  // first, about 30 s on) succeeds, and the breaker's close wakes the other with the endpoint-ready signal.
  async (env) => {
    env.setScript((i) => ({ status: i === 0 ? 503 : 200 }));
    const { webhook } = await env.herald.webhooks.create({ url: env.url, retryJitter: 0, retrySchedule: [1], breakerThreshold: 1 });
    const a = await env.herald.deliveries.deliver({ webhookId: webhook.id, eventId: 'evt_breaker_a', eventType: 'order.created', payload: {} });
    await waitFor(async () => {
      const row = await env.herald.deliveries.get(a.deliveryId).catch(() => undefined);
      return Boolean(row && row.attempts >= 1 && row.status === 'pending');
    });
    const b = await env.herald.deliveries.deliver({ webhookId: webhook.id, eventId: 'evt_breaker_b', eventType: 'order.created', payload: {} });
    await Promise.all([deliveryResult(env.herald.deliveries.handle(a.workflowId)), deliveryResult(env.herald.deliveries.handle(b.workflowId))]);
    return [
      { name: 'deliverWebhookV4.breaker-wait-after-retry', workflowId: a.workflowId },
      { name: 'deliverWebhookV4.breaker-wait-after-first', workflowId: b.workflowId },
    ];
  },
  // A dead delivery, then redelivered: the second run's history.
  async (env) => {
    env.setScript((i) => ({ status: i === 0 ? 400 : 200 }));
    const { webhook } = await env.herald.webhooks.create({ url: env.url });
    const started = await env.herald.deliveries.deliver({ webhookId: webhook.id, eventId: 'evt_redelivered', eventType: 'order.created', payload: {} });
    await deliveryResult(env.herald.deliveries.handle(started.workflowId));
    const again = await env.herald.deliveries.redeliver(started.deliveryId);
    await deliveryResult(env.herald.deliveries.handle(again.workflowId, again.runId));
    return [{ name: 'deliverWebhookV4.redelivered', workflowId: again.workflowId, runId: again.runId }];
  },
  // Fan-out to three webhooks, one disabled (skipped).
  async (env) => {
    env.setScript(ok);
    const tenantId = 'fanout-small';
    for (let i = 0; i < 3; i++) {
      const { webhook } = await env.herald.webhooks.create({ url: env.url, tenantId, eventTypes: ['order.*'] });
      if (i === 2) await env.herald.webhooks.disable(webhook.id);
    }
    // directLimit 0: through the fan-out workflow, which publish would otherwise skip for three webhooks.
    const published = await env.herald.events.publish({ id: 'evt_fanout_small', type: 'order.created', payload: { n: 1 }, tenantId, fanOut: { directLimit: 0 } });
    await env.herald.events.fanOutResult(published.eventId, tenantId);
    return [{ name: 'fanOutEvent.small', workflowId: published.workflowId! }];
  },
  // Fan-out that continues as new: 12 webhooks in pages of 2, 3 pages per run.
  async (env) => {
    env.setScript(ok);
    const tenantId = 'fanout-large';
    for (let i = 0; i < 12; i++) await env.herald.webhooks.create({ url: env.url, tenantId });
    const published = await env.herald.events.publish({ id: 'evt_fanout_large', type: 'order.created', payload: {}, tenantId, fanOut: { batchSize: 2, batchesPerRun: 3, directLimit: 0 } });
    await env.herald.events.fanOutResult(published.eventId, tenantId);
    return [
      // The first run ends by continuing as new; the last one finishes the walk.
      { name: 'fanOutEvent.continued-as-new', workflowId: published.workflowId!, runId: published.runId! },
      { name: 'fanOutEvent.last-run', workflowId: published.workflowId! },
    ];
  },
  // Re-fan: an event stored by a publisher that died before starting anything, repaired by the sweep.
  async (env) => {
    env.setScript(ok);
    const tenantId = 'refan';
    await env.herald.webhooks.create({ url: env.url, tenantId, eventTypes: ['order.*'] });
    await recordEvent(env.store, { tenantId, eventId: 'evt_refan', eventType: 'order.created', eventTimeMs: Date.now(), payloadJson: '{}' });
    const workflowId = 'refan-sweep';
    await env.temporal.workflow.execute<typeof refanEvents>('refanEvents', { taskQueue: TASK_QUEUE, workflowId, args: [{ olderThanMs: 0 }] });
    await env.herald.events.fanOutResult('evt_refan', tenantId);
    return [{ name: 'refanEvents.one-unfinished', workflowId }];
  },
  // Recovery of a dead and a skipped delivery.
  async (env) => {
    env.setScript((i) => ({ status: i === 0 ? 400 : 200 }));
    const tenantId = 'recovery';
    const since = Date.now() - 1000;
    const { webhook } = await env.herald.webhooks.create({ url: env.url, tenantId, eventTypes: ['order.*'] });
    const dead = await env.herald.deliveries.deliver({ webhookId: webhook.id, eventId: 'evt_recovery_dead', eventType: 'order.created', payload: {} });
    await deliveryResult(env.herald.deliveries.handle(dead.workflowId));
    await env.herald.webhooks.disable(webhook.id);
    const skipped = await env.herald.events.publish({ id: 'evt_recovery_skipped', type: 'order.paid', payload: {}, tenantId });
    await env.herald.events.fanOutResult(skipped.eventId, tenantId);
    await env.herald.webhooks.enable(webhook.id);
    const job = await env.herald.recover(webhook.id, { since });
    await job.result();
    return [{ name: 'recoverWebhook.dead-and-skipped', workflowId: job.workflowId, runId: job.runId }];
  },
  // Retention over an old delivered row.
  async (env) => {
    const old = Date.now() - 10 * 24 * 3600 * 1000;
    await env.store.update(heraldDeliveries.name, { updated_at: old }, { where: { event_id: 'evt_success' }, multi: true });
    const workflowId = 'retention-sweep';
    await env.temporal.workflow.execute(sweepRetention, {
      taskQueue: TASK_QUEUE,
      workflowId,
      args: [{ deliveredMaxAgeMs: 7 * 24 * 3600 * 1000, deadMaxAgeMs: 30 * 24 * 3600 * 1000 }],
    });
    return [{ name: 'sweepRetention.hourly', workflowId }];
  },
];

async function main(): Promise<void> {
  const outDir = path.join(projectRoot(), 'test', 'histories');
  mkdirSync(outDir, { recursive: true });
  const binary = await resolveTemporalBinary('cli', { allowSdkDownload: false });
  if (binary.route === 'sdk-download') throw new Error('recording needs a local Temporal CLI');
  const cli = binary.command;
  const server = await startDevServer({ binary });
  let script: Script = ok;
  let count = 0;
  const receiver = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const answer = script(count++);
      res.writeHead(answer.status, answer.headers);
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const store = await openEngine('memory:');
  // A throwaway key: nothing outlives this run.
  const box = createSecretBox(randomBytes(32));
  const connection = await Connection.connect({ address: server.address });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  try {
    const temporal = new Client({ connection });
    const worker = await createWorker({
      connection: nativeConnection,
      namespace: 'default',
      taskQueue: TASK_QUEUE,
      deps: {
        store,
        box,
        starter: { temporal, taskQueue: TASK_QUEUE, searchAttributes: true },
        dispatcher: createGuardedDispatcher({ allow: parseEgressAllowList('127.0.0.1') }),
        clock: Date.now,
        random: () => 0.5,
        logger: pino({ level: 'silent' }),
        userAgent: 'Herald/record-histories',
      },
    });
    const herald = new HeraldClient({ temporal, store, box, taskQueue: TASK_QUEUE });
    const env: Env = {
      herald,
      temporal,
      store,
      url,
      setScript: (s) => {
        script = s;
        count = 0;
      },
    };
    await worker.runUntil(async () => {
      for (const scenario of SCENARIOS) {
        for (const recording of await scenario(env)) {
          const file = path.join(outDir, `${recording.name}.json`);
          // The CLI writes the proto-JSON form the SDK's replayer reads.
          const args = ['workflow', 'show', '--address', server.address, '--workflow-id', recording.workflowId, '--output', 'json'];
          if (recording.runId) args.push('--run-id', recording.runId);
          const { stdout } = await run(cli, args, { maxBuffer: 64 << 20 });
          writeFileSync(file, JSON.stringify(JSON.parse(stdout), null, 1) + '\n');
          console.log(`${recording.name} → ${path.relative(projectRoot(), file)}`);
        }
      }
    });
  } finally {
    await nativeConnection.close();
    await connection.close();
    await store.close();
    receiver.close();
    await server.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
