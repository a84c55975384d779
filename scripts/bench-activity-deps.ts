/**
 * The activity dependencies every Herald worker in the bench runs with (worker processes, the in-process worker,
 * the cost phase): the real store and sealed secrets, the egress-guarded dispatcher with 127.0.0.1 allowed (the
 * receiver), real jitter, no logging.
 */
import { pino } from 'pino';
import type { ActivityDeps } from '../src/activities/create-activities.js';
import type { DeliveryStarter } from '../src/delivery/start-delivery.js';
import { parseEgressAllowList } from '../src/egress/allow-list.js';
import { createGuardedDispatcher } from '../src/egress/guarded-dispatcher.js';
import type { DataEngine } from '../src/store/data-engine.js';
import type { SecretBox } from '../src/store/secret-box.js';

export function benchActivityDeps(store: DataEngine, box: SecretBox, starter: DeliveryStarter): ActivityDeps {
  return {
    store,
    box,
    starter,
    dispatcher: createGuardedDispatcher({ allow: parseEgressAllowList('127.0.0.1') }),
    clock: Date.now,
    random: Math.random,
    logger: pino({ level: 'silent' }),
    userAgent: 'Herald/bench',
  };
}
