/**
 * Beyond the plugin (whose bus is in memory and fire-and-forget): a data change whose hook ran is never lost
 * when Temporal is unreachable. The Temporal dev server (SQLite file, fixed port) is stopped; the app writes
 * 100 records through its real ObjectQL engine (driver-sql on SQLite) — every write returns, and its event is
 * stored in the app's database; the server comes back; Herald's `herald-refan` Schedule fans the stored events
 * out; the receiver gets 100 signed deliveries, each record exactly once.
 *
 * The worker runs as `herald worker` would beside the app (here in-process, recreated after the restart the
 * way a supervisor restarts a worker whose server went away).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { ObjectQL } from '@objectstack/objectql';
import { pino } from 'pino';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/embedded/child-process.js';
import { resolveTemporalBinary } from '../../src/embedded/temporal-binaries.js';
import { startDevServer, type RunningDevServer } from '../../src/embedded/temporal-dev-server.js';
import { attachHerald, type HeraldInObjectStack } from '../../src/objectstack/index.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { ensureRefanSchedule, REFAN_SCHEDULE_ID } from '../../src/worker/refan-schedule.js';
import { TEST_BOX, testActivityDeps, uniqueId } from '../support/deps.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { bootObjectQL } from './objectql-support.js';

const RECORDS = 100;
const ORDER = { name: 'shop_order', label: 'Order', fields: { name: { type: 'text', label: 'Name' } } };

describe('a Temporal outage while the app writes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-os-outage-'));
  const taskQueue = uniqueId('tq-outage-');
  let binary: Awaited<ReturnType<typeof resolveTemporalBinary>>;
  let port: number;
  let server: RunningDevServer | undefined;
  let connection: Connection;
  let temporal: Client;
  let ql: ObjectQL;
  let app: HeraldInObjectStack;
  let receiver: Receiver;
  let worker: { worker: Worker; run: Promise<void>; connection: NativeConnection } | undefined;

  const startServer = async () => {
    server = await startDevServer({ binary, dbFile: join(dir, 'temporal.db'), port });
  };

  async function startWorker() {
    const native = await NativeConnection.connect({ address: `127.0.0.1:${port}` });
    const w = await createWorker({ connection: native, namespace: 'default', taskQueue, deps: testActivityDeps(app.engine, { temporal, taskQueue }) });
    worker = { worker: w, run: w.run(), connection: native };
  }

  async function stopWorker() {
    if (!worker) return;
    if (worker.worker.getState() === 'RUNNING') worker.worker.shutdown();
    await worker.run.catch(() => undefined);
    await worker.connection.close().catch(() => undefined);
    worker = undefined;
  }

  beforeAll(async () => {
    binary = await resolveTemporalBinary('cli', { allowSdkDownload: false });
    port = await freePort('127.0.0.1');
    await startServer();
    connection = await Connection.connect({ address: `127.0.0.1:${port}` });
    temporal = new Client({ connection, namespace: 'default' });
    receiver = await startReceiver();
    ql = await bootObjectQL({ kind: 'sqlite', filename: join(dir, 'app.db') });
    ql.registry.registerObject(ORDER as never, 'shop');
    await ql.syncSchemas();
    app = await attachHerald(ql as never, { temporal, box: TEST_BOX, taskQueue, logger: pino({ level: 'silent' }) });
    await startWorker();
    // The schedule as the worker keeps it, on a short cadence for the test: every 2 s, events older than 1 s.
    await ensureRefanSchedule(temporal, { taskQueue, refan: { intervalMs: 2_000, olderThanMs: 1_000 } });
  }, 180_000);

  afterAll(async () => {
    await temporal?.schedule.getHandle(REFAN_SCHEDULE_ID).delete().catch(() => undefined);
    await stopWorker();
    await app?.close();
    await ql?.destroy();
    await receiver?.close();
    await connection?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`delivers all ${RECORDS} records written while Temporal was down, each exactly once`, async () => {
    const { webhook, secret } = await app.herald.webhooks.create({ url: receiver.url, eventTypes: [`${ORDER.name}.create`] });
    expect(webhook.active).toBe(true);

    // Temporal goes away: the worker stops with it, the app keeps writing.
    await stopWorker();
    await server!.stop();
    server = undefined;
    const ids = Array.from({ length: RECORDS }, (_, i) => `r${String(i).padStart(3, '0')}`);
    for (const id of ids) await ql.insert(ORDER.name, { id, name: `record ${id}` });

    // Every write returned with its event stored in the app's database, waiting for its fan-out.
    const stored = await app.engine.find('herald_events', { where: { event_type: `${ORDER.name}.create` }, fields: ['event_id', 'status'] });
    expect(stored).toHaveLength(RECORDS);
    expect(stored.every((e) => e['status'] === 'fanning_out')).toBe(true);
    expect(receiver.requests).toHaveLength(0);

    // Temporal comes back (same SQLite file and port: the schedule survives); the worker is restarted.
    await startServer();
    await startWorker();
    const requests = await receiver.waitForRequests(RECORDS, 150_000);
    // Let any duplicate arrive before counting: fan-outs that were retrying in the client, and the schedule, race.
    await new Promise((r) => setTimeout(r, 5_000));
    expect(requests).toHaveLength(RECORDS);
    const verifier = new StandardWebhook(secret);
    const recordIds = requests.map((r) => {
      verifier.verify(r.body, r.headers as Record<string, string>);
      return (JSON.parse(r.body) as { data: { recordId: string } }).data.recordId;
    });
    expect(recordIds.sort()).toEqual(ids);
    expect(new Set(requests.map((r) => r.headers['webhook-id'])).size).toBe(RECORDS);
    const fannedOut = await app.engine.count('herald_events', { where: { event_type: `${ORDER.name}.create`, status: 'fanned_out' } });
    expect(fannedOut).toBe(RECORDS);
  }, 300_000);
});
