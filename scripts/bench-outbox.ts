/**
 * The system Herald replaces, run in its own process for `npm run bench`: ObjectStack's outbound-HTTP outbox
 * from `@objectstack/service-messaging` — `HttpDispatcher` with its default options (8 partitions, batches of
 * 32, a tick every 500 ms, sends awaited one at a time, the global `fetch`) over either `MemoryHttpOutbox` or
 * the durable `SqlHttpOutbox` on a SQLite file through Herald's own engine (`openEngine('sqlite:…')`, which
 * implements the `IDataEngine` contract the outbox is written against).
 *
 * The `sys_http_delivery` table is derived from the package's own object schema (`HttpDelivery`). Two
 * adaptations, both needed only because Herald's engine refuses what it does not know (see the report):
 * - the outbox writes `organization_id` (an ObjectStack builtin column that the object does not declare), so the
 *   derived definition adds it as a nullable text column;
 * - the outbox passes ObjectStack's `bypassTenantAudit: true` option (an audit-log hint; Herald has no tenant
 *   audit), which Herald's engine rejects as an unknown option, so a thin wrapper drops that one key.
 *
 *   forked by scripts/bench.ts: node dist/scripts/bench-outbox.js
 */
import { HttpDelivery, HttpDispatcher, MemoryHttpOutbox, SqlHttpOutbox, SYS_HTTP_DELIVERY, type IHttpOutbox } from '@objectstack/service-messaging';
import type { DataEngine } from '../src/store/data-engine.js';
import { openEngine } from '../src/store/open-engine.js';
import type { ColumnDefinition, ObjectDefinition } from '../src/store/schema.js';
import { nowMs, selfUsage, type FromOutbox, type OutboxConfig, type ToOutbox } from './bench-lib.js';

const send = (m: FromOutbox) => process.send?.(m);

interface SchemaField {
  type: string;
  required?: boolean;
  defaultValue?: unknown;
}

/** Herald's ObjectDefinition for `sys_http_delivery`, from the outbox package's own field list and indexes. */
export function sysHttpDeliveryDefinition(): ObjectDefinition {
  const schema = HttpDelivery as unknown as { fields: Record<string, SchemaField>; indexes?: { fields: string[]; unique?: boolean }[] };
  const columns: ColumnDefinition[] = Object.entries(schema.fields).map(([name, f]) => {
    // text/textarea → TEXT; number and datetime → epoch-ms integers (Herald turns the outbox's Dates into ms).
    const type: ColumnDefinition['type'] = f.type === 'number' || f.type === 'datetime' ? 'bigint-ms' : 'text';
    const def = f.defaultValue;
    return {
      name,
      type,
      ...(f.required ? {} : { nullable: true }),
      ...(typeof def === 'string' || typeof def === 'number' ? { default: def } : {}),
    };
  });
  if (!columns.some((c) => c.name === 'organization_id')) columns.push({ name: 'organization_id', type: 'text', nullable: true });
  const indexes = schema.indexes ?? [];
  return {
    name: SYS_HTTP_DELIVERY,
    primaryKey: 'id',
    columns,
    uniqueKeys: indexes.filter((i) => i.unique).map((i) => i.fields),
    indexes: indexes.filter((i) => !i.unique).map((i) => i.fields),
  };
}

/** Herald's engine with ObjectStack's `bypassTenantAudit` option dropped (Herald rejects unknown options). */
function withoutTenantAuditOption(engine: DataEngine): DataEngine {
  const strip = <T>(options: T): T => {
    if (options && typeof options === 'object' && 'bypassTenantAudit' in options) {
      const { bypassTenantAudit: _ignored, ...rest } = options as Record<string, unknown>;
      return rest as T;
    }
    return options;
  };
  return {
    find: (o, q) => engine.find(o, strip(q)),
    findOne: (o, q) => engine.findOne(o, strip(q)),
    insert: ((o: string, d: never, opts?: object) => engine.insert(o, d, strip(opts))) as DataEngine['insert'],
    update: (o, d, opts) => engine.update(o, d, strip(opts)),
    delete: (o, opts) => engine.delete(o, strip(opts)),
    count: (o, q) => engine.count(o, strip(q)),
    aggregate: (o, q) => engine.aggregate(o, strip(q)),
    migrate: () => engine.migrate(),
    close: () => engine.close(),
  };
}

let dispatcher: HttpDispatcher | undefined;
let engine: DataEngine | undefined;

async function start(config: OutboxConfig): Promise<void> {
  let outbox: IHttpOutbox;
  if (config.kind === 'memory') {
    outbox = new MemoryHttpOutbox();
  } else {
    engine = withoutTenantAuditOption(await openEngine(`sqlite:${config.dbFile!}`, { objects: [sysHttpDeliveryDefinition()], setting: 'bench outbox' }));
    outbox = new SqlHttpOutbox(engine as never, { partitionCount: 8 });
  }
  // Default options, as an ObjectStack app runs it (MessagingServicePlugin: 8 partitions, 500 ms).
  dispatcher = new HttpDispatcher({
    nodeId: `bench-${process.pid}`,
    outbox,
    logger: { warn: (msg, meta) => console.warn(`outbox: ${msg}`, meta ?? '') },
  });
  dispatcher.start();
  send({ type: 'ready' });

  // Enqueue every delivery as fast as `concurrency` producers can (the dispatcher is already running).
  let next = 0;
  let batch: [string, number][] = [];
  const flush = setInterval(() => {
    if (batch.length === 0) return;
    send({ type: 'enqueued', items: batch });
    batch = [];
  }, 50);
  const producer = async () => {
    for (;;) {
      const i = next++;
      if (i >= config.keys.length) return;
      const key = config.keys[i]!;
      const target = config.targets[i % config.targets.length]!;
      const t = nowMs();
      await outbox.enqueue({
        source: 'webhook',
        refId: target.refId,
        dedupKey: key,
        label: key,
        url: target.url,
        signingSecret: target.secret,
        payload: { id: key, type: 'bench.event', data: { seq: i, note: 'benchmark payload' } },
      });
      batch.push([key, t]);
    }
  };
  await Promise.all(Array.from({ length: config.concurrency }, producer));
  await new Promise((r) => setTimeout(r, 60));
  clearInterval(flush);
  if (batch.length > 0) send({ type: 'enqueued', items: batch });
}

async function stop(): Promise<void> {
  try {
    await dispatcher?.stop();
    await engine?.close();
  } finally {
    process.exit(0);
  }
}

process.on('message', (m: ToOutbox) => {
  switch (m.type) {
    case 'start':
      start(m.config).catch((err: unknown) => send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
      break;
    case 'usage':
      send({ type: 'usage', usage: selfUsage() });
      break;
    case 'stop':
      void stop();
      break;
  }
});
process.on('disconnect', () => {
  // The bench died: do not outlive it, even if a graceful stop hangs on a server that is gone.
  setTimeout(() => process.exit(1), 10_000);
  void stop();
});
