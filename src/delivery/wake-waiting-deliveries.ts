/**
 * Wakes the deliveries that wait behind an endpoint's breaker when the breaker closes (or the webhook is
 * disabled, by the gate or by an operator): each gets the endpoint-ready signal and looks again at once, so a backlog that waits on long
 * timers (cheap while the endpoint is down) still drains right after it recovers.
 *
 * Runs in the background of the activity (or API call) that saw the change (its answer must not wait for
 * thousands of signals) and is best effort: if a worker dies while waking, the first waiting delivery whose
 * own timer ends and finds the breaker closed wakes the rest (activities/check-endpoint-breaker.ts). Paced,
 * so the wake-up is not a herd: at most the endpoint's rate limit (or WAKES_PER_SECOND_MAX) signals a second.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { DataEngine, Where } from '../store/data-engine.js';
import type { Webhook } from '../store/webhooks.js';
import { ENDPOINT_READY_SIGNAL } from './signals.js';

/** What waking needs: the delivery table, a Temporal client, and (in a worker) a logger. */
export interface WakeDeps {
  store: DataEngine;
  temporal: Client;
  logger?: Pick<Logger, 'info' | 'warn' | 'debug'>;
}

const PAGE_SIZE = 500;
const WAKES_PER_SECOND_MAX = 200;
/** Signals in flight at once. */
const CONCURRENCY = 8;

/** Which rows to wake: the endpoint's waiting ones, or the ones a disable just turned `skipped`. */
export type WakeSelection = { status: 'pending' } | { status: 'skipped'; updatedAt: number };

/** Endpoints being woken in this process: a second close while the first wake runs adds nothing. */
const waking = new Set<string>();
/** When this process last finished waking each endpoint (bounded). */
const lastWoken = new Map<string, number>();

/**
 * Starts waking; returns at once. `done` (for tests) resolves with how many were signalled. With
 * `unlessWokenWithinMs`, nothing happens if this process woke the endpoint that recently (a catch-up wake).
 */
export function wakeWaitingDeliveries(
  deps: WakeDeps,
  webhook: Pick<Webhook, 'id' | 'rateLimitPerSecond'>,
  which: WakeSelection,
  why: string,
  options: { unlessWokenWithinMs?: number } = {},
): { done: Promise<number> } {
  if (waking.has(webhook.id)) return { done: Promise.resolve(0) };
  const last = lastWoken.get(webhook.id);
  if (options.unlessWokenWithinMs !== undefined && last !== undefined && Date.now() - last < options.unlessWokenWithinMs) return { done: Promise.resolve(0) };
  waking.add(webhook.id);
  const done = wakeAll(deps, webhook, which)
    .then((woken) => {
      if (woken > 0) deps.logger?.info({ webhookId: webhook.id, woken, why }, 'waiting deliveries woken');
      return woken;
    })
    .catch((err: unknown) => {
      deps.logger?.warn({ err, webhookId: webhook.id, why }, 'waking waiting deliveries stopped; the rest wake on their own timers');
      return 0;
    })
    .finally(() => {
      waking.delete(webhook.id);
      if (lastWoken.size >= 10_000) lastWoken.clear();
      lastWoken.set(webhook.id, Date.now());
    });
  return { done };
}

async function wakeAll(deps: WakeDeps, webhook: Pick<Webhook, 'id' | 'rateLimitPerSecond'>, which: WakeSelection): Promise<number> {
  const perSecond = Math.max(1, Math.min(webhook.rateLimitPerSecond ?? WAKES_PER_SECOND_MAX, WAKES_PER_SECOND_MAX));
  const started = Date.now();
  let woken = 0;
  let after = '';
  for (;;) {
    const where: Where = { webhook_id: webhook.id, status: which.status, id: { $gt: after } };
    if (which.status === 'skipped') where.updated_at = which.updatedAt;
    const rows = await deps.store.find('herald_deliveries', { where, fields: ['id', 'workflow_id', 'run_id'], orderBy: [{ field: 'id' }], limit: PAGE_SIZE });
    if (rows.length === 0) return woken;
    for (let i = 0; i < rows.length; i += CONCURRENCY) {
      await Promise.all(
        rows.slice(i, i + CONCURRENCY).map(async (row) => {
          const handle = deps.temporal.workflow.getHandle(String(row.workflow_id), row.run_id ? String(row.run_id) : undefined);
          // A run that already closed (or was redelivered) is not an error: there is nothing left to wake.
          await handle.signal(ENDPOINT_READY_SIGNAL).catch((err: unknown) => deps.logger?.debug({ err, workflowId: row.workflow_id }, 'endpoint-ready signal not delivered'));
        }),
      );
      woken += Math.min(CONCURRENCY, rows.length - i);
      const aheadMs = (woken / perSecond) * 1000 - (Date.now() - started);
      if (aheadMs > 0) await delay(aheadMs);
    }
    after = String(rows[rows.length - 1]!.id);
  }
}
