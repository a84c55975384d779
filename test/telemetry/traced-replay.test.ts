import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/embedded/project-root.js';
import { workflowBundlePath } from '../../src/worker/workflow-bundle.js';

// Turning tracing on swaps in the traced bundle under workflows that started without it: every recorded history
// (all recorded untraced) must replay on it too. The reverse, a traced history on the plain bundle, is checked in
// tracing.dev-server.test.ts on a history recorded there.
const dir = path.join(projectRoot(), 'test', 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

describe('replay of recorded histories on the traced bundle', () => {
  it('has recorded histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
  });

  it.each(files)('%s replays deterministically with the OpenTelemetry workflow interceptors', async (file) => {
    const history = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as object;
    const exported: unknown[] = [];
    await Worker.runReplayHistory(
      {
        workflowBundle: { codePath: workflowBundlePath('traced') },
        // The interceptors' span sink: registered as a traced worker has it, and never called during replay.
        sinks: { exporter: { export: { fn: (_info: unknown, spans: unknown[]) => void exported.push(...spans) } } },
      },
      history,
      file,
    );
    expect(exported).toEqual([]);
  });
});
