import { existsSync } from 'node:fs';
import { type NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/create-activities.js';
import { DEFAULT_SHUTDOWN_GRACE_MS } from '../config/defaults.js';
import { workflowBundlePath } from './workflow-bundle.js';

const MAX_CACHED_WORKFLOWS = 100;

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** HERALD_SHUTDOWN_GRACE_MS: how long `shutdown()` lets running activities finish before cancelling them. */
  shutdownGraceMs?: number;
  deps: ActivityDeps;
  /** Extra worker options (tests force replay with maxCachedWorkflows: 0, tune concurrency…). */
  overrides?: Partial<WorkerOptions>;
}

/**
 * The Herald worker: the prebuilt workflow bundle (built by `npm run build`) and the activities made from
 * injected dependencies. Shutdown: `worker.shutdown()` stops polling, lets running activities finish within
 * `shutdownGraceTime`, then cancels them so Temporal retries them elsewhere.
 */
export async function createWorker(opts: CreateWorkerOptions): Promise<Worker> {
  const codePath = workflowBundlePath();
  if (!existsSync(codePath)) {
    throw new Error(`the workflow bundle ${codePath} is missing: run \`npm run build\` first`);
  }
  return await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowBundle: { codePath },
    activities: createActivities(opts.deps),
    shutdownGraceTime: opts.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS,
    // The SDK sizes the cache from the heap (thousands of workflows); with thousands of deliveries waiting for
    // retries that kept the worker above 1 GiB (bench). A healthy delivery finishes in its first workflow task,
    // and a retrying one wakes rarely and replays a history of a dozen events, so a small cache costs little.
    maxCachedWorkflows: MAX_CACHED_WORKFLOWS,
    ...opts.overrides,
  });
}
