import type { Client } from '@temporalio/client';
import type { DataEngine } from '../store/data-engine.js';
import type { SecretBox } from '../store/secret-box.js';
import type { ValidatedRegistryDeps as RegistryDeps } from './webhook-validation.js';
import type { DeliveryStarter } from './start-delivery.js';

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
  scope: string | undefined;
}

export function registryDeps(ctx: ClientContext): RegistryDeps {
  return { engine: ctx.store, box: ctx.box, clock: ctx.clock, httpsOnly: ctx.httpsOnly };
}

export function starterOf(ctx: ClientContext): DeliveryStarter {
  return { temporal: ctx.temporal, taskQueue: ctx.taskQueue, searchAttributes: ctx.searchAttributes };
}
