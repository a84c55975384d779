import { createRequire } from 'node:module';
import path from 'node:path';
import { projectRoot } from '../embedded/project-root.js';

/**
 * The two prebuilt workflow bundles `npm run build` writes (git-ignored): `plain`, and `traced` with
 * OpenTelemetry's workflow interceptors compiled in. A prebuilt bundle cannot take interceptor modules at worker
 * start, so tracing picks its bundle; the workflow code in both is the same, and histories replay on either.
 */
export type WorkflowBundleKind = 'plain' | 'traced';

/** Where `npm run build` writes a prebuilt workflow bundle, resolved from the project root. */
export function workflowBundlePath(kind: WorkflowBundleKind = 'plain'): string {
  return path.join(projectRoot(), 'dist', kind === 'plain' ? 'workflow-bundle.js' : 'workflow-bundle-traced.js');
}

/**
 * The workflow interceptor modules a bundle is built with (`bundleWorkflowCode`'s `workflowInterceptorModules`,
 * the worker's `interceptors.workflowModules`): none for `plain`; for `traced`, the one that opens a
 * RunWorkflow span from the start's trace context and a StartActivity span (regular and local) for each activity.
 */
export function workflowInterceptorModules(kind: WorkflowBundleKind): string[] {
  if (kind === 'plain') return [];
  return [createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')];
}
