/**
 * Herald inside an ObjectStack application in one call: `attachHerald(ql, options)` takes the
 * app's booted ObjectQL engine (`@objectstack/objectql`, any driver) and:
 * 1. registers Herald's objects on it (`sys_webhook_delivery` and its attempt log, Herald's webhooks, events
 *    and idempotency keys) and creates their tables, so deliveries live in the app's database and its REST
 *    API and UI list them (`objectql-engine.ts`, `objectql-schema.ts`);
 * 2. puts Herald in front of the app's realtime service, so every record created, updated or deleted is stored
 *    as a Herald event before the write returns and fanned out to subscribed webhooks
 *    (`data-change-publisher.ts`, `data-change-events.ts`);
 * 3. returns the plugin's outbox API on Herald (`webhook-outbox.ts`) and a Herald client over the same engine;
 * 4. optionally runs a Herald worker in-process (`worker`), or the app runs `herald worker` elsewhere against
 *    the same database and Temporal.
 * `close()` undoes it in reverse order; the app still owns (and destroys) its ObjectQL engine.
 */
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { pino, type Logger } from 'pino';
import { parseEgressAllowList } from '../egress/allow-list.js';
import { createGuardedDispatcher } from '../egress/guarded-dispatcher.js';
import { HeraldClient } from '../client/herald-client.js';
import { heraldVersion } from '../embedded/project-root.js';
import type { SecretBox } from '../store/secret-box.js';
import { HERALD_OBJECTS } from '../store/schema.js';
import { convertLegacyWebhooks } from '../store/webhooks.js';
import { createWorker } from '../worker/create-worker.js';

/** Herald's task queue when the app names none (HERALD_TASK_QUEUE's default). */
const DEFAULT_TASK_QUEUE = 'herald';
import { ensureRefanSchedule } from '../worker/refan-schedule.js';
import { DataChangePublisher, heraldRealtimeService, type RealtimeServiceLike } from './data-change-publisher.js';
import { ObjectQLEngine, type ObjectQLLike } from './objectql-engine.js';
import { DEFAULT_OBJECT_NAMES } from './objectql-schema.js';
import { HeraldWebhookOutbox } from './webhook-outbox.js';

/** What `attachHerald` needs of the app's `ObjectQL` (a real instance is one). */
export interface ObjectQLApp extends ObjectQLLike {
  setRealtimeService(service: never): void;
  getSchema(objectName: string): { fields?: Record<string, unknown> } | undefined;
}

export interface AttachHeraldOptions {
  temporal: Client;
  /** Seals webhook secrets and headers at rest (`createSecretBox(HERALD_ENCRYPTION_KEY)`). */
  box: SecretBox;
  /** Default `herald`. */
  taskQueue?: string;
  /** The app's own realtime service, if it has one: Herald forwards every event to it after recording. */
  realtime?: RealtimeServiceLike;
  /** Also publish bulk (predicate) updates and deletes as `<object>.bulk_update|bulk_delete`; default false. */
  bulkEvents?: boolean;
  /** Tenant of organization-less records; default 'default'. An organization's records go to the tenant of its id. */
  defaultTenant?: string;
  /** Herald object → ObjectStack object name (default: deliveries → sys_webhook_delivery, attempts beside it). */
  objectNames?: Readonly<Record<string, string>>;
  /** Default: pino at `info` (JSON on stdout, secrets never logged). */
  logger?: Logger;
  /** Run a Herald worker in this process. */
  worker?: {
    connection: NativeConnection;
    namespace?: string;
    /** The SSRF guard's exceptions (HERALD_EGRESS_ALLOW syntax), e.g. '127.0.0.1' for a local receiver. */
    egressAllow?: string;
    /**
     * The `herald-refan` Schedule the worker keeps (as `herald worker` does): every `intervalMs` it fans out events
     * stored more than `olderThanMs` ago that are still `fanning_out` — the data changes recorded while Temporal
     * was unreachable. Default 60 s and 60 s (HERALD_REFAN_INTERVAL_SECONDS / HERALD_REFAN_AFTER_SECONDS).
     */
    refan?: { intervalMs: number; olderThanMs: number };
  };
  /** Start deliveries with Herald's search attributes (default true; false for servers without them). */
  searchAttributes?: boolean;
}

