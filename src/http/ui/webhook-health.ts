/**
 * A webhook's endpoint health, when the webhook presentation carries one (`health: { state,
 * consecutiveFailures, failingSince, lastSuccessAt, nextProbeAt }`, issue #11). Read defensively: a webhook
 * without it, or with fields missing or of another type, shows what is there and nothing invented.
 */
export interface HealthView {
  state: string;
  consecutiveFailures: number | undefined;
  failingSince: string | number | undefined;
  lastSuccessAt: string | number | undefined;
  nextProbeAt: string | number | undefined;
}

const KNOWN_STATES = new Set(['healthy', 'failing', 'open', 'disabled']);

function timeField(value: unknown): string | number | undefined {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)) ? value : undefined;
}

export function webhookHealth(webhook: unknown): HealthView | undefined {
  if (typeof webhook !== 'object' || webhook === null) return undefined;
  const health = (webhook as { health?: unknown }).health;
  if (typeof health !== 'object' || health === null) return undefined;
  const h = health as Record<string, unknown>;
  const state = typeof h['state'] === 'string' ? h['state'] : 'unknown';
  return {
    state,
    consecutiveFailures: typeof h['consecutiveFailures'] === 'number' ? h['consecutiveFailures'] : undefined,
    failingSince: timeField(h['failingSince']),
    lastSuccessAt: timeField(h['lastSuccessAt']),
    nextProbeAt: timeField(h['nextProbeAt']),
  };
}

/** The badge class of a health state (an unknown state gets the neutral one). */
export function healthClass(state: string): string {
  return KNOWN_STATES.has(state) ? `h-${state}` : 'h-unknown';
}
