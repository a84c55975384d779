/**
 * Auto-enqueue: every ObjectQL data change becomes one Herald event, which Herald fans out to the webhooks of
 * the record's organization subscribed to `<object>.<action>` (the subscription model: Herald webhooks, see
 * README "In an ObjectStack application").
 *
 * It sits in front of the app's realtime service (`ql.setRealtimeService`): ObjectQL awaits `publish` inside
 * every write, so the event row is stored — in the app's own database, through the ObjectQL engine — before
 * the write returns to its caller. That is the durability the plugin lacks (its bus is in memory and
 * fire-and-forget): the Temporal start of the fan-out runs after that, in the background, and when Temporal is
 * unreachable it fails, is logged, and the stored `fanning_out` event is fanned out later by Herald's re-fan
 * schedule (`herald-refan`). A re-fired hook is the same event id: stored and delivered once.
 */
import type { HeraldClient } from '../client/herald-client.js';
import { EventId, payloadJson } from '../client/validation.js';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../config/defaults.js';
import type { DataEngine } from '../store/data-engine.js';
import { recordEvent } from '../store/events.js';
import { translateDataEvent, type HeraldDataEvent, type RealtimeEnvelope } from './data-change-events.js';

/** `IRealtimeService` of `@objectstack/spec/contracts`, structurally (the parts ObjectQL and apps use). */
export interface RealtimeServiceLike {
  publish(event: RealtimeEnvelope): Promise<void>;
  subscribe(channel: string, handler: (event: RealtimeEnvelope) => void | Promise<void>, options?: { object?: string; eventTypes?: string[] }): Promise<string>;
  unsubscribe(subscriptionId: string): Promise<void>;
}

export interface PublisherLogger {
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

export interface DataChangePublisherOptions {
  herald: HeraldClient;
  /** The engine Herald's events are stored in (the ObjectQL engine). */
  store: DataEngine;
  /** Objects whose changes are never published: Herald's own (its writes go through the same engine). */
  ignoreObjects: ReadonlySet<string>;
  /** The object's declared field names, for the payload's declared-fields-only rule. */
  declaredFields(object: string): ReadonlySet<string> | undefined;
  /** Publish `data.records.*` (predicate writes) too; default false, as in the plugin. */
  bulkEvents?: boolean;
  /** The tenant for organization-less records; default 'default'. An organization's tenant is its id. */
  defaultTenant?: string;
  maxPayloadBytes?: number;
  logger: PublisherLogger;
  clock?: () => number;
}

/** Longest a shutdown waits for background fan-out starts before it stops waiting (they are re-fanned later). */
const DRAIN_TIMEOUT_MS = 10_000;

export class DataChangePublisher {
  readonly #opts: DataChangePublisherOptions;
  readonly #inFlight = new Set<Promise<unknown>>();
  #stopped = false;

  constructor(options: DataChangePublisherOptions) {
    this.#opts = options;
  }

  /** Handles one realtime envelope: stores the Herald event (awaited), then starts its fan-out (not awaited). */
  async handle(envelope: RealtimeEnvelope): Promise<HeraldDataEvent | undefined> {
    if (this.#stopped) return undefined;
    const object = envelope.object ?? (envelope.payload as { object?: unknown } | undefined)?.object;
    if (typeof object === 'string' && this.#opts.ignoreObjects.has(object)) return undefined;
    if (!envelope.type.startsWith('data.record')) return undefined;
    const translated = translateDataEvent(envelope, {
      declaredFields: typeof object === 'string' ? this.#opts.declaredFields(object) : undefined,
      bulk: this.#opts.bulkEvents ?? false,
    });
    if ('skip' in translated) {
      if (!translated.skip.includes('bulk events are off') && !translated.skip.includes('matched no rows')) this.#opts.logger.warn(`herald: data event dropped: ${translated.skip}`);
      return undefined;
    }
    const event = translated.event;
    const tenantId = event.organizationId ?? this.#opts.defaultTenant ?? 'default';
    const parsed = EventId.safeParse(event.id);
    if (!parsed.success) {
      this.#opts.logger.warn(`herald: data event dropped: event id ${JSON.stringify(event.id)} ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
      return undefined;
    }
    const json = payloadJson(event.payload, this.#opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES);
    const eventTimeMs = Date.parse(event.timestamp);
    const time = Number.isNaN(eventTimeMs) ? (this.#opts.clock ?? Date.now)() : eventTimeMs;
    // Durable first: the event row, in the app's database, before the app's write returns.
    await recordEvent(this.#opts.store, { tenantId, eventId: event.id, eventType: event.type, eventTimeMs: time, payloadJson: json }, (this.#opts.clock ?? Date.now)());
    // Then the fan-out. `publish` finds the stored event (same id, type and payload) and starts its workflow;
    // if Temporal is away it fails here, and the re-fan schedule starts it later.
    const start = this.#opts.herald.events
      .publish({ id: event.id, type: event.type, payload: event.payload, tenantId, time })
      .catch((err: unknown) => {
        this.#opts.logger.error('herald: could not start the fan-out of a stored data event; the re-fan schedule will', {
          eventId: event.id,
          tenantId,
          error: err instanceof Error ? err.message : String(err),
        });
      });
    this.#inFlight.add(start);
    void start.finally(() => this.#inFlight.delete(start));
    return event;
  }

  /** Stops publishing and waits (bounded) for fan-out starts already under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.#inFlight]), new Promise<void>((resolve) => (timer = setTimeout(resolve, DRAIN_TIMEOUT_MS)))]);
    clearTimeout(timer);
  }
}

/**
 * The realtime service Herald hands ObjectQL: every envelope goes to the publisher first (awaited), then to
 * the app's own realtime service if it has one, so the app's subscribers keep working. Without one, it keeps a
 * minimal in-process subscriber list (object and event-type filters) so `subscribe` still works.
 */
export function heraldRealtimeService(publisher: DataChangePublisher, logger: PublisherLogger, forward?: RealtimeServiceLike): RealtimeServiceLike {
  const local = new Map<string, { handler: (event: RealtimeEnvelope) => void | Promise<void>; object?: string; eventTypes?: string[] }>();
  let next = 0;
  return {
    async publish(event) {
      try {
        await publisher.handle(event);
      } catch (err) {
        // ObjectQL swallows publish errors (a committed write is not rolled back); say what was lost.
        logger.error('herald: a data event could not be stored; it will not be delivered', {
          type: event.type,
          object: event.object,
          error: err instanceof Error ? err.message : String(err),
        });
      }
      if (forward) {
        await forward.publish(event);
        return;
      }
      for (const sub of local.values()) {
        if (sub.object !== undefined && sub.object !== event.object) continue;
        if (sub.eventTypes !== undefined && !sub.eventTypes.includes(event.type)) continue;
        await sub.handler(event);
      }
    },
    async subscribe(channel, handler, options) {
      if (forward) return await forward.subscribe(channel, handler, options);
      const id = `herald-sub-${++next}`;
      local.set(id, { handler, ...options });
      return id;
    },
    async unsubscribe(id) {
      if (forward) return await forward.unsubscribe(id);
      local.delete(id);
    },
  };
}
