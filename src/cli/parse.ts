import { readFileSync } from 'node:fs';
import { UsageError } from './context.js';

export function parseKeyValues(pairs: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new UsageError(`${flag} expects name=value, got "${pair}"`);
    out[pair.slice(0, i).trim()] = pair.slice(i + 1);
  }
  return out;
}

export function parseNumberList(value: string, flag: string): number[] {
  const numbers = value.split(',').map((s) => Number(s.trim()));
  if (numbers.some((n) => !Number.isFinite(n))) throw new UsageError(`${flag} expects comma-separated numbers, got "${value}"`);
  return numbers;
}

/** `--data` takes inline JSON or `@file` (JSON). */
export function parseJsonArgument(value: string, flag: string): unknown {
  let text = value;
  if (value.startsWith('@')) {
    try {
      text = readFileSync(value.slice(1), 'utf8');
    } catch (err) {
      throw new UsageError(`${flag}: cannot read ${value.slice(1)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${flag} is not valid JSON (${(err as Error).message})`);
  }
}

/** An ISO time or a relative age like 2h, 30m, 7d. */
export function parseTime(value: string, flag: string, now = Date.now()): string {
  const relative = /^(\d+)(s|m|h|d)$/.exec(value.trim());
  if (relative) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now - Number(relative[1]) * unit).toISOString();
  }
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new UsageError(`${flag} expects an ISO time or an age like 2h / 7d, got "${value}"`);
  return new Date(t).toISOString();
}
