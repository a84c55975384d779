/**
 * ObjectStack's own outbox code (`SqlHttpOutbox` from `@objectstack/service-messaging` 17.4) runs on Herald's
 * engines unmodified: it passes `bypassTenantAudit`, `tenantId` and `context`, and writes the kernel's
 * `organization_id` column, all of which Herald's engines accept (no wrapper, as the benchmark once needed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlHttpOutbox } from '@objectstack/service-messaging';
import { afterAll, describe, expect, it } from 'vitest';
import { sysHttpDeliveryDefinition } from '../../scripts/sys-http-delivery-definition.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { MemoryEngine } from '../../src/store/memory-engine.js';
import { PostgresEngine } from '../../src/store/postgres-engine.js';
import { SqliteEngine } from '../../src/store/sqlite-engine.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';

const dir = mkdtempSync(join(tmpdir(), 'herald-os-outbox-'));
let postgres: TestPostgres | undefined;
afterAll(async () => {
  await postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const engines: [string, () => Promise<DataEngine>][] = [
  ['memory', async () => new MemoryEngine({ objects: [sysHttpDeliveryDefinition()] })],
  ['sqlite', async () => new SqliteEngine(join(dir, 'outbox.db'), { objects: [sysHttpDeliveryDefinition()] })],
  [
    'postgres',
    async () => {
      postgres = await startPostgres();
      return new PostgresEngine(postgres.url, { objects: [sysHttpDeliveryDefinition()] });
    },
  ],
];

describe.each(engines)("ObjectStack's SqlHttpOutbox on Herald's %s engine", (_name, open) => {
  it('enqueues with dedup, claims, acks, lists and redelivers scoped to an organization', async () => {
    const engine = await open();
    await engine.migrate();
    try {
      const outbox = new SqlHttpOutbox(engine as never, { partitionCount: 1 });
      const input = { source: 'webhook', refId: 'wh_1', dedupKey: 'wh_1:order:1:create', label: 'data.record.created', url: 'http://127.0.0.1:9/hook', payload: { n: 1 }, signingSecret: 's3cret', organizationId: 'org_a' };
      const id = await outbox.enqueue(input);
      expect(await outbox.enqueue(input)).toBe(id); // dedup on (source, dedup_key)
      const row = await engine.findOne('sys_http_delivery', { where: { id } });
      expect(row).toMatchObject({ organization_id: 'org_a', status: 'pending', source: 'webhook' });

      // The dispatcher's reap and claim writes carry bypassTenantAudit.
      const claimed = await outbox.claim({ nodeId: 'node-1', limit: 10, claimTtlMs: 5_000, partition: { index: 0, count: 1 } });
      expect(claimed.map((d) => d.id)).toEqual([id]);
      await outbox.ack(id, { success: false, httpStatus: 404, dead: true, error: 'HTTP 404', durationMs: 3 });
      expect((await outbox.list({ status: 'dead' })).map((d) => d.id)).toEqual([id]);

      // Redeliver is scoped by tenantId: another organization's row is not found; the owner's is reset.
      await expect(outbox.redeliver(id, { tenantId: 'org_b' })).rejects.toMatchObject({ code: 'RESOURCE_NOT_FOUND' });
      await outbox.redeliver(id, { tenantId: 'org_a' });
      expect(await engine.findOne('sys_http_delivery', { where: { id }, fields: ['status', 'attempts'] })).toEqual({ status: 'pending', attempts: 0 });
    } finally {
      await engine.close();
    }
  });
});
