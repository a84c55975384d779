import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureTemporalServer, TEMPORAL_SERVER_GO, TEMPORAL_SERVER_VERSION, TemporalServerBuildError } from '../../src/embedded/temporal-server-binary.js';

describe('the real Temporal server binary', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'herald-no-go-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('is pinned in one place, as a version the module proxy serves and docker images tag', () => {
    expect(TEMPORAL_SERVER_GO.module).toBe('go.temporal.io/server');
    expect(`v${TEMPORAL_SERVER_VERSION}`).toBe(TEMPORAL_SERVER_GO.version);
    expect(TEMPORAL_SERVER_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('says Go is missing, and what to run instead, when it is not built and there is no Go', async () => {
    const attempt = ensureTemporalServer({ root, env: { PATH: path.join(root, 'empty-bin') }, lookForGoIn: 'path-only' });
    await expect(attempt).rejects.toBeInstanceOf(TemporalServerBuildError);
    await expect(attempt).rejects.toThrow(/needs Go .*not on PATH/);
    await expect(attempt).rejects.toThrow(`go install ${TEMPORAL_SERVER_GO.module}/cmd/server@${TEMPORAL_SERVER_GO.version}`);
  });
});
