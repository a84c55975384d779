/**
 * The Temporal ceilings for `npm run bench`: the smallest workflows shaped like a delivery, run on the same
 * server as Herald. The bench bundles this file with `bundleWorkflowCode` at start and runs it on its own task
 * queue. Their one activity POSTs once to the bench receiver (unsigned, no table) and reports when it answered.
 *
 * - `bareWorkflow`: the POST in one regular activity (an activity task per workflow: 2 workflow tasks).
 * - `bareLocalWorkflow`: the POST in a local activity (one workflow task, no activity task): the fast path's
 *   ceiling.
 * The `shape` profiling phase also runs variants that add one of Herald's costs each: status upserts of a
 * search attribute, and mirror local activities around the activity.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { proxyActivities, proxyLocalActivities, upsertSearchAttributes } from '@temporalio/workflow';

interface BaselineActivities {
  post(): Promise<void>;
  localNoop(): Promise<void>;
}

const { post } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '30 seconds' });
const { post: localPost, localNoop } = proxyLocalActivities<BaselineActivities>({ startToCloseTimeout: '30 seconds' });

const STATUS = defineSearchAttributeKey('HeraldDeliveryStatus', SearchAttributeType.KEYWORD);

export async function bareWorkflow(): Promise<void> {
  await post();
}

export async function bareLocalWorkflow(): Promise<void> {
  await localPost();
}

/** bare + two status upserts ('pending' before the activity, 'success' after). */
export async function bareWithSearchAttributes(): Promise<void> {
  upsertSearchAttributes([{ key: STATUS, value: 'pending' }]);
  await post();
  upsertSearchAttributes([{ key: STATUS, value: 'success' }]);
}

/** bare + two mirror writes as local activities (which here write nothing). */
export async function bareWithLocalActivities(): Promise<void> {
  await localNoop();
  await post();
  await localNoop();
}
