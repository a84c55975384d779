import { afterAll, afterEach, beforeAll } from 'vitest';
import type { DataEngine } from '../../src/store/data-engine.js';
import { openEngine } from '../../src/store/open-engine.js';
import { startReceiver, type Receiver } from './receiver.js';
import { startTimeSkippingTemporal, type TemporalForTests } from './temporal.js';

/**
 * One time-skipping server and one in-memory delivery store for the calling test file (started before its
 * tests, stopped after them), and receivers on loopback that are closed after each test.
 */
export function useTimeSkippingServer() {
  let temporal: TemporalForTests | undefined;
  let store: DataEngine | undefined;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    temporal = await startTimeSkippingTemporal();
    store = await openEngine('memory:');
  });

  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  afterAll(async () => {
    await store?.close();
    await temporal?.teardown();
  });

  return {
    get temporal(): TemporalForTests {
      if (!temporal) throw new Error('the time-skipping server starts in beforeAll');
      return temporal;
    },
    get store(): DataEngine {
      if (!store) throw new Error('the store opens in beforeAll');
      return store;
    },
    async receiver(host?: string): Promise<Receiver> {
      const r = await startReceiver(host ? { host } : {});
      receivers.push(r);
      return r;
    },
  };
}
