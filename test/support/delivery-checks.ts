import { createHmac } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import type { Dispatcher } from 'undici';
import { expect } from 'vitest';
import type { HeraldClient } from '../../src/client/herald-client.js';
import type { DeliverWebhookResult } from '../../src/workflows/messages.js';
import type { ReceivedRequest } from './receiver.js';

/**
 * The history as text, with every bytes field (payload data, failure details, headers…) decoded as UTF-8.
 * A plain `JSON.stringify(history)` goes through protobuf's `toJSON`, which renders bytes as base64, where
 * no plain string could ever be found; decoding is what makes "the secret is absent" a real check.
 */
export async function historyText(handle: WorkflowHandle): Promise<string> {
  return JSON.stringify(decodeBytes(await handle.fetchHistory()));
}

function decodeBytes(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map(decodeBytes);
  if (value !== null && typeof value === 'object') {
    // Own fields only, and never the message's toJSON (which is what turns bytes into base64).
    const plain: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) plain[key] = decodeBytes(field);
    return plain;
  }
  return value;
}

export interface EndCheck {
  herald: HeraldClient;
  handle: WorkflowHandle;
  deliveryId: string;
  result: DeliverWebhookResult;
  /** Secret strings and custom header values: none may appear anywhere in the history. */
  secrets: string[];
  /** Strings the history must contain (the event id, a payload marker): proof that the decoding works. */
  present: string[];
}

/**
 * What every scenario ends with: (1) the table agrees with Temporal (status, attempts, response code; one
 * attempt-log row per attempt, all of this run), and (2) no secret in the run's history. Returns the row.
 */
export async function expectDeliveryEnd(check: EndCheck) {
  const { herald, handle, deliveryId, result } = check;
  const row = await herald.deliveries.get(deliveryId);
  const description = await handle.describe();
  expect(row.runId).toBe(description.runId);
  expect({ status: row.status, attempts: row.attempts, responseCode: row.responseCode }).toEqual({
    status: result.status,
    attempts: result.attempts,
    responseCode: result.responseCode,
  });
  expect(row.attemptLog.map((a) => a.attempt)).toEqual(Array.from({ length: result.attempts }, (_, i) => i + 1));
  for (const attempt of row.attemptLog) expect(attempt.runId).toBe(description.runId);

  const text = await historyText(handle);
  for (const marker of check.present) expect(text).toContain(marker);
  for (const secret of check.secrets) {
    expect(secret.length).toBeGreaterThanOrEqual(8);
    expect(text).not.toContain(secret);
    // The plain stringify the issue names, too (bytes are base64 there, so this one alone proves little).
    expect(JSON.stringify(await handle.fetchHistory())).not.toContain(secret);
  }
  return row;
}

/** A Standard Webhooks secret and its key material (the base64 after `whsec_`): both must stay out of history. */
export function secretForms(secret: string): string[] {
  return secret.startsWith('whsec_') ? [secret, secret.slice('whsec_'.length)] : [secret];
}

/** Verifies a Standard Webhooks request with both independent libraries; returns the parsed envelope. */
export function verifyStandard(secret: string, request: ReceivedRequest): unknown {
  const headers = request.headers as Record<string, string>;
  const viaStandard = new StandardWebhook(secret).verify(request.body, {
    'webhook-id': headers['webhook-id']!,
    'webhook-timestamp': headers['webhook-timestamp']!,
    'webhook-signature': headers['webhook-signature']!,
  });
  const viaSvix = new SvixWebhook(secret).verify(request.body, {
    'svix-id': headers['webhook-id']!,
    'svix-timestamp': headers['webhook-timestamp']!,
    'svix-signature': headers['webhook-signature']!,
  });
  expect(viaSvix).toEqual(viaStandard);
  return viaStandard;
}

/** `sha256=<hex HMAC-SHA256(secret, body)>`, computed here with node:crypto, not with Herald's signer. */
export function objectstackSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Server time at each attempt's send, for measuring the gaps between attempts exactly.
 *
 * It wraps the (guarded) dispatcher the send activity uses: before a request is handed on, it reads the
 * Temporal server's clock (`env.currentTimeMs()`) and only then lets the request go. Why this source:
 * - activity retries write no history events (only the final attempt's ActivityTaskStarted, with the attempt
 *   count), so history has no per-attempt times;
 * - `activityInfo().currentAttemptScheduledTimestampMs` is, on the test server, when the retry was *decided*
 *   (the previous failure), not when the attempt became due;
 * - reading the server clock from the receiver races the activity's completion, after which the time-skipping
 *   server may already have jumped to the next timer. Here the read happens inside the running activity,
 *   before the request exists, and the test server does not skip time while an activity runs.
 * So gap(n → n+1) = the delay Herald asked for + the few real milliseconds of attempt n and the next poll.
 */
export function serverTimeRecorder(currentTimeMs: () => Promise<number>, inner: Dispatcher) {
  const sentAt = new Map<string, number[]>();
  const dispatcher = inner.compose((dispatch) => (options, handler) => {
    const headers = (options.headers ?? {}) as Record<string, string>;
    const key = headers['x-herald-delivery-id'] ?? headers['X-Objectstack-Delivery'] ?? '';
    // A failed read is recorded as NaN, which fails any gap assertion; the request goes out either way.
    void currentTimeMs()
      .catch(() => Number.NaN)
      .then((now) => {
        sentAt.set(key, [...(sentAt.get(key) ?? []), now]);
        dispatch(options, handler);
      });
    return true;
  });
  return {
    dispatcher,
    /** Server-time gaps (ms) between a delivery's consecutive sends, attempt 1→2 first. */
    gaps(deliveryId: string): number[] {
      const times = sentAt.get(deliveryId) ?? [];
      return times.slice(1).map((t, i) => t - times[i]!);
    },
  };
}

/** Polls until `fn` stops throwing (for eventually consistent reads), then returns its value. */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs = 10_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}
