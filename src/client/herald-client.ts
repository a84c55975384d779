import type { Client } from '@temporalio/client';
import type { DataEngine } from '../store/data-engine.js';
import type { SecretBox } from '../store/secret-box.js';
import { withTracing } from '../telemetry/traced-client.js';
import { ValidationError } from '../errors.js';
import type { ClientContext } from './context.js';
import { deliveriesApi } from './deliveries-api.js';
import { DEFAULT_DIRECT_FAN_OUT_LIMIT, eventsApi } from './events-api.js';
import { recover, recoveryStatus, type RecoverJob, type RecoverOptions, type RecoveryStatus } from './recover.js';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../config/defaults.js';
import { TENANT_ID_PATTERN } from './tenant.js';
import { tenantsApi } from './tenants-api.js';
import { webhooksApi } from './webhooks-api.js';

export interface HeraldClientOptions {
  temporal: Client;
  store: DataEngine;
  /** Seals webhook secrets and custom headers at rest (HERALD_ENCRYPTION_KEY). */
  box: SecretBox;
  taskQueue: string;
  maxPayloadBytes?: number;
  clock?: () => number;
  /** Refuse http:// webhook URLs. */
  httpsOnly?: boolean;
  /**
   * Start deliveries with Herald's search attributes (default true). Only for servers that cannot register
   * custom attributes, such as the time-skipping test server; the workflow then skips its status upserts.
   */
  searchAttributes?: boolean;
  /** Publish starts up to this many deliveries itself (default 100); larger fan-outs run the fan-out workflow. */
  directFanOutLimit?: number;
  /**
   * Request eager workflow start. Only useful when `temporal` runs over the NativeConnection of a worker in this
   * process (the all-in-one `herald start`): the server then hands the first workflow task straight to it.
   */
  eagerStart?: boolean;
  /** Told about every delivery start that created a run (metrics count the eager ones). */
  onDeliveryStarted?: (started: { eager: boolean }) => void;
}

/**
 * The only way into Herald from outside: it owns the task queue, the id schemes and the dedup policies, and
 * validates every input before anything is started or written. An unscoped client acts for every tenant
 * (admin); `forTenant(id)` returns one that can see and touch only that tenant's objects.
 */
export class HeraldClient {
  readonly webhooks: ReturnType<typeof webhooksApi>;
  readonly events: ReturnType<typeof eventsApi>;
  readonly deliveries: ReturnType<typeof deliveriesApi>;
  readonly tenants: ReturnType<typeof tenantsApi>;
  readonly #ctx: ClientContext;

  constructor(given: HeraldClientOptions, scope?: string) {
    // With tracing on, every start must carry the trace context; done once here, so forTenant reuses the client.
    const options = { ...given, temporal: withTracing(given.temporal) };
    this.#ctx = {
      temporal: options.temporal,
      store: options.store,
      box: options.box,
      taskQueue: options.taskQueue,
      clock: options.clock ?? Date.now,
      searchAttributes: options.searchAttributes ?? true,
      maxPayloadBytes: options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
      httpsOnly: options.httpsOnly ?? false,
      directFanOutLimit: options.directFanOutLimit ?? DEFAULT_DIRECT_FAN_OUT_LIMIT,
      eagerStart: options.eagerStart ?? false,
      ...(options.onDeliveryStarted ? { onDeliveryStarted: options.onDeliveryStarted } : {}),
      scope,
    };
    this.#options = options;
    this.webhooks = webhooksApi(this.#ctx);
    this.events = eventsApi(this.#ctx);
    this.deliveries = deliveriesApi(this.#ctx);
    this.tenants = tenantsApi(this.#ctx);
  }

  readonly #options: HeraldClientOptions;

  /** The tenant this client is bound to, or undefined for an admin client. */
  get tenantId(): string | undefined {
    return this.#ctx.scope;
  }

  /** A client that reads and writes only `tenantId`'s webhooks, events and deliveries. */
  forTenant(tenantId: string): HeraldClient {
    if (!TENANT_ID_PATTERN.test(tenantId) || tenantId.length > 128) throw new ValidationError('tenantId', 'may hold only letters, digits and _ . : -');
    return new HeraldClient(this.#options, tenantId);
  }

  /** Redelivers a webhook's dead and skipped deliveries created in a window (at most 30 days). */
  recover(webhookId: string, options: RecoverOptions): Promise<RecoverJob> {
    return recover(this.#ctx, webhookId, options);
  }

  /** Progress of a recovery job started by `recover` (its workflow id). */
  recovery(workflowId: string): Promise<RecoveryStatus> {
    return recoveryStatus(this.#ctx, workflowId);
  }
}
