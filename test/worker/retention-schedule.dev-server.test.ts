import { ScheduleOverlapPolicy } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureRetentionSchedule, RETENTION_SCHEDULE_ID } from '../../src/worker/retention-schedule.js';
import { eventually } from '../support/delivery-checks.js';
import { uniqueId } from '../support/deps.js';
import { useDevServerFixture } from '../support/dev-server-fixture.js';

// The Temporal Schedule that runs the retention sweep, on the real dev server: created once, brought up to date
// by every later start (never a second schedule, never an error), and its action runs the sweep.

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

describe('the retention schedule on the dev server', () => {
  const dev = useDevServerFixture('schedule');

  // Registered after the fixture's hooks, so it runs first: the schedule goes before its server does.
  afterAll(async () => {
    await dev.temporal.env.client.schedule.getHandle(RETENTION_SCHEDULE_ID).delete().catch(() => undefined);
  });

  async function scheduleIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const s of dev.temporal.env.client.schedule.list()) ids.push(s.scheduleId);
    return ids;
  }

  it('ensureRetentionSchedule creates herald-retention, is idempotent (a second call updates it), and its action runs the sweep', async () => {
    const taskQueue = uniqueId('tq-');
    const client = dev.temporal.env.client;
    const handle = client.schedule.getHandle(RETENTION_SCHEDULE_ID);

    await ensureRetentionSchedule(client, { taskQueue, retention: { deliveredMaxAgeMs: 7 * DAY_MS, deadMaxAgeMs: 30 * DAY_MS, intervalMs: HOUR_MS } });
    const created = await handle.describe();
    expect(created.scheduleId).toBe('herald-retention');
    expect(created.spec.intervals).toMatchObject([{ every: HOUR_MS }]);
    expect(created.spec.intervals).toHaveLength(1);
    expect(created.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    expect(created.state.paused).toBe(false);
    expect(created.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'sweepRetention',
      taskQueue,
      workflowId: RETENTION_SCHEDULE_ID,
      args: [{ deliveredMaxAgeMs: 7 * DAY_MS, deadMaxAgeMs: 30 * DAY_MS }],
    });
    expect(created.info.nextActionTimes.length).toBeGreaterThan(0);

    // Again with the same config: no error, still one schedule, unchanged.
    await ensureRetentionSchedule(client, { taskQueue, retention: { deliveredMaxAgeMs: 7 * DAY_MS, deadMaxAgeMs: 30 * DAY_MS, intervalMs: HOUR_MS } });
    await eventually(async () => expect(await scheduleIds()).toEqual([RETENTION_SCHEDULE_ID]));
    const same = await handle.describe();
    expect(same.spec.intervals).toEqual(created.spec.intervals);
    expect(same.action).toEqual(created.action);

    // Again with a new config (as after a restart with other settings): the schedule is updated in place.
    const newQueue = uniqueId('tq-');
    await ensureRetentionSchedule(client, { taskQueue: newQueue, retention: { deliveredMaxAgeMs: 3 * DAY_MS, deadMaxAgeMs: 0, intervalMs: 15 * 60_000 } });
    const updated = await handle.describe();
    expect(updated.spec.intervals).toMatchObject([{ every: 15 * 60_000 }]);
    expect(updated.spec.intervals).toHaveLength(1);
    expect(updated.action).toMatchObject({ type: 'startWorkflow', workflowType: 'sweepRetention', taskQueue: newQueue, args: [{ deliveredMaxAgeMs: 3 * DAY_MS, deadMaxAgeMs: 0 }] });
    expect(updated.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    expect(await scheduleIds()).toEqual([RETENTION_SCHEDULE_ID]);

    // Its action is a runnable sweep: trigger it with a worker on the queue and an expired success row.
    const now = Date.now();
    await dev.store.insert('herald_deliveries', {
      id: 'dlv_expired',
      webhook_id: 'wh_x',
      event_id: 'evt_x',
      event_type: 'order.created',
      event_time: now - 10 * DAY_MS,
      url: 'http://127.0.0.1:9/hook',
      status: 'success',
      workflow_id: 'delivery:wh_x:evt_x',
      created_at: now - 10 * DAY_MS,
      updated_at: now - 10 * DAY_MS,
    });
    const { worker } = await dev.worker({ taskQueue: newQueue });
    await worker.runUntil(async () => {
      await handle.trigger();
      const action = await eventually(async () => {
        const [recent] = (await handle.describe()).info.recentActions;
        expect(recent).toBeDefined();
        return recent!.action;
      });
      expect(action.workflow.workflowId.startsWith(`${RETENTION_SCHEDULE_ID}-`)).toBe(true);
      const result = await client.workflow.getHandle(action.workflow.workflowId, action.workflow.firstExecutionRunId).result();
      expect(result).toEqual({ deletedDeliveries: 1, deletedEvents: 0 });
    });
    expect(await dev.store.count('herald_deliveries', {})).toBe(0);
  });
});
