import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/embedded/project-root.js';
import { workflowBundlePath } from '../../src/worker/workflow-bundle.js';

// Every recorded history must replay on the current workflow code: a change that would break running
// deliveries fails here (it needs patched() or a new workflow type). Recorded by scripts/record-histories.ts.
const dir = path.join(projectRoot(), 'test', 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

describe('replay of recorded histories', () => {
  it('has recorded histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
  });

  it.each(files)('%s replays deterministically on the current bundle', async (file) => {
    const history = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as object;
    // Throws DeterminismViolationError (or ReplayError) when the code no longer matches the history.
    await Worker.runReplayHistory({ workflowBundle: { codePath: workflowBundlePath() } }, history, file);
  });
});
