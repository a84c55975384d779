/**
 * The Temporal ceiling for `npm run bench`: the smallest workflow shaped like a delivery — one activity,
 * which does nothing — run on the same server as Herald. The bench bundles this file with
 * `bundleWorkflowCode` at start and runs it on its own task queue.
 *
 * The `shape` profiling phase also runs two variants that add one of Herald's costs each, to attribute the
 * server's work: Herald's two status upserts of a search attribute (started with Herald's five attributes),
 * and Herald's two mirror local activities around the activity.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { proxyActivities, proxyLocalActivities, upsertSearchAttributes } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '30 seconds' });
const { localNoop } = proxyLocalActivities<{ localNoop(): Promise<void> }>({ startToCloseTimeout: '10 seconds' });

const STATUS = defineSearchAttributeKey('HeraldDeliveryStatus', SearchAttributeType.KEYWORD);

export async function bareWorkflow(): Promise<void> {
  await noop();
}

/** bare + Herald's status upserts ('pending' before the activity, 'success' after). */
export async function bareWithSearchAttributes(): Promise<void> {
  upsertSearchAttributes([{ key: STATUS, value: 'pending' }]);
  await noop();
  upsertSearchAttributes([{ key: STATUS, value: 'success' }]);
}

/** bare + Herald's two mirror writes as local activities (which here write nothing). */
export async function bareWithLocalActivities(): Promise<void> {
  await localNoop();
  await noop();
  await localNoop();
}
