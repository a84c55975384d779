/**
 * Setting up a chaos run: the real servers and receivers it runs against, the webhooks it registers, and
 * every delivery it therefore expects, by id, before anything is published.
 */
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { HeraldClient } from '../../src/client/herald-client.js';
import { deliveryId as deliveryIdOf, deliveryWorkflowId } from '../../src/delivery/ids.js';
import { freePort } from '../../src/embedded/child-process.js';
import { resolveTemporalBinary, type ResolvedBinary } from '../../src/embedded/temporal-binaries.js';
import { startDevServer, type RunningDevServer } from '../../src/embedded/temporal-dev-server.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import type { Webhook } from '../../src/store/webhooks.js';
import { openEngine } from '../../src/store/open-engine.js';
import { TEST_BOX, uniqueId } from '../support/deps.js';
import type { ChaosOptions } from './chaos-options.js';
import {
  startForbiddenReceiver,
  startHugeBodyReceiver,
  startMainReceiver,
  startRedirectReceiver,
  startSilentReceiver,
  type HugeBodyReceiver,
  type MainReceiver,
  type ProbeReceiver,
} from './chaos-receivers.js';
import { startRestartablePostgres, type RestartablePostgres } from './restartable-postgres.js';

export const HUGE_BODY_BYTES = 50 * 1024 * 1024;
/** The only address the workers' egress guard allows; the forbidden receiver lives on another loopback address. */
export const FORBIDDEN_HOST = '127.0.0.2';

/** Functions that undo the setup, run in reverse order when the run ends. */
export type Cleanup = (() => Promise<unknown>)[];

export interface Infrastructure {
  binary: ResolvedBinary;
  temporalPort: number;
  temporalDb: string;
  temporalLog: string;
  /** Replaced when the server-restart fault starts a new one. */
  server: RunningDevServer;
  address: string;
  postgres: RestartablePostgres | undefined;
  database: string;
  store: DataEngine;
  temporal: Client;
  taskQueue: string;
  tenantId: string;
  herald: HeraldClient;
  receivers: { main: MainReceiver; silent: ProbeReceiver; huge: HugeBodyReceiver; forbidden: ProbeReceiver; redirect: ProbeReceiver };
}

/** The Temporal dev server (SQLite file), the delivery database, a client, and the main and probe receivers. */
export async function startInfrastructure(opts: ChaosOptions, dir: string, cleanup: Cleanup): Promise<Infrastructure> {
  const temporalDb = path.join(dir, 'temporal.db');
  const temporalLog = path.join(dir, 'temporal.log');
  const binary = await resolveTemporalBinary('cli', { allowSdkDownload: false });
  const temporalPort = await freePort();
  const server = await startDevServer({ binary, dbFile: temporalDb, port: temporalPort, logFile: temporalLog });
  const address = server.address;
  // Pushed as each thing starts, so a failed start still stops what is running; the server-restart fault
  // replaces `infra.server`, and the cleanup stops whichever server is current.
  let infra: Infrastructure | undefined;
  cleanup.push(() => (infra?.server ?? server).stop());
  let postgres: RestartablePostgres | undefined;
  let database: string;
  if (opts.database === 'postgres') {
    const started = await startRestartablePostgres();
    postgres = started;
    cleanup.push(() => started.destroy());
    database = started.url;
  } else {
    database = `sqlite:${path.join(dir, 'herald.db')}`;
  }
  const store: DataEngine = await openEngine(database);
  cleanup.push(() => store.close());
  const connection = await Connection.connect({ address });
  cleanup.push(() => connection.close());
  const temporal = new Client({ connection, namespace: 'default' });
  const taskQueue = uniqueId('chaos-tq-');
  const tenantId = uniqueId('chaos-');
  const herald = new HeraldClient({ temporal, store, box: TEST_BOX, taskQueue });

  const main: MainReceiver = await startMainReceiver({ failFirstAttemptShare: opts.failFirstAttemptShare, maxDelayMs: 150 });
  const silent: ProbeReceiver = await startSilentReceiver();
  const huge: HugeBodyReceiver = await startHugeBodyReceiver(HUGE_BODY_BYTES);
  const forbidden: ProbeReceiver = await startForbiddenReceiver(FORBIDDEN_HOST);
  const redirect: ProbeReceiver = await startRedirectReceiver(`${forbidden.origin}/redirected`);
  for (const r of [main, silent, huge, forbidden, redirect]) cleanup.push(() => r.close());
  infra = {
    binary, temporalPort, temporalDb, temporalLog, server, address, postgres, database, store, temporal, taskQueue, tenantId, herald,
    receivers: { main, silent, huge, forbidden, redirect },
  };
  return infra;
}

