import { deliveryRowOf, findDelivery, recordDeliveryCreated, recordDeliveryFinished } from '../store/deliveries.js';
import { findWebhook } from '../store/webhooks.js';
import type { MirrorDeliveryInput } from '../workflows/messages.js';
import type { ActivityDeps } from './create-activities.js';

/**
 * The sidecar that keeps the delivery table in step with the workflow: one row per delivery, written when a
 * run starts and when it ends (attempts write their own state as they happen). Idempotent: retried or
 * replayed calls leave the same row.
 */
export function createMirrorDelivery({ store, clock }: Pick<ActivityDeps, 'store' | 'clock'>) {
  return async function mirrorDelivery(input: MirrorDeliveryInput): Promise<{ attempts: number; responseCode: number | null } | undefined> {
    if (input.phase === 'created') {
      await recordDeliveryCreated(store, deliveryRowOf(input, await findWebhook(store, input.webhookId)), clock());
      return undefined;
    }
    await recordDeliveryFinished(
      store,
      { deliveryId: input.deliveryId, runId: input.runId, status: input.phase, responseCode: input.responseCode, error: input.error },
      clock(),
    );
    const row = await findDelivery(store, input.deliveryId);
    // The row's last response code too: a cancelled send reports none, yet an earlier attempt may have had one.
    return row?.runId === input.runId ? { attempts: row.attempts, responseCode: row.responseCode } : { attempts: input.attempts, responseCode: input.responseCode };
  };
}
