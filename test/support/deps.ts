import { pino } from 'pino';
import type { ActivityDeps } from '../../src/activities/create-activities.js';
import { parseEgressAllowList } from '../../src/egress/allow-list.js';
import { createGuardedDispatcher } from '../../src/egress/guarded-dispatcher.js';
import type { Client } from '@temporalio/client';
import type { DataEngine } from '../../src/store/data-engine.js';
import { createSecretBox } from '../../src/store/secret-box.js';

/** A fixed key for tests (never used outside them). */
export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 7);
export const TEST_BOX = createSecretBox(TEST_ENCRYPTION_KEY);

/**
 * Activity dependencies for tests: real store, real guarded dispatcher (loopback 127.0.0.1 allowed), no jitter
 * drift. Pass `temporal` + `taskQueue` where workflows start deliveries (fan-out, recovery).
 */
export function testActivityDeps(
  store: DataEngine,
  overrides: Partial<ActivityDeps> & { temporal?: Client; taskQueue?: string; searchAttributes?: boolean } = {},
): ActivityDeps {
  const { temporal, taskQueue, searchAttributes, ...rest } = overrides;
  return {
    store,
    box: TEST_BOX,
    starter: {
      temporal: temporal ?? (new Proxy({}, { get: () => { throw new Error('this test gave testActivityDeps no Temporal client'); } }) as Client),
      taskQueue: taskQueue ?? 'unset',
      searchAttributes: searchAttributes ?? true,
    },
    dispatcher: createGuardedDispatcher({ allow: parseEgressAllowList('127.0.0.1') }),
    clock: Date.now,
    // 0.5 puts the jitter factor at exactly 1, so delays equal the schedule.
    random: () => 0.5,
    logger: pino({ level: 'silent' }),
    userAgent: 'Herald/test',
    ...rest,
  };
}

let counter = 0;
/** Ids unique across tests and runs against the same server. */
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${process.pid.toString(36)}${counter}`;
}
