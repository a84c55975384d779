/**
 * Reproduction of what the chaos run's history audit shows: while the delivery database is unavailable, every
 * send attempt fails before it sends (it cannot read the webhook or record its start), and each of those failures
 * spends one of the webhook's attempts, on Temporal's own backoff (5 s, 10 s, 20 s…), not Herald's schedule. A
 * database outage longer than that backoff dead-letters deliveries whose receiver is healthy.
 *
 *   node --import tsx test/chaos/repro-db-outage-spends-attempts.ts
 *
 * Steps: Postgres is the delivery DB; a worker process delivers one event to a receiver that answers the first
 * attempt 503 and every later one 200; schedule [0, 3, 3] (three attempts); as soon as attempt 1 has been
 * answered and recorded, Postgres is stopped for 25 s, then started again.
 * Expected (design: "retrying for days"): the delivery succeeds once the database is back (the receiver is up).
 * Exits 1 when it ends dead instead. Everything stays on 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { HeraldClient } from '../../src/client/herald-client.js';
import { resolveTemporalBinary } from '../../src/embedded/temporal-binaries.js';
import { startDevServer } from '../../src/embedded/temporal-dev-server.js';
import { getDeliveryWithAttempts } from '../../src/store/deliveries.js';
import { openEngine } from '../../src/store/open-engine.js';
import { TEST_BOX, uniqueId } from '../support/deps.js';
import { startReceiver } from '../support/receiver.js';
import { startRestartablePostgres } from './restartable-postgres.js';

const WORKER = fileURLToPath(new URL('./chaos-worker.ts', import.meta.url));
const OUTAGE_MS = 25_000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref())]);
}

const binary = await resolveTemporalBinary('cli', { allowSdkDownload: false });
const server = await startDevServer({ binary });
const postgres = await startRestartablePostgres();
const store = await openEngine(postgres.url);
const connection = await Connection.connect({ address: server.address });
const temporal = new Client({ connection });
const rx = await startReceiver();
rx.respond = (_req, index) => (index === 0 ? { status: 503, body: 'busy' } : { status: 200, body: 'ok' });
let worker: ChildProcess | undefined;
let exitCode = 2;
try {
  const taskQueue = uniqueId('repro-');
  const herald = new HeraldClient({ temporal, store, box: TEST_BOX, taskQueue });
  const { webhook } = await herald.webhooks.create({ url: rx.url, retrySchedule: [3, 3], retryJitter: 0, timeoutMs: 1000 });
  worker = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify({ address: server.address, taskQueue, database: postgres.url })], { stdio: ['ignore', 'pipe', 'ignore'] });
  await withTimeout(new Promise<void>((resolve) => worker!.stdout?.on('data', (c: Buffer) => c.toString().includes('ready') && resolve())), 60_000, 'worker start');

  const started = await herald.deliveries.deliver({ webhookId: webhook.id, eventId: uniqueId('evt_'), eventType: 'order.created', payload: { n: 1 } });
  // Attempt 1 answered 503 and recorded (row back to pending, waiting 3 s for attempt 2): take the database away.
  for (let i = 0; i < 200; i++) {
    const row = await getDeliveryWithAttempts(store, started.deliveryId).catch(() => undefined);
    if (row?.status === 'pending' && row.attempts === 1) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const downAt = Date.now();
  await postgres.stop();
  console.log(`attempt 1 answered 503; Postgres stopped for ${OUTAGE_MS / 1000}s`);
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  await postgres.start();
  console.log(`Postgres back after ${((Date.now() - downAt) / 1000).toFixed(1)}s`);

  const result = await withTimeout(herald.deliveries.handle(started.workflowId).result(), 120_000, 'the workflow result');
  const row = await getDeliveryWithAttempts(store, started.deliveryId);
  const history = await herald.deliveries.handle(started.workflowId).fetchHistory();
  const startedEvents = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
  const temporalAttempts = Number(startedEvents.at(-1)?.activityTaskStartedEventAttributes?.attempt ?? 0);

  console.log(`receiver: ${rx.requests.length} request(s)`);
  console.log(`Temporal: result ${JSON.stringify(result)}; send attempts in history: ${temporalAttempts}`);
  console.log(`table:    ${JSON.stringify({ status: row.status, attempts: row.attempts, responseCode: row.responseCode, error: row.error })}`);
  if (result.status === 'success') {
    console.log('OK: the delivery survived the database outage');
    exitCode = 0;
  } else {
    console.log(`BUG: the receiver was up, yet the delivery ends ${result.status} after ${rx.requests.length} HTTP attempt(s): the outage spent the other ${temporalAttempts - rx.requests.length} attempt(s)`);
    exitCode = 1;
  }
} finally {
  if (worker && worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
  await rx.close();
  await connection.close();
  await store.close().catch(() => undefined);
  await postgres.destroy();
  await server.stop();
}
process.exit(exitCode);
