import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_SHUTDOWN_GRACE_MS } from '../../src/config/defaults.js';
import { describeConfig, loadCliConfig, loadConfig } from '../../src/config/config.js';
import { ConfigError, SetupError } from '../../src/errors.js';

// Configuration is pure: env (and an optional file) in, a typed Config or an error naming the variable out.
describe('loadConfig', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has the documented defaults', () => {
    const config = loadConfig({}, '/srv');
    expect(config.egressAllow.isEmpty).toBe(true);
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
      shutdownGraceMs: 10_000,
      httpsOnly: false,
      apiTokens: undefined,
      encryptionKey: undefined,
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
    [{ HERALD_SHUTDOWN_GRACE_MS: '-5' }, 'HERALD_SHUTDOWN_GRACE_MS'],
    [{ HERALD_API_TOKENS: 'short' }, 'HERALD_API_TOKENS'],
  ])('rejects %o naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(variable);
  });

  it('rejects a bad HERALD_EGRESS_ALLOW at load time, as a setup error naming the variable', () => {
    expect(() => loadConfig({ HERALD_EGRESS_ALLOW: 'https://hooks.internal' })).toThrow(SetupError);
    expect(() => loadConfig({ HERALD_EGRESS_ALLOW: 'https://hooks.internal' })).toThrow('HERALD_EGRESS_ALLOW');
  });

  it('parses every setting once: egress allow-list, API tokens, shutdown grace', () => {
    const config = loadConfig({
      HERALD_EGRESS_ALLOW: '10.0.0.0/8, hooks.internal',
      HERALD_API_TOKENS: 'admin-token-0123456789,acme-token-0123456789:acme',
      HERALD_SHUTDOWN_GRACE_MS: '2500',
    });
    expect(config.egressAllow.allowsAddress('10.1.2.3')).toBe(true);
    expect(config.egressAllow.allowsAddress('192.168.0.1')).toBe(false);
    expect(config.apiTokens?.map((t) => t.tenantId)).toEqual([undefined, 'acme']);
    expect(config.shutdownGraceMs).toBe(2500);
  });

  it('shares its defaults with code that builds a client or worker without it', () => {
    const config = loadConfig({});
    expect(config.maxPayloadBytes).toBe(DEFAULT_MAX_PAYLOAD_BYTES);
    expect(config.shutdownGraceMs).toBe(DEFAULT_SHUTDOWN_GRACE_MS);
  });

  it('never shows secrets when described for logs', () => {
    const config = loadConfig({ HERALD_DATABASE_URL: 'postgres://herald:hunter2@db/herald', HERALD_ENCRYPTION_KEY: 'a'.repeat(44), HERALD_API_TOKENS: 'admin-token-0123456789' });
    const text = JSON.stringify(describeConfig(config));
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('a'.repeat(44));
    expect(text).not.toContain('admin-token-0123456789');
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

// The CLI parses only what it uses, through the same parsers and defaults as the server.
describe('loadCliConfig', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-cli-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults to the local API on the server default port and the default data folder', () => {
    expect(loadCliConfig({}, '/srv')).toEqual({ apiUrl: 'http://127.0.0.1:3000', token: undefined, dataDir: '/srv/.herald' });
  });

  it('follows HERALD_API_PORT and HERALD_DATA_DIR as the server reads them, HERALD_URL and HERALD_TOKEN over them', () => {
    expect(loadCliConfig({ HERALD_API_PORT: '4100', HERALD_DATA_DIR: 'state' }, '/srv')).toMatchObject({ apiUrl: 'http://127.0.0.1:4100', dataDir: '/srv/state' });
    expect(loadCliConfig({ HERALD_URL: ' https://herald.internal/ ', HERALD_TOKEN: ' t0k ', HERALD_API_PORT: '4100' })).toMatchObject({ apiUrl: 'https://herald.internal', token: 't0k' });
  });

  it('reads the same config file as the server', () => {
    const file = path.join(dir, 'herald.env');
    writeFileSync(file, 'HERALD_API_PORT=4200\n');
    expect(loadCliConfig({ HERALD_CONFIG_FILE: file }).apiUrl).toBe('http://127.0.0.1:4200');
  });

  it('names a bad variable, and ignores settings it does not use', () => {
    expect(() => loadCliConfig({ HERALD_API_PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadCliConfig({ HERALD_API_PORT: 'eighty' })).toThrow('HERALD_API_PORT');
    expect(() => loadCliConfig({ HERALD_DATABASE_URL: 'mysql://x' })).not.toThrow();
  });
});