export interface HeraldInObjectStack {
  /** Herald's DataEngine over the app's ObjectQL. */
  engine: ObjectQLEngine;
  /** The full Herald client (webhooks, events, deliveries) over the same engine. */
  herald: HeraldClient;
  /** The plugin's `IWebhookOutbox` surface. */
  outbox: HeraldWebhookOutbox;
  publisher: DataChangePublisher;
  worker: Worker | undefined;
  /** Stops the worker (if any), stops publishing (restoring the app's realtime service) and detaches. */
  close(): Promise<void>;
}

export async function attachHerald(ql: ObjectQLApp, options: AttachHeraldOptions): Promise<HeraldInObjectStack> {
  const logger = options.logger ?? pino({ level: 'info' });
  const taskQueue = options.taskQueue ?? DEFAULT_TASK_QUEUE;
  const objectNames = options.objectNames ?? DEFAULT_OBJECT_NAMES;
  const engine = new ObjectQLEngine(ql, { objectNames });
  await engine.migrate();
  await convertLegacyWebhooks(engine);
  const herald = new HeraldClient({ temporal: options.temporal, store: engine, box: options.box, taskQueue, searchAttributes: options.searchAttributes });
  const publisherLogger = {
    warn: (message: string, meta?: Record<string, unknown>) => logger.warn(meta ?? {}, message),
    error: (message: string, meta?: Record<string, unknown>) => logger.error(meta ?? {}, message),
  };
  const publisher = new DataChangePublisher({
    herald,
    store: engine,
    ignoreObjects: new Set(HERALD_OBJECTS.map((o) => engine.objectName(o.name))),
    // The app's declared fields: the platform's provisioned ones (created_by, owner_id, …) carry `system: true`.
    declaredFields: (object) => {
      const fields = ql.getSchema(object)?.fields;
      if (!fields) return undefined;
      return new Set(Object.entries(fields).filter(([, f]) => (f as { system?: unknown } | null)?.system !== true).map(([name]) => name));
    },
    bulkEvents: options.bulkEvents,
    defaultTenant: options.defaultTenant,
    logger: publisherLogger,
  });

  let worker: Worker | undefined;
  let workerRun: Promise<void> | undefined;
  if (options.worker) {
    worker = await createWorker({
      connection: options.worker.connection,
      namespace: options.worker.namespace ?? 'default',
      taskQueue,
      deps: {
        store: engine,
        box: options.box,
        starter: { temporal: options.temporal, taskQueue, searchAttributes: options.searchAttributes ?? true },
        dispatcher: createGuardedDispatcher({ allow: parseEgressAllowList(options.worker.egressAllow ?? '') }),
        clock: Date.now,
        random: Math.random,
        logger: logger.child({ component: 'herald-activities' }),
        userAgent: `Herald/${heraldVersion()}`,
      },
    });
    await ensureRefanSchedule(options.temporal, { taskQueue, refan: options.worker.refan ?? { intervalMs: 60_000, olderThanMs: 60_000 } });
    workerRun = worker.run();
    workerRun.catch((err: unknown) => logger.error({ err }, 'herald: the worker stopped with an error'));
  }

  // Last, so no data event is handled before Herald's tables exist.
  ql.setRealtimeService(heraldRealtimeService(publisher, publisherLogger, options.realtime) as never);

  let closed = false;
  return {
    engine,
    herald,
    outbox: new HeraldWebhookOutbox(herald, engine),
    publisher,
    worker,
    async close() {
      if (closed) return;
      closed = true;
      if (options.realtime) ql.setRealtimeService(options.realtime as never);
      await publisher.stop();
      if (worker && worker.getState() === 'RUNNING') worker.shutdown();
      await workerRun?.catch(() => undefined);
      await engine.close();
    },
  };
}
