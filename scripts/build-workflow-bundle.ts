/**
 * Bundles the workflow code once at build time (`dist/workflow-bundle.js`, and `dist/workflow-bundle-traced.js`
 * with OpenTelemetry's workflow interceptors), so workers start fast and tests
 * and replay use exactly the code production runs.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { projectRoot } from '../src/embedded/project-root.js';
import { workflowBundlePath, workflowInterceptorModules } from '../src/worker/workflow-bundle.js';

async function main(): Promise<void> {
  const workflowsPath = path.join(projectRoot(), 'dist', 'src', 'workflows', 'index.js');
  for (const kind of ['plain', 'traced'] as const) {
    // Warnings only: webpack's module listing is noise in every build.
    const { code } = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules: workflowInterceptorModules(kind), logger: new DefaultLogger('WARN') });
    writeFileSync(workflowBundlePath(kind), code);
    console.log(`workflow bundle: ${path.relative(projectRoot(), workflowBundlePath(kind))} (${Math.round(code.length / 1024)} KiB)`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
