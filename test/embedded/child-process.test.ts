import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/embedded/project-root.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

// A process Herald owns must not outlive Herald, even when Herald is SIGKILLed and runs no cleanup.
describe('spawnOwned', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-owned-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stops the owned process group when its owner is killed with SIGKILL', async () => {
    const pidFile = path.join(dir, 'pid');
    const module = path.join(projectRoot(), 'dist', 'src', 'embedded', 'child-process.js');
    // The owner starts `sleep` (in a shell, so the group has two processes), reports the pid, then waits.
    const script = `
      import { spawnOwned } from ${JSON.stringify(module)};
      import { writeFileSync } from 'node:fs';
      const p = spawnOwned('/bin/sh', ['-c', 'sleep 300 & wait'], { logFile: ${JSON.stringify(path.join(dir, 'log'))} });
      writeFileSync(${JSON.stringify(pidFile)}, String(p.pid));
      setInterval(() => {}, 1000);
    `;
    const owner = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
    expect(await until(() => { try { return readFileSync(pidFile, 'utf8').length > 0; } catch { return false; } }, 10_000)).toBe(true);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(pid)).toBe(true);

    owner.kill('SIGKILL');
    // The watchdog polls every second, then TERMs the group.
    expect(await until(() => !alive(pid), 10_000)).toBe(true);
  });
});
