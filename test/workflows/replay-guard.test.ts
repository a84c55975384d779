import { readFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/embedded/project-root.js';

// The replay test is only worth something if it can fail: a workflow whose activity calls are reordered must
// be rejected when replaying a recorded history.
describe('the replay guard', () => {
  it('rejects a workflow with its activity calls reordered', async () => {
    const { code } = await bundleWorkflowCode({
      workflowsPath: path.join(projectRoot(), 'test', 'fixtures', 'reordered-workflow', 'index.ts'),
      logger: new DefaultLogger('WARN'),
    });
    const history = JSON.parse(readFileSync(path.join(projectRoot(), 'test', 'histories', 'deliverWebhook.success.json'), 'utf8')) as object;
    await expect(Worker.runReplayHistory({ workflowBundle: { code } }, history, 'reordered')).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});
