import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, loadConfig } from '../../src/config/config.js';

// Configuration is pure: env (and an optional file) in, a typed Config or an error naming the variable out.
describe('loadConfig', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has the documented defaults', () => {
    const config = loadConfig({}, '/srv');
    expect(config).toMatchObject({
      dataDir: '/srv/.herald',
      temporalAddress: undefined,
      temporalNamespace: 'default',
      temporalPort: 7233,
      uiPort: 8233,
      apiHost: '127.0.0.1',
      apiPort: 3000,
      taskQueue: 'herald',
      databaseUrl: 'sqlite:/srv/.herald/herald.db',
      maxPayloadBytes: 262144,
      httpsOnly: false,
      retention: { deliveredMaxAgeMs: 7 * 86_400_000, deadMaxAgeMs: 30 * 86_400_000, intervalMs: 3_600_000 },
    });
  });

  it.each([
    [{ HERALD_API_PORT: 'eighty' }, 'HERALD_API_PORT'],
    [{ HERALD_TEMPORAL_PORT: '70000' }, 'HERALD_TEMPORAL_PORT'],
    [{ HERALD_UI_PORT: '7233' }, 'HERALD_UI_PORT'],
    [{ HERALD_DATABASE_URL: 'mysql://x' }, 'HERALD_DATABASE_URL'],
    [{ HERALD_LOG_LEVEL: 'loud' }, 'HERALD_LOG_LEVEL'],
    [{ HERALD_HTTPS_ONLY: 'maybe' }, 'HERALD_HTTPS_ONLY'],
    [{ HERALD_RETENTION_DEAD_DAYS: '-1' }, 'HERALD_RETENTION_DEAD_DAYS'],
    [{ HERALD_MAX_PAYLOAD_BYTES: '0' }, 'HERALD_MAX_PAYLOAD_BYTES'],
  ])('rejects %o naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(variable);
  });

  it('never shows secrets when described for logs', () => {
    const config = loadConfig({ HERALD_DATABASE_URL: 'postgres://herald:hunter2@db/herald', HERALD_ENCRYPTION_KEY: 'a'.repeat(44), HERALD_API_TOKENS: 'tok' });
    const text = JSON.stringify(describeConfig(config));
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('a'.repeat(44));
    expect(text).not.toContain('"tok"');
  });

  it('reads an optional config file (KEY=value or JSON); the environment wins', () => {
    const envFile = path.join(dir, 'herald.env');
    writeFileSync(envFile, '# Herald\nHERALD_API_PORT=4000\nHERALD_TASK_QUEUE="hooks"\n');
    expect(loadConfig({ HERALD_CONFIG_FILE: envFile })).toMatchObject({ apiPort: 4000, taskQueue: 'hooks' });
    expect(loadConfig({ HERALD_CONFIG_FILE: envFile, HERALD_API_PORT: '5000' })).toMatchObject({ apiPort: 5000, taskQueue: 'hooks' });
    const jsonFile = path.join(dir, 'herald.json');
    writeFileSync(jsonFile, JSON.stringify({ HERALD_API_PORT: 4100, HERALD_HTTPS_ONLY: true }));
    expect(loadConfig({ HERALD_CONFIG_FILE: jsonFile })).toMatchObject({ apiPort: 4100, httpsOnly: true });
  });

  it('names the file, line or key when the config file is wrong', () => {
    const bad = path.join(dir, 'bad.env');
    writeFileSync(bad, 'HERALD_API_PORT=4000\nnot a line\n');
    expect(() => loadConfig({ HERALD_CONFIG_FILE: bad })).toThrow(`${bad}:2 is not KEY=value`);
    const unknown = path.join(dir, 'unknown.env');
    writeFileSync(unknown, 'HERALD_APIPORT=1\n');
    expect(() => loadConfig({ HERALD_CONFIG_FILE: unknown })).toThrow('HERALD_APIPORT');
    expect(() => loadConfig({ HERALD_CONFIG_FILE: path.join(dir, 'missing.env') })).toThrow('HERALD_CONFIG_FILE');
    const badValue = path.join(dir, 'value.env');
    writeFileSync(badValue, 'HERALD_API_PORT=abc\n');
    expect(() => loadConfig({ HERALD_CONFIG_FILE: badValue })).toThrow('HERALD_API_PORT');
  });
});
