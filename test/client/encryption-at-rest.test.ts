import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeraldClient } from '../../src/client/herald-client.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { openEngine } from '../../src/store/open-engine.js';
import { heraldWebhooks } from '../../src/store/schema.js';
import { findWebhookForSending } from '../../src/store/webhooks.js';
import { secretForms } from '../support/delivery-checks.js';
import { TEST_BOX, uniqueId } from '../support/deps.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';

// Secrets and custom header values are sealed at rest: the raw row, read past Herald with the database's own
// driver (better-sqlite3 on the SQLite file, pg on a real Postgres), holds neither. Reads through the client
// never return the secret; only create and rotate do. Webhook CRUD starts no workflow, so the client's Temporal
// client is a stub that fails the test if touched.

const noTemporal = new Proxy({}, {
  get: (_target, prop) => {
    throw new Error(`the registry touched Temporal (${String(prop)})`);
  },
}) as Client;

interface Backend {
  name: string;
  store: DataEngine;
  /** The webhook's row exactly as the database driver returns it. */
  rawRow(id: string): Promise<Record<string, unknown>>;
  /** Every byte the database has on disk, where that is observable. */
  rawFiles(): Buffer[];
}

describe('secrets and custom headers at rest', () => {
  let dir: string;
  let postgres: TestPostgres;
  const backends: Backend[] = [];
  const closers: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'herald-at-rest-'));
    const file = path.join(dir, 'herald.db');
    const sqliteStore = await openEngine(`sqlite:${file}`);
    closers.push(() => sqliteStore.close());
    const sqlite = new Database(file, { readonly: true, fileMustExist: true });
    closers.push(() => {
      sqlite.close();
    });
    backends.push({
      name: 'sqlite',
      store: sqliteStore,
      rawRow: async (id) => sqlite.prepare(`SELECT * FROM ${heraldWebhooks.name} WHERE id = ?`).get(id) as Record<string, unknown>,
      rawFiles: () => [file, `${file}-wal`].filter(existsSync).map((f) => readFileSync(f)),
    });

    postgres = await startPostgres();
    closers.push(() => postgres.stop());
    const postgresStore = await openEngine(postgres.url);
    closers.push(() => postgresStore.close());
    const pgClient = new pg.Client({ connectionString: postgres.url });
    await pgClient.connect();
    closers.push(() => pgClient.end());
    backends.push({
      name: 'postgres',
      store: postgresStore,
      rawRow: async (id) => {
        const result = await pgClient.query(`SELECT * FROM ${heraldWebhooks.name} WHERE id = $1`, [id]);
        // The row also as Postgres renders it, so no column escapes the check whatever its type.
        const text = await pgClient.query(`SELECT row_to_json(w)::text AS json FROM ${heraldWebhooks.name} w WHERE id = $1`, [id]);
        return { ...(result.rows[0] as Record<string, unknown>), __row_to_json: text.rows[0]?.json };
      },
      rawFiles: () => [],
    });
  }, 120_000);

  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Every way a secret could show up in a row: the value, its key material, and those as bytes/base64/hex. */
  function forms(secret: string): string[] {
    const all = new Set<string>();
    for (const form of secretForms(secret)) {
      all.add(form);
      all.add(Buffer.from(form).toString('base64'));
      all.add(Buffer.from(form).toString('hex'));
    }
    if (secret.startsWith('whsec_')) all.add(Buffer.from(secret.slice(6), 'base64').toString('hex'));
    return [...all];
  }

  function expectAbsent(where: string, text: string, secrets: string[]) {
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThanOrEqual(8);
      expect(text.includes(secret), `${where} contains ${secret.slice(0, 4)}…`).toBe(false);
    }
  }

  const rowText = (row: Record<string, unknown>) => JSON.stringify(row, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'bigint' ? v.toString() : v));

  it.each(['sqlite', 'postgres'])('%s: the raw row holds neither the secret nor a header value; reads never return the secret', async (name) => {
    const { store, rawRow, rawFiles } = backends.find((b) => b.name === name)!;
    const herald = new HeraldClient({ temporal: noTemporal, store, box: TEST_BOX, taskQueue: 'unused' });
    const tenant = herald.forTenant(uniqueId('t-'));
    const headerValue = `Bearer tok_${uniqueId('hdr')}_s3cr3t`;
    const otherHeaderValue = `key-${uniqueId('api')}-value`;

    const { webhook, secret } = await tenant.webhooks.create({
      url: 'https://hooks.example.test/in',
      description: 'orders to the warehouse',
      eventTypes: ['order.*'],
      headers: { Authorization: headerValue, 'X-Api-Key': otherHeaderValue },
    });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(webhook).not.toHaveProperty('secret');
    expect(webhook).not.toHaveProperty('secrets');
    expect(webhook).not.toHaveProperty('headers');
    expect(webhook.headerNames).toEqual(['Authorization', 'X-Api-Key']);
    let sensitive = [...forms(secret), headerValue, otherHeaderValue];

    const row = await rawRow(webhook.id);
    expect(row).toBeDefined();
    expect(row['id']).toBe(webhook.id);
    // Sealed: AES-GCM envelopes, and readable header names beside them.
    expect(String(row['secrets_sealed'])).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(String(row['headers_sealed'])).toMatch(/^v1\./);
    expect(String(row['header_names_json'])).toContain('Authorization');
    expectAbsent(`${name} row`, rowText(row), sensitive);

    // Custom header values are credentials too: sealed under a key bound to this row.
    const forSending = await findWebhookForSending({ engine: store, box: TEST_BOX }, webhook.id, Date.now());
    expect(forSending?.headers).toEqual({ Authorization: headerValue, 'X-Api-Key': otherHeaderValue });
    expect(forSending?.secrets).toEqual([secret]);

    // Rotation returns the new secret once; the row holds neither the old nor the new one.
    const rotated = await tenant.webhooks.rotateSecret(webhook.id, { graceSeconds: 3600 });
    expect(rotated.secret).not.toBe(secret);
    expect(rotated.webhook).not.toHaveProperty('secret');
    // An update of the headers re-seals them.
    const newHeaderValue = `Bearer tok_${uniqueId('new')}_rotated`;
    await tenant.webhooks.update(webhook.id, { headers: { Authorization: newHeaderValue } });
    sensitive = [...sensitive, ...forms(rotated.secret), newHeaderValue];
    expectAbsent(`${name} row after rotate and update`, rowText(await rawRow(webhook.id)), sensitive);
    expect((await findWebhookForSending({ engine: store, box: TEST_BOX }, webhook.id, Date.now()))?.secrets).toEqual([rotated.secret, secret]);

    // Every read through the client, scoped and admin.
    const reads: unknown[] = [
      await tenant.webhooks.get(webhook.id),
      await tenant.webhooks.list(),
      await herald.webhooks.get(webhook.id),
      await herald.webhooks.list({ tenantId: webhook.tenantId }),
      await tenant.webhooks.update(webhook.id, { description: 'renamed' }),
      await tenant.webhooks.disable(webhook.id, 'maintenance'),
      await tenant.webhooks.enable(webhook.id),
    ];
    for (const read of reads) {
      const text = JSON.stringify(read);
      expect(text).toContain(webhook.id);
      expect(text).not.toContain('whsec_');
      expectAbsent(`${name} client read`, text, sensitive);
    }

    // The whole database file (and its WAL), where the engine keeps one.
    for (const bytes of rawFiles()) expectAbsent(`${name} file`, bytes.toString('latin1'), [...sensitive].filter((s) => /^[\x20-\x7e]+$/.test(s)));
  });
});
