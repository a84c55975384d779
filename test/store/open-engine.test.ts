import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataEngine } from '../../src/store/data-engine.js';
import { MemoryEngine } from '../../src/store/memory-engine.js';
import { DatabaseUrlError, openEngine } from '../../src/store/open-engine.js';
import { PostgresEngine } from '../../src/store/postgres-engine.js';
import { heraldWebhooks } from '../../src/store/schema.js';
import { SqliteEngine } from '../../src/store/sqlite-engine.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';

const webhook = {
  id: 'wh_1',
  url: 'https://example.test/hook',
  event_types_json: '["*"]',
  secrets_sealed: 'v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AA',
  created_at: 1,
  updated_at: 1,
};

/** Opened engines are migrated: a write and a read work straight away. */
async function roundTrip(engine: DataEngine): Promise<void> {
  await engine.insert(heraldWebhooks.name, webhook);
  expect(await engine.count(heraldWebhooks.name, { where: { id: 'wh_1' } })).toBe(1);
}

async function refusal(url: string, setting?: string): Promise<DatabaseUrlError> {
  const error = await openEngine(url, setting === undefined ? {} : { setting }).then(
    (engine) => {
      void engine.close();
      throw new Error(`expected ${url} to be refused`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DatabaseUrlError);
  return error as DatabaseUrlError;
}

describe('openEngine', () => {
  let dir: string;
  let postgres: TestPostgres;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'herald-open-'));
    postgres = await startPostgres();
  });

  afterAll(async () => {
    await postgres?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens memory:', async () => {
    const engine = await openEngine('memory:');
    expect(engine).toBeInstanceOf(MemoryEngine);
    await roundTrip(engine);
    await engine.close();
  });

  it('opens sqlite:<path>, creating missing directories, and keeps the data across reopenings', async () => {
    const file = join(dir, 'nested', 'deeper', 'herald.db');
    const engine = await openEngine(`sqlite:${file}`);
    expect(engine).toBeInstanceOf(SqliteEngine);
    await roundTrip(engine);
    await engine.close();
    expect(existsSync(file)).toBe(true);
    const again = await openEngine(`sqlite:${file}`);
    expect(await again.count(heraldWebhooks.name)).toBe(1);
    await again.close();
  });

  it('opens sqlite::memory:', async () => {
    const engine = await openEngine('sqlite::memory:');
    expect(engine).toBeInstanceOf(SqliteEngine);
    await roundTrip(engine);
    await engine.close();
  });

  it('opens postgres:// and postgresql:// URLs', async () => {
    const engine = await openEngine(postgres.url);
    expect(engine).toBeInstanceOf(PostgresEngine);
    await roundTrip(engine);
    await engine.close();
    const alias = await openEngine(postgres.url.replace(/^postgres:/, 'postgresql:'));
    expect(await alias.count(heraldWebhooks.name)).toBe(1);
    await alias.close();
  });

  it('refuses a bad URL, naming the setting and the reason', async () => {
    const unknown = await refusal('mysql://root:hunter2@db/herald');
    expect(unknown.setting).toBe('HERALD_DATABASE_URL');
    expect(unknown.message).toMatch(/^HERALD_DATABASE_URL: must be memory:, sqlite:<path>/);
    expect(unknown.message).not.toContain('hunter2');
    expect((await refusal('')).message).toContain('is empty');
    expect((await refusal('sqlite:')).reason).toContain('file path');
    expect((await refusal('sqlite://herald.db')).reason).toContain('sqlite:<path>');
    expect((await refusal('postgres://[::1')).reason).toContain('not a valid URL');
    expect((await refusal('memory', 'STORE_URL')).message).toMatch(/^STORE_URL: /);
  });

  it('refuses a database it cannot reach, without leaking the password', async () => {
    const closedPort = 'postgres://herald:s3cret@127.0.0.1:1/herald';
    const error = await refusal(closedPort);
    expect(error.reason).toContain('cannot prepare the database');
    expect(error.message).not.toContain('s3cret');
    expect((await refusal(`sqlite:${join(dir, 'not-a-dir.db', '\0bad')}`)).reason).toContain('SQLite');
  });
});
