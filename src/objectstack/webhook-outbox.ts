/**
 * The ObjectStack webhook plugin's outbox API (`IWebhookOutbox`, `@objectstack/plugin-webhooks` v1), on Herald,
 * so app code that calls the plugin's outbox keeps working. `@objectstack/spec` 17.4 has no types for it (they
 * lived in the plugin), so they are declared here with the plugin's names and shapes.
 *
 * What changes on Temporal:
 * - `enqueue` starts the delivery (one workflow per (event, webhook)); there is no queue to drain.
 * - `claim` and `ack` were the plugin dispatcher's; Temporal replaces the dispatcher, so they throw.
 * - A delivery's webhook is a Herald webhook: `webhookId` names one, its URL and secret are the webhook's.
 *   `secret` and `headers` on the input are refused (Herald never stores them on a delivery; set them on the
 *   webhook), and a `url` that differs from the webhook's is refused rather than silently ignored.
 * - Herald's extra terminal states read as the plugin's `dead` (`cancelled`, `skipped`, with the reason in
 *   `error`); `failed` is never written, as in the plugin.
 */
import { DeliveryNotEligibleError, DeliveryNotFoundError, ValidationError } from '../errors.js';
import type { HeraldClient } from '../client/herald-client.js';
import { listDeliveries, type Delivery } from '../store/deliveries.js';
import type { DataEngine } from '../store/data-engine.js';
import { findEvent } from '../store/events.js';
import { findWebhook } from '../store/webhooks.js';
import type { DeliveryStatus as HeraldStatus } from '../store/schema.js';

/** The plugin's delivery statuses. */
export type DeliveryStatus = 'pending' | 'in_flight' | 'success' | 'failed' | 'dead';

/** The plugin's `WebhookDelivery` (times in epoch ms). Herald never holds `headers` or `secret` on a delivery. */
export interface WebhookDelivery {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  url: string;
  method?: string;
  timeoutMs?: number;
  payload: unknown;
  status: DeliveryStatus;
  attempts: number;
  nextRetryAt?: number;
  lastAttemptedAt?: number;
  responseCode?: number;
  responseBody?: string;
  error?: string;
  createdAt: number;
  updatedAt: number;
}

/** The plugin's `EnqueueInput`. */
export interface EnqueueInput {
  webhookId: string;
  eventId: string;
  eventType: string;
  url: string;
  method?: string;
  headers?: Record<string, string>;
  secret?: string;
  timeoutMs?: number;
  payload: unknown;
}

export type RedeliverErrorCode = 'not_found' | 'not_eligible';

