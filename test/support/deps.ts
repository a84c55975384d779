import { pino } from 'pino';
import type { ActivityDeps } from '../../src/activities/create-activities.js';
import { createGuardedDispatcher, parseEgressAllowList } from '../../src/activities/egress-guard.js';
import type { DataEngine } from '../../src/store/data-engine.js';

/** Activity dependencies for tests: real store, real guarded dispatcher (loopback 127.0.0.1 allowed), no jitter drift. */
export function testActivityDeps(store: DataEngine, overrides: Partial<ActivityDeps> = {}): ActivityDeps {
  return {
    store,
    dispatcher: createGuardedDispatcher({ allow: parseEgressAllowList('127.0.0.1') }),
    clock: Date.now,
    // 0.5 puts the jitter factor at exactly 1, so delays equal the schedule.
    random: () => 0.5,
    logger: pino({ level: 'silent' }),
    userAgent: 'Herald/test',
    ...overrides,
  };
}

let counter = 0;
/** Ids unique across tests and runs against the same server. */
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${process.pid.toString(36)}${counter}`;
}
