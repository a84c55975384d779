/**
 * A delivery's result as the typed client gives it. Since `deliverWebhookV3` a dead (or skipped) delivery FAILS
 * its workflow, so the Temporal Web UI shows it as failed, with the result as the failure's details; this turns
 * that failure back into the result, the same shape every delivery type returns.
 */
import { ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { DeliverWebhookResult } from '../workflows/messages.js';

function isResult(value: unknown): value is DeliverWebhookResult {
  return typeof value === 'object' && value !== null && 'deliveryId' in value && 'status' in value && 'attempts' in value;
}

/** The result carried by a failed delivery workflow, or undefined when the failure is something else. */
export function resultOfFailedDelivery(err: unknown): DeliverWebhookResult | undefined {
  if (!(err instanceof WorkflowFailedError) || !(err.cause instanceof ApplicationFailure)) return undefined;
  const details = err.cause.details?.[0];
  return isResult(details) ? details : undefined;
}

/** Waits for the run to close; a dead or skipped delivery resolves with its result instead of rejecting. */
export async function deliveryResult(handle: Pick<WorkflowHandle, 'result'>): Promise<DeliverWebhookResult> {
  try {
    return (await handle.result()) as DeliverWebhookResult;
  } catch (err) {
    const result = resultOfFailedDelivery(err);
    if (result) return result;
    throw err;
  }
}
