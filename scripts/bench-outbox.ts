/**
 * The system Herald replaces, run in its own process for `npm run bench`: ObjectStack's outbound-HTTP outbox
 * from `@objectstack/service-messaging` — `HttpDispatcher` with its default options (8 partitions, batches of
 * 32, a tick every 500 ms, sends awaited one at a time, the global `fetch`) over either `MemoryHttpOutbox` or
 * the durable `SqlHttpOutbox` on a SQLite file through Herald's own engine (`openEngine('sqlite:…')`, which
 * implements the `IDataEngine` contract the outbox is written against).
 *
 * The `sys_http_delivery` table is derived from the package's own object schema (`HttpDelivery`,
 * scripts/sys-http-delivery-definition.ts). The outbox runs on Herald's engine unmodified: Herald's engines accept
 * the options ObjectStack code passes (`context`, `bypassTenantAudit`, `tenantId`) and the kernel's
 * `organization_id` column (`organizationScoped`).
 *
 *   forked by scripts/bench.ts: node dist/scripts/bench-outbox.js
 */
import { HttpDispatcher, MemoryHttpOutbox, SqlHttpOutbox, type IHttpOutbox } from '@objectstack/service-messaging';
import type { DataEngine } from '../src/store/data-engine.js';
import { openEngine } from '../src/store/open-engine.js';
import { sysHttpDeliveryDefinition } from './sys-http-delivery-definition.js';
import { nowMs, selfUsage, type FromOutbox, type OutboxConfig, type ToOutbox } from './bench-lib.js';

const send = (m: FromOutbox) => process.send?.(m);

let dispatcher: HttpDispatcher | undefined;
let engine: DataEngine | undefined;

async function start(config: OutboxConfig): Promise<void> {
  let outbox: IHttpOutbox;
  if (config.kind === 'memory') {
    outbox = new MemoryHttpOutbox();
  } else {
    engine = await openEngine(`sqlite:${config.dbFile!}`, { objects: [sysHttpDeliveryDefinition()], setting: 'bench outbox' });
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
