/**
 * A Herald worker in its own process, so a test can kill it hard (SIGKILL) in the middle of an attempt:
 * no shutdown, no activity cancellation, no final heartbeat. Run with
 *   node --import tsx test/support/worker-process.ts '{"address","taskQueue","database"}'
 * It prints `ready` once the worker runs. It shares the delivery table with the test through a SQLite file.
 */
import { NativeConnection } from '@temporalio/worker';
import { openEngine } from '../../src/store/open-engine.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { testActivityDeps } from './deps.js';

interface WorkerProcessConfig {
  address: string;
  taskQueue: string;
  /** A database URL both processes can open, e.g. `sqlite:/tmp/…/herald.db`. */
  database: string;
}

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerProcessConfig;
const store = await openEngine(config.database);
const connection = await NativeConnection.connect({ address: config.address });
// No workflow cache, so no sticky queue: the next worker gets the workflow's tasks at once.
const worker = await createWorker({ connection, namespace: 'default', taskQueue: config.taskQueue, deps: testActivityDeps(store), overrides: { maxCachedWorkflows: 0 } });
const running = worker.run();
process.stdout.write('ready\n');
await running;
