import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDeliverFirstAttempt } from '../../src/activities/deliver-first-attempt.js';
import { createSendSignedWebhook } from '../../src/activities/send-signed-webhook.js';
import { FailureType } from '../../src/delivery/failure-types.js';
import { deliveryId, deliveryWorkflowId } from '../../src/delivery/ids.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { findDelivery, getDeliveryWithAttempts } from '../../src/store/deliveries.js';
import { recordEvent } from '../../src/store/events.js';
import { openEngine } from '../../src/store/open-engine.js';
import { parseNewWebhook } from '../../src/client/webhook-validation.js';
import { createWebhook, findWebhook } from '../../src/store/webhooks.js';
import type { AttemptFailureDetails, FirstAttemptInput, SendSignedWebhookInput } from '../../src/workflows/messages.js';
import { TEST_BOX, testActivityDeps, uniqueId } from '../support/deps.js';
import { startReceiver, type Receiver } from '../support/receiver.js';

// The attempt's decisions, made where they are made: the two activities run in Temporal's mock activity
// context (attempt numbers set per case) against a real store and a real receiver on 127.0.0.1.
describe('sendSignedWebhook and deliverFirstAttempt decide', () => {
  let store: DataEngine;
  let receiver: Receiver;

  beforeAll(async () => {
    store = await openEngine('memory:');
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
    await store.close();
  });
  beforeEach(() => {
    receiver.respond = () => ({ status: 200, body: 'ok' });
  });

  async function delivery(schedule = [5, 300]) {
    const input0 = parseNewWebhook({ url: receiver.url, retrySchedule: schedule, retryJitter: 0 }, { httpsOnly: false, scope: undefined });
    const webhook = await createWebhook({ engine: store, box: TEST_BOX, clock: Date.now }, input0);
    const secret = input0.secret;
    const eventId = uniqueId('evt_');
    await recordEvent(store, { tenantId: 'default', eventId, eventType: 'order.created', eventTimeMs: 1_700_000_000_000, payloadJson: '{"id":1}' });
    const input: FirstAttemptInput = {
      deliveryId: deliveryId(webhook.id, eventId),
      webhookId: webhook.id,
      tenantId: 'default',
      eventId,
      eventType: 'order.created',
      eventTimeMs: 1_700_000_000_000,
      maxAttempts: schedule.length + 1,
      attemptTimeoutMs: 5_000,
      workflowId: deliveryWorkflowId(webhook.id, eventId),
      runId: uniqueId('run-'),
    };
    const retry: SendSignedWebhookInput = { ...input, attemptOffset: 1 };
    return { webhook, secret, input, retry };
  }

  const deps = () => testActivityDeps(store);
  const first = (input: FirstAttemptInput) => new MockActivityEnvironment({ attempt: 1 }).run(createDeliverFirstAttempt(deps()), input);
  const send = (input: SendSignedWebhookInput, activityAttempt: number) => new MockActivityEnvironment({ attempt: activityAttempt }).run(createSendSignedWebhook(deps()), input);
  async function failure(promise: Promise<unknown>): Promise<ApplicationFailure> {
    const err = await promise.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }

  it('a 200 on the fast path: success at attempt 1, the row in three writes, signed for an independent verifier', async () => {
    const { secret, input } = await delivery();
    expect(await first(input)).toEqual({ outcome: 'success', attempt: 1, responseCode: 200, durationMs: expect.any(Number) });
    const row = await getDeliveryWithAttempts(store, input.deliveryId);
    expect(row).toMatchObject({ status: 'success', attempts: 1, responseCode: 200, runId: input.runId, url: receiver.url });
    expect(row.attemptLog.map((a) => a.outcome)).toEqual(['success']);
    const request = receiver.requests.at(-1)!;
    expect(() => new StandardWebhook(secret).verify(request.body, request.headers as Record<string, string>)).not.toThrow();
  });

  it('a 503 on the fast path: retry with the schedule delay, row pending with next_retry_at', async () => {
    const { input } = await delivery([5, 300]);
    receiver.respond = () => ({ status: 503 });
    const result = await first(input);
    expect(result).toMatchObject({ outcome: 'retry', attempt: 1, responseCode: 503, retryDelayMs: 5_000 });
    expect(await findDelivery(store, input.deliveryId)).toMatchObject({ status: 'pending', attempts: 1, nextRetryAt: expect.any(Number) });
  });

  it('the retry activity numbers its attempt after the fast path (activity attempt 1 = delivery attempt 2) and follows the schedule', async () => {
    const { input, retry } = await delivery([5, 300]);
    receiver.respond = () => ({ status: 503 });
    await first(input);
    const err = await failure(send(retry, 1));
    expect(err).toMatchObject({ type: FailureType.AttemptFailed, nonRetryable: false, nextRetryDelay: 300_000 });
    expect((err.details?.[0] as AttemptFailureDetails).attempt).toBe(2);
    // The last allowed attempt: exhausted, final, and the row already says dead.
    const last = await failure(send(retry, 2));
    expect(last).toMatchObject({ type: FailureType.RetriesExhausted, nonRetryable: true });
    expect(last.details?.[0]).toMatchObject({ attempt: 3, responseCode: 503, recorded: true });
    expect(await findDelivery(store, input.deliveryId)).toMatchObject({ status: 'dead', attempts: 3 });
  });

  it('a 400 is dead at once; a 410 is dead and disables the webhook; both recorded by the attempt', async () => {
    const a = await delivery();
    receiver.respond = () => ({ status: 400 });
    expect(await first(a.input)).toMatchObject({ outcome: 'dead', failureType: FailureType.Rejected, responseCode: 400, recorded: true });
    const b = await delivery();
    receiver.respond = () => ({ status: 410 });
    expect(await first(b.input)).toMatchObject({ outcome: 'dead', failureType: FailureType.Gone, recorded: true });
    expect((await findWebhook(store, b.webhook.id))?.active).toBe(false);
  });

  it('a Retry-After longer than the schedule wins', async () => {
    const { input } = await delivery([5, 300]);
    receiver.respond = () => ({ status: 429, headers: { 'retry-after': '120' } });
    expect(await first(input)).toMatchObject({ outcome: 'retry', retryDelayMs: 120_000 });
  });

  it('an attempt whose earlier completion was lost reports what the row recorded instead of sending again', async () => {
    const { input, retry } = await delivery([5, 300]);
    receiver.respond = () => ({ status: 503 });
    await first(input);
    receiver.respond = () => ({ status: 200 });
    await send(retry, 1); // delivered, but say its completion never reached Temporal
    const sent = receiver.requests.length;
    // Temporal retries the activity: the row is already a success of this run, so nothing is sent.
    expect(await send(retry, 2)).toMatchObject({ attempt: 2, responseCode: 200 });
    expect(receiver.requests.length).toBe(sent);
  });

  it('a fast path run again after a lost workflow task counts the lost attempt and sends the next number', async () => {
    const { input } = await delivery([5, 300]);
    // The first run got as far as marking attempt 1 in flight, then its worker died.
    receiver.respond = () => ({ status: 200 });
    await first(input);
    await store.update('herald_deliveries', { status: 'in_flight' }, { where: { id: input.deliveryId }, multi: false });
    expect(await first(input)).toMatchObject({ outcome: 'success', attempt: 2 });
    const row = await getDeliveryWithAttempts(store, input.deliveryId);
    expect(row.attemptLog.map((a) => a.attempt)).toEqual([1, 2]);
  });

  it('a redelivered row (a newer run) is not this run\'s: superseded, nothing sent', async () => {
    const { input, retry } = await delivery([5, 300]);
    receiver.respond = () => ({ status: 503 });
    await first(input);
    await store.update('herald_deliveries', { run_id: 'a-newer-run' }, { where: { id: input.deliveryId }, multi: false });
    const sent = receiver.requests.length;
    const err = await failure(send(retry, 1));
    expect(err).toMatchObject({ type: FailureType.Superseded, nonRetryable: true });
    expect(receiver.requests.length).toBe(sent);
  });

  it('a deleted webhook or a missing event is final without a request', async () => {
    const { input } = await delivery();
    await store.update('herald_webhooks', { deleted_at: Date.now() }, { where: { id: input.webhookId }, multi: false });
    const sent = receiver.requests.length;
    expect(await first(input)).toMatchObject({ outcome: 'dead', failureType: FailureType.WebhookUnavailable, recorded: false });
    const b = await delivery();
    await store.delete('herald_events', { where: { event_id: b.input.eventId }, multi: true });
    expect(await first(b.input)).toMatchObject({ outcome: 'dead', failureType: FailureType.EventMissing, recorded: false });
    expect(receiver.requests.length).toBe(sent);
  });
});
