import { existsSync } from 'node:fs';
import { type NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/create-activities.js';
import { DEFAULT_SHUTDOWN_GRACE_MS } from '../config/defaults.js';
import type { Tracing } from '../telemetry/active-tracing.js';
import { workflowBundlePath } from './workflow-bundle.js';

const MAX_CACHED_WORKFLOWS = 100;

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** HERALD_SHUTDOWN_GRACE_MS: how long `shutdown()` lets running activities finish before cancelling them. */
  shutdownGraceMs?: number;
  deps: ActivityDeps;
  /**
   * Tracing's worker pieces (`startTracing(...).worker`): the traced workflow bundle, activity spans and the
   * workflow span sink. Without it the worker runs the plain bundle and registers nothing.
   */
  tracing?: Tracing['worker'];
  /** Extra worker options (tests force replay with maxCachedWorkflows: 0, tune concurrency…). */
  overrides?: Partial<WorkerOptions>;
}

/**
 * The Herald worker: the prebuilt workflow bundle (built by `npm run build`) and the activities made from
 * injected dependencies. Shutdown: `worker.shutdown()` stops polling, lets running activities finish within
 * `shutdownGraceTime`, then cancels them so Temporal retries them elsewhere.
 */
export async function createWorker(opts: CreateWorkerOptions): Promise<Worker> {
  const kind = opts.tracing ? 'traced' : 'plain';
  const codePath = workflowBundlePath(kind);
  if (!existsSync(codePath)) {
    throw new Error(`the workflow bundle ${codePath} is missing: run \`npm run build\` first`);
  }
  return await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowBundle: { codePath },
    activities: createActivities(opts.deps),
    ...(opts.tracing
      ? {
          // The workflow interceptors are compiled into the traced bundle (workflowInterceptorModules): a
          // worker given a prebuilt bundle ignores interceptors.workflowModules, and warns if any are set.
          interceptors: opts.tracing.interceptors,
          sinks: opts.tracing.sinks,
        }
      : {}),
    shutdownGraceTime: opts.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS,
    // The SDK sizes the cache from the heap (thousands of workflows); with thousands of deliveries waiting for
    // retries that kept the worker above 1 GiB (bench). A healthy delivery finishes in its first workflow task,
    // and a retrying one wakes rarely and replays a history of a dozen events, so a small cache costs little.
    maxCachedWorkflows: MAX_CACHED_WORKFLOWS,
    ...opts.overrides,
  });
}