/** The plugin's redeliver refusal: `not_found` (no such delivery, or another tenant's) or `not_eligible`. */
export class RedeliverError extends Error {
  override name = 'RedeliverError';
  constructor(
    readonly code: RedeliverErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Thrown by `claim` and `ack`: their dispatcher does not exist on Temporal. */
export class DispatcherReplacedError extends Error {
  override name = 'DispatcherReplacedError';
  constructor(method: 'claim' | 'ack') {
    super(
      `IWebhookOutbox.${method}() is not available in Herald: the plugin's dispatcher (claim → send → ack) is replaced by ` +
        'Temporal, which runs every delivery as a durable workflow started by enqueue(); remove the dispatcher, and use ' +
        'list() and redeliver() to inspect and replay deliveries',
    );
  }
}

const TO_PLUGIN_STATUS: Readonly<Record<HeraldStatus, DeliveryStatus>> = {
  pending: 'pending',
  in_flight: 'in_flight',
  success: 'success',
  dead: 'dead',
  cancelled: 'dead',
  skipped: 'dead',
};

/** Herald statuses a plugin status filter covers. */
const FROM_PLUGIN_STATUS: Readonly<Record<DeliveryStatus, HeraldStatus[]>> = {
  pending: ['pending'],
  in_flight: ['in_flight'],
  success: ['success'],
  failed: [],
  dead: ['dead', 'cancelled', 'skipped'],
};

/** The plugin's redeliver rule: only from success, failed or dead. */
const REDELIVERABLE: ReadonlySet<DeliveryStatus> = new Set(['success', 'failed', 'dead']);

/** How many pages of 500 `list` reads before it stops (500,000 rows: list is an admin view, not an export). */
const MAX_LIST_PAGES = 1000;

export class HeraldWebhookOutbox {
  constructor(
    private readonly herald: HeraldClient,
    private readonly store: DataEngine,
  ) {}

  /** Starts the delivery of `eventId` to `webhookId`; a second call for the pair returns the same id. */
  async enqueue(input: EnqueueInput): Promise<string> {
    if (input === null || typeof input !== 'object') throw new ValidationError('input', 'must be an object');
    if (input.secret !== undefined) throw new ValidationError('secret', "is not accepted: Herald signs with the webhook's own secrets (set them on the webhook)");
    if (input.headers !== undefined) throw new ValidationError('headers', "are not accepted: Herald sends the webhook's own custom headers (set them on the webhook)");
    if (typeof input.webhookId !== 'string' || input.webhookId === '') throw new ValidationError('webhookId', 'must name a Herald webhook');
    const tenantId = this.herald.tenantId;
    const webhook = await findWebhook(this.store, input.webhookId, tenantId);
    if (!webhook) throw new ValidationError('webhookId', `no Herald webhook ${input.webhookId}`);
    if (input.url !== undefined && input.url !== webhook.url) {
      throw new ValidationError('url', `differs from webhook ${webhook.id}'s URL; Herald delivers to the webhook's URL (update the webhook to change it)`);
    }
    if (input.method !== undefined && input.method.toUpperCase() !== webhook.method.toUpperCase()) {
      throw new ValidationError('method', `differs from webhook ${webhook.id}'s method ${webhook.method}`);
    }
    const started = await this.herald.deliveries.deliver({ webhookId: webhook.id, eventId: input.eventId, eventType: input.eventType, payload: input.payload });
    return started.deliveryId;
  }

  /** Every delivery (of this client's tenant), newest first, optionally of one plugin status. */
  async list(filter: { status?: DeliveryStatus } = {}): Promise<WebhookDelivery[]> {
    const statuses: (HeraldStatus | undefined)[] = filter.status === undefined ? [undefined] : FROM_PLUGIN_STATUS[filter.status];
    if (statuses === undefined) throw new ValidationError('status', `must be one of ${Object.keys(FROM_PLUGIN_STATUS).join(', ')}`);
    const rows: Delivery[] = [];
    for (const status of statuses) {
      let cursor: string | undefined;
      for (let page = 0; page < MAX_LIST_PAGES; page++) {
        const result = await listDeliveries(this.store, { tenantId: this.herald.tenantId, ...(status ? { status } : {}), limit: 500, ...(cursor ? { cursor } : {}) });
        rows.push(...result.items);
        if (result.nextCursor === null) break;
        cursor = result.nextCursor;
      }
    }
    rows.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
    const payloads = new Map<string, unknown>();
    const out: WebhookDelivery[] = [];
    for (const d of rows) {
      const key = `${d.tenantId}\n${d.eventId}`;
      if (!payloads.has(key)) payloads.set(key, (await findEvent(this.store, d.tenantId, d.eventId))?.payload ?? null);
      out.push(toPluginDelivery(d, payloads.get(key)));
    }
    return out;
  }

  /** Sends a finished delivery again (same id). `not_found` / `not_eligible` as in the plugin. */
  async redeliver(id: string): Promise<void> {
    const current = await this.findOne(id);
    if (!current) throw new RedeliverError('not_found', `delivery ${id} not found`);
    const status = TO_PLUGIN_STATUS[current.status];
    if (!REDELIVERABLE.has(status)) throw new RedeliverError('not_eligible', `delivery ${id} is ${status}: only success, failed or dead deliveries can be redelivered`);
    try {
      await this.herald.deliveries.redeliver(id);
    } catch (err) {
      if (err instanceof DeliveryNotFoundError) throw new RedeliverError('not_found', err.message);
      if (err instanceof DeliveryNotEligibleError) throw new RedeliverError('not_eligible', err.message);
      throw err;
    }
  }

  claim(): never {
    throw new DispatcherReplacedError('claim');
  }

  ack(): never {
    throw new DispatcherReplacedError('ack');
  }

  private async findOne(id: string): Promise<Delivery | undefined> {
    try {
      return await this.herald.deliveries.get(id);
    } catch (err) {
      if (err instanceof DeliveryNotFoundError) return undefined;
      throw err;
    }
  }
}

function toPluginDelivery(d: Delivery, payload: unknown): WebhookDelivery {
  return {
    id: d.id,
    webhookId: d.webhookId,
    eventId: d.eventId,
    eventType: d.eventType,
    url: d.url,
    method: d.method,
    payload,
    status: TO_PLUGIN_STATUS[d.status],
    attempts: d.attempts,
    ...(d.nextRetryAt !== null ? { nextRetryAt: d.nextRetryAt } : {}),
    ...(d.lastAttemptedAt !== null ? { lastAttemptedAt: d.lastAttemptedAt } : {}),
    ...(d.responseCode !== null ? { responseCode: d.responseCode } : {}),
    ...(d.responseBody !== null ? { responseBody: d.responseBody } : {}),
    ...(d.error !== null ? { error: d.error } : d.status === 'cancelled' ? { error: 'cancelled by an operator' } : {}),
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}
