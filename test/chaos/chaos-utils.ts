/** Small helpers of the chaos run: timing, a seeded PRNG, bounded concurrency and retries, /proc readings. */
import { readFileSync } from 'node:fs';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** Deterministic PRNG (mulberry32), so a run's fault plan can be replayed with HERALD_CHAOS_SEED. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        await fn(item);
      }
    }),
  );
}

/** Retries `fn` (bounded: `tries` times, `delayMs` apart) through outages; counts the retries. */
export async function retrying<T>(label: string, fn: () => Promise<T>, counter: { retries: number; lastError?: string }, tries = 120, delayMs = 500): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= tries) throw new Error(`${label}: still failing after ${tries} tries: ${(err as Error).message}`, { cause: err });
      counter.retries += 1;
      counter.lastError = `${label}: ${(err as Error).message.split('\n')[0]}`;
      await sleep(delayMs);
    }
  }
}

export function timestampMs(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  if (!ts) return Number.NaN;
  const seconds = ts.seconds as { toNumber?: () => number } | number | string | null | undefined;
  const secs = typeof seconds === 'object' && seconds?.toNumber ? seconds.toNumber() : Number(seconds ?? 0);
  return secs * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}

export function procStatusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
