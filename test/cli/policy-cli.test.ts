import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/embedded/project-root.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { openEngine } from '../../src/store/open-engine.js';
import { ACME_TOKEN, ADMIN_TOKEN, testApi } from '../support/http.js';

/** The `herald` CLI from source (tsx), as a process, against `env`'s HERALD_URL and HERALD_TOKEN. */
function herald(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot(), 'src', 'cli', 'herald.ts'), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => proc.once('exit', (code) => resolve({ code, stdout, stderr })));
}

// The endpoint policy commands (`webhooks create|update|show`, `tenants policy show|set`) as a user runs them:
// the CLI as a process against the real API listening on 127.0.0.1 (no delivery starts, so no Temporal).
describe('herald CLI: endpoint policy', () => {
  let dir: string;
  let store: DataEngine;
  let server: ServerType;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'herald-policy-cli-'));
    store = await openEngine('sqlite::memory:');
    const api = testApi({ temporal: new Client(), store, taskQueue: 'policy-cli' });
    server = await new Promise((resolve) => {
      const s = serve({ fetch: api.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    const address = server.address();
    env = { HERALD_URL: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, HERALD_TOKEN: ADMIN_TOKEN, HERALD_DATA_DIR: dir };
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('creates, updates and shows a webhook with its policy, and sets and shows a tenant policy', async () => {
    const created = await herald(
      ['--json', 'webhooks', 'create', '--url', 'https://hooks.example.test/cli', '--tenant', 'acme', '--retry-schedule', '5,300', '--rate-limit', 'unlimited', '--max-concurrency', '3'],
      env,
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const webhook = JSON.parse(created.stdout) as Record<string, unknown>;
    expect(webhook).toMatchObject({ retrySchedule: [5, 300], rateLimitPerSecond: null, maxConcurrency: 3, inherited: ['timeoutMs', 'breakerThreshold', 'disableAfterDays'] });

    const set = await herald(['--json', 'tenants', 'policy', 'set', 'acme', '--timeout-ms', '4000', '--breaker-threshold', '7', '--disable-after-days', '2.5'], env);
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ tenantId: 'acme', settings: { timeoutMs: 4000, breakerThreshold: 7, disableAfterDays: 2.5 } });

    const updated = await herald(['--json', 'webhooks', 'update', String(webhook.id), '--max-concurrency', 'inherit', '--retry-schedule', 'none'], env);
    expect(updated.code).toBe(0);
    expect(JSON.parse(updated.stdout)).toMatchObject({ retrySchedule: [], maxConcurrency: 20, timeoutMs: 4000, breakerThreshold: 7 });

    // The table view, as a tenant's own token sees it.
    const shown = await herald(['webhooks', 'show', String(webhook.id)], { ...env, HERALD_TOKEN: ACME_TOKEN });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/breakerThreshold\s+7/);
    expect(shown.stdout).toMatch(/inherited\s+.*timeoutMs.*maxConcurrency.*breakerThreshold.*disableAfterDays/);

    const policy = await herald(['tenants', 'policy', 'show', 'acme'], { ...env, HERALD_TOKEN: ACME_TOKEN });
    expect(policy.code).toBe(0);
    expect(policy.stdout).toMatch(/tenantId\s+acme/);
  });

  it("names the field and the reason when a value is refused, and refuses another tenant's policy to a tenant token", async () => {
    const bad = await herald(['webhooks', 'create', '--url', 'https://hooks.example.test/cli', '--retry-schedule', '0,5,300'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('retrySchedule: [0] is 0 s');
    expect(bad.stderr).toContain('drop the leading 0');

    const range = await herald(['tenants', 'policy', 'set', 'acme', '--max-concurrency', '5000'], env);
    expect(range.code).not.toBe(0);
    expect(range.stderr).toContain('maxConcurrency: must be from 1 to 1000');

    const foreign = await herald(['tenants', 'policy', 'show', 'globex'], { ...env, HERALD_TOKEN: ACME_TOKEN });
    expect(foreign.code).not.toBe(0);
    expect(foreign.stderr).toContain('tenant acme');
  });
});
