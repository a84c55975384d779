/**
 * Records the histories the replay test checks every workflow change against: representative delivery
 * scenarios run on a real dev server (started here, in memory) with a receiver on 127.0.0.1, written as
 * JSON to test/histories/<workflow type>.<scenario>.json.
 *
 *   npm run build && node dist/scripts/record-histories.js
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { NativeConnection } from '@temporalio/worker';
import { pino } from 'pino';
import { createGuardedDispatcher, parseEgressAllowList } from '../src/activities/egress-guard.js';
import { HeraldClient } from '../src/client/herald-client.js';
import { projectRoot } from '../src/embedded/project-root.js';
import { resolveTemporalBinary } from '../src/embedded/temporal-binaries.js';
import { startDevServer } from '../src/embedded/temporal-dev-server.js';
import { openEngine } from '../src/store/open-engine.js';
import { createSecretBox } from '../src/store/secret-box.js';
import { randomBytes } from 'node:crypto';
import { createWorker } from '../src/worker/create-worker.js';

const run = promisify(execFile);

type Script = (index: number) => number;

interface Scenario {
  name: string;
  /** Status codes the receiver answers, by request index. */
  respond: Script;
  webhook?: { retrySchedule?: number[] };
  /** Act on the delivery after it started (cancel, redeliver…). */
  then?: (herald: HeraldClient, deliveryId: string) => Promise<void>;
}

const SCENARIOS: Scenario[] = [
  { name: 'success', respond: () => 200 },
  { name: 'retry-then-success', respond: (i) => (i < 2 ? 503 : 200), webhook: { retrySchedule: [0, 1, 1] } },
  { name: 'dead-after-schedule', respond: () => 500, webhook: { retrySchedule: [0, 1, 1] } },
  { name: 'dead-on-4xx', respond: () => 400 },
  { name: 'gone-disables-webhook', respond: () => 410 },
  {
    name: 'cancelled',
    respond: () => 503,
    webhook: { retrySchedule: [0, 3600] },
    then: async (herald, id) => {
      for (;;) {
        const row = await herald.deliveries.get(id).catch(() => undefined);
        if (row && row.attempts >= 1 && row.status === 'pending') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await herald.deliveries.cancel(id);
    },
  },
];

async function main(): Promise<void> {
  const outDir = path.join(projectRoot(), 'test', 'histories');
  mkdirSync(outDir, { recursive: true });
  const binary = await resolveTemporalBinary('cli', { allowSdkDownload: false });
  if (binary.route === 'sdk-download') throw new Error('recording needs a local Temporal CLI');
  const cli = binary.command;
  const server = await startDevServer({ binary });
  let script: Script = () => 200;
  let count = 0;
  const receiver = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(script(count++));
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
    const worker = await createWorker({
      connection: nativeConnection,
      namespace: 'default',
      taskQueue: 'record-histories',
      deps: {
        store,
        box,
        starter: { temporal: new Client({ connection }), taskQueue: 'record-histories', searchAttributes: true },
        dispatcher: createGuardedDispatcher({ allow: parseEgressAllowList('127.0.0.1') }),
        clock: Date.now,
        random: () => 0.5,
        logger: pino({ level: 'silent' }),
        userAgent: 'Herald/record-histories',
      },
    });
    const herald = new HeraldClient({ temporal: new Client({ connection }), store, box, taskQueue: 'record-histories' });
    await worker.runUntil(async () => {
      for (const scenario of SCENARIOS) {
        script = scenario.respond;
        count = 0;
        const { webhook } = await herald.webhooks.create({ url, retryJitter: 0, ...scenario.webhook });
        const started = await herald.deliveries.deliver({ webhookId: webhook.id, eventId: `evt_${scenario.name}`, eventType: 'order.created', payload: { scenario: scenario.name } });
        await scenario.then?.(herald, started.deliveryId);
        const handle = herald.deliveries.handle(started.workflowId);
        const result = await handle.result();
        const file = path.join(outDir, `deliverWebhook.${scenario.name}.json`);
        // The CLI writes the proto-JSON form the SDK's replayer reads.
        const { stdout } = await run(cli, ['workflow', 'show', '--address', server.address, '--workflow-id', handle.workflowId, '--output', 'json'], { maxBuffer: 64 << 20 });
        writeFileSync(file, JSON.stringify(JSON.parse(stdout), null, 1) + '\n');
        console.log(`${scenario.name}: ${result.status} after ${result.attempts} attempt(s) → ${path.relative(projectRoot(), file)}`);
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
