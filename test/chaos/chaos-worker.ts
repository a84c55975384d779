/**
 * A Herald worker in its own process, for the chaos run to SIGKILL at random moments. Run with
 *   node --import tsx test/chaos/chaos-worker.ts '{"address","taskQueue","database"}'
 * Unlike test/support/worker-process.ts it also carries a Temporal client, so fan-out activities can start
 * deliveries, and it keeps the worker's default workflow cache (sticky queues), as production does.
 * Prints `ready` once the worker polls. Exits 0 after a graceful shutdown (SIGTERM / SIGINT).
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { DataEngine, UpdateOptions } from '../../src/store/data-engine.js';
import { openEngine } from '../../src/store/open-engine.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { testActivityDeps } from '../support/deps.js';

interface ChaosWorkerConfig {
  address: string;
  taskQueue: string;
  /** A database URL both processes can open: `sqlite:/tmp/…/herald.db` or `postgres://…`. */
  database: string;
  /**
   * Fault hook for repro-lost-completion.ts: after the send activity's write that marks a delivery `success`
   * commits, print `committed <delivery id>` and never return, so the parent can kill -9 this process in exactly
   * the window between the table write and the activity's completion reaching Temporal.
   */
  stallAfterSuccessWrite?: boolean;
}

const config = JSON.parse(process.argv[2] ?? '{}') as ChaosWorkerConfig;
// Where start-up time goes (stderr, which the chaos supervisor keeps): restarts are part of the run.
const marks: string[] = [`node+imports ${Math.round(process.uptime() * 1000)}ms`];
const mark = (name: string) => marks.push(`${name} ${Math.round(process.uptime() * 1000)}ms`);
const opened = await openEngine(config.database);
const store: DataEngine = config.stallAfterSuccessWrite
  ? new Proxy(opened, {
      get(target, prop) {
        if (prop !== 'update') {
          const value = Reflect.get(target, prop) as unknown;
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        }
        return async (object: string, data: Record<string, unknown>, options?: UpdateOptions) => {
          const changed = await target.update(object, data, options);
          if (object === 'herald_deliveries' && data['status'] === 'success' && changed > 0) {
            process.stdout.write(`committed ${String(options?.where?.['id'])}\n`);
            return await new Promise<number>(() => undefined);
          }
          return changed;
        };
      },
    })
  : opened;
mark('database');
const connection = await NativeConnection.connect({ address: config.address });
const clientConnection = await Connection.connect({ address: config.address });
const temporal = new Client({ connection: clientConnection, namespace: 'default' });
mark('temporal');
const worker = await createWorker({
  connection,
  namespace: 'default',
  taskQueue: config.taskQueue,
  deps: testActivityDeps(store, { temporal, taskQueue: config.taskQueue }),
});
mark('worker');
const running = worker.run();
process.stderr.write(`start-up: ${marks.join(', ')}\n`);
process.stdout.write('ready\n');
try {
  await running;
  process.stdout.write('stopped\n');
} catch (err) {
  process.stderr.write(`worker stopped with an error: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exitCode = 1;
}
await Promise.allSettled([opened.close(), clientConnection.close(), connection.close()]);
process.exit();
