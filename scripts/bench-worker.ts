/**
 * One benchmark worker in its own process (so `--workers 2` means two processes, and each one's CPU and
 * memory are its own): either Herald's worker (createWorker, the prebuilt bundle, real deps: the delivery
 * table, the egress-guarded undici Agent with 127.0.0.1 allowed) or the bare baseline worker (the bundle of
 * bench/bare-workflow.ts and one activity that POSTs to the receiver and reports when it answered).
 *
 *   forked by scripts/bench.ts: node dist/scripts/bench-worker.js
 */
import { Client } from '@temporalio/client';
import { activityInfo } from '@temporalio/activity';
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { request } from 'undici';
import { openEngine } from '../src/store/open-engine.js';
import { createSecretBox } from '../src/store/secret-box.js';
import { createWorker } from '../src/worker/create-worker.js';
import { benchActivityDeps } from './bench-activity-deps.js';
import { nowMs, selfUsage, type FromWorker, type ToWorker, type WorkerConfig } from './bench-lib.js';

const send = (m: FromWorker) => process.send?.(m);

// The SDK logs every worker state change at INFO and every failed attempt at WARN (thousands in the isolation run).
Runtime.install({ logger: new DefaultLogger('ERROR') });

let worker: Worker | undefined;
let running: Promise<void> | undefined;
const closers: (() => Promise<void>)[] = [];

async function start(config: WorkerConfig): Promise<void> {
  const connection = await NativeConnection.connect({ address: config.address });
  closers.push(() => connection.close());
  const overrides = (config.overrides ?? {}) as Partial<WorkerOptions>;
  if (config.mode === 'bare') {
    let done: [string, number][] = [];
    const flush = setInterval(() => {
      if (done.length === 0) return;
      send({ type: 'done', items: done });
      done = [];
    }, 50);
    closers.push(async () => clearInterval(flush));
    worker = await Worker.create({
      connection,
      namespace: 'default',
      taskQueue: config.taskQueue,
      workflowBundle: { codePath: config.bundlePath! },
      activities: {
        // One POST, as a delivery makes (no signing, no table): the ceiling is Temporal's, not HTTP's.
        async post(): Promise<void> {
          const response = await request(config.postUrl!, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
          await response.body.dump();
          if (response.statusCode !== 200) throw new Error(`baseline POST answered ${response.statusCode}`);
          done.push([activityInfo().workflowExecution?.workflowId ?? '', nowMs()]);
        },
        async localNoop(): Promise<void> {},
      },
      shutdownGraceTime: '5 seconds',
      ...overrides,
    });
  } else {
    const store = await openEngine(config.database!);
    closers.push(() => store.close());
    worker = await createWorker({
      connection,
      namespace: 'default',
      taskQueue: config.taskQueue,
      // As `herald worker` does: fan-out starts go over the worker's own connection, with eager start.
      deps: benchActivityDeps(store, createSecretBox(Buffer.from(config.boxKeyHex!, 'hex')), { temporal: new Client({ connection }), taskQueue: config.taskQueue, searchAttributes: true, eager: true }),
      overrides: { shutdownGraceTime: '5 seconds', ...overrides },
    });
  }
  running = worker.run();
  running.catch((err: unknown) => send({ type: 'error', message: String(err) }));
}

async function stop(): Promise<void> {
  try {
    if (worker && worker.getState() === 'RUNNING') worker.shutdown();
    await running?.catch(() => undefined);
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    process.exit(0);
  }
}

process.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'start':
      start(m.config).then(
        () => send({ type: 'ready' }),
        (err: unknown) => send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
      );
      break;
    case 'usage':
      send({ type: 'usage', usage: selfUsage() });
      break;
    case 'stop':
      void stop();
      break;
  }
});
process.on('disconnect', () => {
  // The bench died: do not outlive it, even if a graceful stop hangs on a server that is gone.
  setTimeout(() => process.exit(1), 10_000);
  void stop();
});