export type Kind = 'main' | 'silent' | 'huge' | 'redirect' | 'refused';
export type ProbeKind = Exclude<Kind, 'main'>;

export interface ChaosWebhooks {
  /** Events published; each fans out to every main webhook. */
  events: number;
  main: { id: string; path: string }[];
  probes: Record<ProbeKind, Webhook>;
}

/** `opts.webhooks` main webhooks on the main receiver (each with its own path and secret), and one per probe. */
export async function createChaosWebhooks(opts: ChaosOptions, infra: Infrastructure): Promise<ChaosWebhooks> {
  const { herald, tenantId, receivers } = infra;
  const { main, silent, huge, redirect, forbidden } = receivers;
  const webhooks = Math.max(1, Math.min(opts.webhooks, opts.deliveries));
  const events = Math.max(1, Math.round(opts.deliveries / webhooks));
  const mainWebhooks: { id: string; path: string }[] = [];
  for (let i = 0; i < webhooks; i++) {
    const hookPath = `/hook/${i}`;
    const { webhook, secret } = await herald.webhooks.create({
      tenantId,
      url: `${main.origin}${hookPath}`,
      eventTypes: ['order.*'],
      retrySchedule: opts.mainSchedule,
      timeoutMs: opts.timeoutMs,
    });
    main.secrets.set(hookPath, secret);
    mainWebhooks.push({ id: webhook.id, path: hookPath });
  }
  const probe = async (kind: ProbeKind, url: string, schedule: number[]) =>
    (await herald.webhooks.create({ tenantId, url, eventTypes: [`probe.${kind}`], retrySchedule: schedule, timeoutMs: opts.timeoutMs })).webhook;
  const probes = {
    silent: await probe('silent', `${silent.origin}/hook`, opts.probeSchedule),
    huge: await probe('huge', `${huge.origin}/hook`, opts.mainSchedule),
    redirect: await probe('redirect', `${redirect.origin}/hook`, opts.probeSchedule),
    refused: await probe('refused', `${forbidden.origin}/direct`, opts.probeSchedule),
  };
  return { events, main: mainWebhooks, probes };
}

export interface Expected {
  kind: Kind;
  deliveryId: string;
  workflowId: string;
  webhookId: string;
  eventId: string;
  path: string;
  payload: unknown;
}

export interface Expectation {
  /** Every delivery the run must end with, by delivery id. */
  expected: Map<string, Expected>;
  eventIds: string[];
  payloads: Map<string, unknown>;
  probeEvents: { kind: ProbeKind; eventId: string }[];
  mainCount: number;
}

/** The deliveries the run will cause: one per (event, main webhook), plus `opts.probes[kind]` per probe webhook. */
export function expectDeliveries(opts: ChaosOptions, hooks: ChaosWebhooks): Expectation {
  const expected = new Map<string, Expected>();
  const runId = uniqueId('');
  const eventIds: string[] = [];
  const payloads = new Map<string, unknown>();
  for (let e = 0; e < hooks.events; e++) {
    const eventId = `evt_chaos_${runId}_${e}`;
    const payload = { order: e, marker: `chaos-${runId}-${e}`, lines: [{ sku: `sku-${e % 7}`, qty: 1 + (e % 3) }] };
    eventIds.push(eventId);
    payloads.set(eventId, payload);
    for (const w of hooks.main) {
      const id = deliveryIdOf(w.id, eventId);
      expected.set(id, { kind: 'main', deliveryId: id, workflowId: deliveryWorkflowId(w.id, eventId), webhookId: w.id, eventId, path: w.path, payload });
    }
  }
  const probeEvents: { kind: ProbeKind; eventId: string }[] = [];
  for (const kind of ['silent', 'huge', 'redirect', 'refused'] as const) {
    for (let i = 0; i < opts.probes[kind]; i++) {
      const eventId = `evt_probe_${kind}_${runId}_${i}`;
      const webhookId = hooks.probes[kind].id;
      const id = deliveryIdOf(webhookId, eventId);
      probeEvents.push({ kind, eventId });
      expected.set(id, { kind, deliveryId: id, workflowId: deliveryWorkflowId(webhookId, eventId), webhookId, eventId, path: '/hook', payload: { probe: kind, i } });
    }
  }
  return { expected, eventIds, payloads, probeEvents, mainCount: hooks.events * hooks.main.length };
}
