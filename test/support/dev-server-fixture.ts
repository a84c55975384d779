import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker, WorkerOptions } from '@temporalio/worker';
import { afterAll, beforeAll } from 'vitest';
import type { ActivityDeps } from '../../src/activities/create-activities.js';
import { HeraldClient, type HeraldClientOptions } from '../../src/client/herald-client.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { openEngine } from '../../src/store/open-engine.js';
import { freePort } from '../../src/embedded/child-process.js';
import type { RunningDevServer } from '../../src/embedded/temporal-dev-server.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { TEST_BOX, testActivityDeps, uniqueId } from './deps.js';
import { startReceiver, type Receiver, type Responder } from './receiver.js';
import { startDevTemporal, type TemporalForTests } from './temporal.js';

/**
 * What a dev-server test file shares: one real Temporal dev server and one SQLite delivery table for the file,
 * with workers, clients and loopback receivers made on demand and all stopped when the file ends. Call it at the
 * top of a `describe`; it registers the beforeAll/afterAll hooks itself.
 */
export interface DevServerFixture {
  readonly temporal: TemporalForTests & { server: RunningDevServer };
  readonly store: DataEngine;
  /** A worker on `taskQueue` (default: a fresh one) over the test activity deps; not running yet. */
  worker(opts?: WorkerRequest): Promise<{ worker: Worker; taskQueue: string }>;
  /** Like `worker`, but already running until the file ends. */
  runningWorker(opts?: WorkerRequest): Promise<{ worker: Worker; taskQueue: string }>;
  /** An admin HeraldClient on the fixture's server and store. */
  client(opts: Omit<HeraldClientOptions, 'temporal' | 'store' | 'box'>): HeraldClient;
  /** A receiver on 127.0.0.1, closed by `closeReceivers()` or when the file ends. */
  receiver(respond?: Responder): Promise<Receiver>;
  closeReceivers(): Promise<void>;
}

export interface WorkerRequest {
  taskQueue?: string;
  /** Replaces test activity deps (the clock, metrics…). */
  deps?: Partial<ActivityDeps>;
  overrides?: Partial<WorkerOptions>;
}

/** `webUi`: also serve the Temporal Web UI (on a free port; `temporal.server.uiUrl`). */
export function useDevServerFixture(name: string, opts: { webUi?: boolean } = {}): DevServerFixture {
  let dir = '';
  let temporal: (TemporalForTests & { server: RunningDevServer }) | undefined;
  let store: DataEngine | undefined;
  const receivers: Receiver[] = [];
  const running: { worker: Worker; run: Promise<void> }[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), `herald-${name}-`));
    temporal = await startDevTemporal(opts.webUi ? { uiPort: await freePort() } : {});
    store = await openEngine(`sqlite:${path.join(dir, 'herald.db')}`);
  });

  afterAll(async () => {
    for (const { worker } of running) if (worker.getState() === 'RUNNING') worker.shutdown();
    await Promise.all(running.map(({ run }) => run.catch(() => undefined)));
    await fixture.closeReceivers();
    await store?.close();
    await temporal?.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the dev-server fixture has no ${what} yet: use it inside a test or hook`);
    return value;
  };

  const fixture: DevServerFixture = {
    get temporal() {
      return ready(temporal, 'Temporal server');
    },
    get store() {
      return ready(store, 'store');
    },
    async worker(opts = {}) {
      const taskQueue = opts.taskQueue ?? uniqueId(`${name}-`);
      const { env } = fixture.temporal;
      const worker = await createWorker({
        connection: env.nativeConnection,
        namespace: 'default',
        taskQueue,
        deps: testActivityDeps(fixture.store, { temporal: env.client, taskQueue, ...opts.deps }),
        ...(opts.overrides ? { overrides: opts.overrides } : {}),
      });
      return { worker, taskQueue };
    },
    async runningWorker(opts = {}) {
      const started = await fixture.worker(opts);
      running.push({ worker: started.worker, run: started.worker.run() });
      return started;
    },
    client: (opts) => new HeraldClient({ temporal: fixture.temporal.env.client, store: fixture.store, box: TEST_BOX, ...opts }),
    async receiver(respond) {
      const receiver = await startReceiver(respond ? { respond } : {});
      receivers.push(receiver);
      return receiver;
    },
    async closeReceivers() {
      await Promise.all(receivers.splice(0).map((r) => r.close()));
    },
  };
  return fixture;
}
