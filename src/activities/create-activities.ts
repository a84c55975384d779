import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import type { DataEngine } from '../store/data-engine.js';
import { createMirrorDelivery } from './mirror-delivery.js';
import { createSendSignedWebhook } from './send-signed-webhook.js';

/** Everything activities touch, built once by the worker and injected (tests pass their own). */
export interface ActivityDeps {
  store: DataEngine;
  /** The egress-guarded undici Agent every attempt goes through. */
  dispatcher: Dispatcher;
  clock: () => number;
  /** Uniform in [0, 1): retry jitter. */
  random: () => number;
  logger: Logger;
  userAgent: string;
}

export function createActivities(deps: ActivityDeps) {
  return {
    sendSignedWebhook: createSendSignedWebhook(deps),
    mirrorDelivery: createMirrorDelivery(deps),
  };
}
