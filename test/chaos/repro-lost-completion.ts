/**
 * Deterministic reproduction of a bug the chaos run hits at random: a worker dies (or loses Temporal, or its
 * database connection) after the send activity has written `success` to the delivery table but before the
 * activity's completion reaches Temporal.
 *
 *   node --import tsx test/chaos/repro-lost-completion.ts
 *
 * Steps: a worker process (chaos-worker.ts with `stallAfterSuccessWrite`) delivers one event; the receiver
 * answers 200; right after the row's `success` write commits, the worker prints `committed` and stalls, and this
 * script kill -9s it — exactly the window a random kill can hit. A fresh worker picks the delivery up when
 * Temporal times the attempt out (heartbeat timeout, 10 s) and runs attempt 2.
 *
 * Expected: the delivery ends `success` (the receiver accepted it), table and Temporal agree.
 * Exits 1 and prints what it saw when the bug is present, 0 when it is fixed. Everything stays on 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { HeraldClient } from '../../src/client/herald-client.js';
import { resolveTemporalBinary } from '../../src/embedded/temporal-binaries.js';
import { startDevServer } from '../../src/embedded/temporal-dev-server.js';
import { getDeliveryWithAttempts } from '../../src/store/deliveries.js';
import { openEngine } from '../../src/store/open-engine.js';
import { TEST_BOX, uniqueId } from '../support/deps.js';
import { startReceiver } from '../support/receiver.js';

const WORKER = fileURLToPath(new URL('./chaos-worker.ts', import.meta.url));

function spawnWorker(config: object, onLine: (line: string) => void): { child: ChildProcess; exited: Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      onLine(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
    }
  });
  return { child, exited: new Promise((resolve) => child.once('exit', () => resolve())) };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref())]);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-repro-'));
const database = `sqlite:${path.join(dir, 'herald.db')}`;
const binary = await resolveTemporalBinary('cli', { allowSdkDownload: false });
const server = await startDevServer({ binary });
const store = await openEngine(database);
const connection = await Connection.connect({ address: server.address });
const temporal = new Client({ connection });
const rx = await startReceiver();
const children: ChildProcess[] = [];
let exitCode = 2;
try {
  const taskQueue = uniqueId('repro-');
  const herald = new HeraldClient({ temporal, store, box: TEST_BOX, taskQueue });
  const { webhook } = await herald.webhooks.create({ url: rx.url, retrySchedule: [1, 2, 3], timeoutMs: 1000 });

  let committed!: () => void;
  const committedWrite = new Promise<void>((resolve) => (committed = resolve));
  const first = spawnWorker({ address: server.address, taskQueue, database, stallAfterSuccessWrite: true }, (line) => {
    if (line.startsWith('committed')) committed();
  });
  children.push(first.child);

  const eventId = uniqueId('evt_');
  const started = await herald.deliveries.deliver({ webhookId: webhook.id, eventId, eventType: 'order.created', payload: { n: 1 } });
  await withTimeout(committedWrite, 30_000, 'the success write');
  first.child.kill('SIGKILL');
  await first.exited;
  console.log(`attempt 1: receiver answered 200, the row says ${(await getDeliveryWithAttempts(store, started.deliveryId)).status}; worker killed before the completion reached Temporal`);

  const second = spawnWorker({ address: server.address, taskQueue, database }, () => undefined);
  children.push(second.child);
  const result = await withTimeout(herald.deliveries.handle(started.workflowId).result(), 90_000, 'the workflow result');
  const row = await getDeliveryWithAttempts(store, started.deliveryId);

  console.log(`receiver: ${rx.requests.length} request(s), webhook-id ${rx.requests.map((r) => r.headers['webhook-id']).join(', ')}`);
  console.log(`Temporal result: ${JSON.stringify(result)}`);
  console.log(`table row:       ${JSON.stringify({ status: row.status, attempts: row.attempts, responseCode: row.responseCode, error: row.error })}`);
  console.log(`attempt log:     ${JSON.stringify(row.attemptLog.map((a) => ({ attempt: a.attempt, outcome: a.outcome, code: a.responseCode })))}`);
  const agree = row.status === result.status && row.attempts === result.attempts && row.responseCode === result.responseCode;
  if (result.status === 'success' && agree) {
    console.log('OK: the delivery the receiver accepted ends success, and the table agrees with Temporal');
    exitCode = 0;
  } else {
    console.log(
      `BUG: the receiver accepted the delivery (HTTP 200), yet it ends ${result.status}` +
        `${agree ? '' : `, and the table (${row.status}, ${row.attempts} attempts) disagrees with Temporal (${result.status}, ${result.attempts} attempts)`}`,
    );
    exitCode = 1;
  }
} finally {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await rx.close();
  await connection.close();
  await store.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(exitCode);
