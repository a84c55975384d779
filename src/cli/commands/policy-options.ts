import type { Command } from 'commander';
import { UsageError } from '../context.js';
import { parseNumberList } from '../parse.js';

/**
 * The endpoint policy options shared by `webhooks add|update` and `tenants policy set`, and the request body
 * fields they make. Ranges are the API's to check (its 400 names the field); here only the syntax.
 */
const OPTIONS = [
  { flag: '--retry-schedule <seconds>', key: 'retrySchedule', help: 'delays before each retry, e.g. 5,300,1800 (4 attempts); "none" = a single attempt' },
  { flag: '--timeout-ms <ms>', key: 'timeoutMs', help: 'per-attempt timeout, 1000–300000' },
  { flag: '--rate-limit <n>', key: 'rateLimit', help: 'requests per second to the endpoint, 1–10000, or "unlimited"' },
  { flag: '--max-concurrency <n>', key: 'maxConcurrency', help: 'requests in flight to the endpoint, 1–1000' },
  { flag: '--breaker-threshold <n>', key: 'breakerThreshold', help: 'consecutive failed attempts that open the breaker, 1–1000' },
  { flag: '--disable-after-days <days>', key: 'disableAfterDays', help: 'days failing without a success before it is disabled, 1–90' },
] as const;

export function addPolicyOptions(command: Command, mode: { inherit: boolean }): Command {
  for (const o of OPTIONS) command.option(o.flag, mode.inherit ? `${o.help}; "inherit" to stop setting it` : o.help);
  return command;
}

function number(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} expects a number, got "${value}"`);
  return n;
}

export function policyBody(opts: Record<string, unknown>, mode: { inherit: boolean }): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const o of OPTIONS) {
    const raw = opts[o.key];
    if (typeof raw !== 'string') continue;
    const flag = o.flag.split(' ')[0]!;
    const field = o.key === 'rateLimit' ? 'rateLimitPerSecond' : o.key;
    if (mode.inherit && raw === 'inherit') body[field] = 'inherit';
    else if (o.key === 'retrySchedule') body[field] = raw === 'none' || raw.trim() === '' ? [] : parseNumberList(raw, flag);
    else if (o.key === 'rateLimit' && raw === 'unlimited') body[field] = null;
    else body[field] = number(raw, flag);
  }
  return body;
}
