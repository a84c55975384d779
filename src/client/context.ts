import type { Client } from '@temporalio/client';
import type { DataEngine } from '../store/data-engine.js';
import type { SecretBox } from '../store/secret-box.js';
import type { DeliveryStarter } from '../delivery/start-delivery.js';
import type { ValidatedRegistryDeps } from './webhook-validation.js';

/** What every part of the client shares. `scope` is the tenant a scoped caller is bound to (undefined = admin). */
export interface ClientContext {
  temporal: Client;
  store: DataEngine;
  box: SecretBox;
  taskQueue: string;
  clock: () => number;
  searchAttributes: boolean;
  maxPayloadBytes: number;
  httpsOnly: boolean;
  /** Publish starts up to this many deliveries itself; more go through the fan-out workflow. */
  directFanOutLimit: number;
  /** Request eager workflow start (the client shares a worker's NativeConnection). */
  eagerStart: boolean;
  onDeliveryStarted?: (started: { eager: boolean }) => void;
  scope: string | undefined;
}

export function registryDeps(ctx: ClientContext): ValidatedRegistryDeps {
  return { engine: ctx.store, box: ctx.box, clock: ctx.clock, httpsOnly: ctx.httpsOnly };
}

export function starterOf(ctx: ClientContext): DeliveryStarter {
  return {
    temporal: ctx.temporal,
    taskQueue: ctx.taskQueue,
    searchAttributes: ctx.searchAttributes,
    eager: ctx.eagerStart,
    ...(ctx.onDeliveryStarted ? { onStarted: ctx.onDeliveryStarted } : {}),
  };
}
