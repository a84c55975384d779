import type { Connection } from '@temporalio/client';
import type { DataEngine } from '../store/data-engine.js';

export interface HealthReport {
  ok: boolean;
  checks: Record<'temporal' | 'database', { ok: boolean; error?: string }>;
}

const CHECK_TIMEOUT_MS = 2_000;

async function withTimeout<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function abortAfter<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`did not answer within ${ms} ms`)), ms);
  try {
    return await fn(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}

/** Asks Temporal and the database a real question each; what does not answer is named. */
export async function checkHealth(deps: { connection: Connection; namespace: string; store: DataEngine }): Promise<HealthReport> {
  const [temporal, database] = await Promise.all([
    // The abort stops the client's own retries too: an abandoned call would keep retrying against a closed channel.
    withTimeout('Temporal', abortAfter(CHECK_TIMEOUT_MS, (signal) => deps.connection.withAbortSignal(signal, () => deps.connection.workflowService.describeNamespace({ namespace: deps.namespace })))).then(
      () => ({ ok: true }),
      (err: Error) => ({ ok: false, error: err.message }),
    ),
    withTimeout('the database', deps.store.count('herald_webhooks', {})).then(
      () => ({ ok: true }),
      (err: Error) => ({ ok: false, error: err.message }),
    ),
  ]);
  return { ok: temporal.ok && database.ok, checks: { temporal, database } };
}
